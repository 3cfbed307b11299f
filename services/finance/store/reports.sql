-- name: MonthlyMovements :many
-- Per account and source: the month's movement, everything up to its end,
-- and the last three months.
SELECT a.id, a.type, a.currency_code, m.source,
    coalesce(sum(m.amount) FILTER (WHERE m.month = sqlc.arg(month)::date), 0)::bigint AS in_month,
    coalesce(sum(m.amount) FILTER (WHERE m.month <= sqlc.arg(month)::date), 0)::bigint AS to_date,
    coalesce(sum(m.amount) FILTER (WHERE m.month > sqlc.arg(month)::date - interval '3 months' AND m.month <= sqlc.arg(month)::date), 0)::bigint AS last3
FROM account_months m JOIN accounts a ON a.id = m.account_id
WHERE m.month <= sqlc.arg(month)::date
GROUP BY a.id, a.type, a.currency_code, m.source
ORDER BY a.currency_code, a.id;

-- name: OpeningBalances :many
-- Balances at a time: the monthly movements before its month plus the part-month.
SELECT account_id, sum(amount)::bigint AS balance FROM (
    SELECT account_id, amount FROM account_months WHERE month < sqlc.arg(month_start)::date
    UNION ALL
    SELECT p.account_id, p.amount FROM transactions t JOIN postings p ON p.transaction_id = t.id
    WHERE t.effective_time >= sqlc.arg(month_start) AND t.effective_time < sqlc.arg(at)::timestamptz) x
GROUP BY account_id;
