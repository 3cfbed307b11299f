-- name: MonthlyMovements :many
-- Per month from first to last, account and source: the month's movement,
-- everything up to its end, and the last three months.
SELECT r.month::date AS month, a.id, a.type, a.currency_code, m.source,
    coalesce(sum(m.amount) FILTER (WHERE m.month = r.month), 0)::bigint AS in_month,
    coalesce(sum(m.amount), 0)::bigint AS to_date,
    coalesce(sum(m.amount) FILTER (WHERE m.month > r.month - interval '3 months'), 0)::bigint AS last3
FROM generate_series(sqlc.arg(first)::date, sqlc.arg(last)::date, interval '1 month') AS r(month)
JOIN account_months m ON m.month <= r.month
JOIN accounts a ON a.id = m.account_id
GROUP BY r.month, a.id, a.type, a.currency_code, m.source
ORDER BY r.month, a.currency_code, a.id;

-- name: OpeningBalances :many
-- Balances at a time: the monthly movements before its month plus the part-month.
SELECT account_id, sum(amount)::bigint AS balance FROM (
    SELECT account_id, amount FROM account_months WHERE month < sqlc.arg(month_start)::date
    UNION ALL
    SELECT p.account_id, p.amount FROM transactions t JOIN postings p ON p.transaction_id = t.id
    WHERE t.effective_time >= sqlc.arg(month_start) AND t.effective_time < sqlc.arg(at)::timestamptz) x
GROUP BY account_id;
