-- name: MonthlyMovements :many
-- Per month from first to last, account and source: the month's movement,
-- everything up to its end, and the three complete months up to it: months
-- before current_month, the one the clock is in.
SELECT r.month::date AS month, a.id, a.type, a.currency_code, m.source,
    ledger_clamp(sum(m.amount) FILTER (WHERE m.month = r.month))::bigint AS in_month,
    ledger_clamp(sum(m.amount))::bigint AS to_date,
    ledger_clamp(sum(m.amount) FILTER (WHERE m.month <= least(r.month, sqlc.arg(current_month)::date - interval '1 month')
        AND m.month > least(r.month, sqlc.arg(current_month)::date - interval '1 month') - interval '3 months'))::bigint AS last3
FROM generate_series(sqlc.arg(first)::date, sqlc.arg(last)::date, interval '1 month') AS r(month)
JOIN account_months m ON m.month <= r.month
JOIN accounts a ON a.id = m.account_id
GROUP BY r.month, a.id, a.type, a.currency_code, m.source
ORDER BY r.month, a.currency_code, a.id;

-- name: OpeningBalances :many
-- Balances at a time: the monthly movements before its month plus the
-- part-month, as exact decimal text (the export's running balances are exact).
SELECT account_id, sum(amount)::text AS balance FROM (
    SELECT account_id, amount FROM account_months WHERE month < sqlc.arg(month_start)::date
    UNION ALL
    SELECT p.account_id, p.amount FROM transactions t JOIN postings p ON p.transaction_id = t.id
    WHERE t.effective_time >= sqlc.arg(month_start) AND t.effective_time < sqlc.arg(at)::timestamptz) x
GROUP BY account_id;
