-- name: GetBudget :one
SELECT * FROM budgets WHERE id = $1;

-- name: GetBudgetForUpdate :one
SELECT * FROM budgets WHERE id = $1 FOR UPDATE;

-- name: ListBudgets :many
SELECT * FROM budgets
WHERE id > sqlc.arg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateBudget :one
INSERT INTO budgets (id, category, year, currency_code, planned, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $6)
RETURNING *;

-- name: UpdateBudget :one
UPDATE budgets
SET planned = $2, update_time = sqlc.arg(now), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeleteBudget :exec
DELETE FROM budgets WHERE id = $1;

-- name: BudgetsSpent :many
-- Movements of each category in its year, from the monthly movements; one
-- row per (category, year) pair given.
SELECT b.category::text AS category, b.year::int AS year, ledger_clamp(sum(m.amount))::bigint AS spent
FROM ROWS FROM (unnest(sqlc.arg(categories)::text[]), unnest(sqlc.arg(years)::int[])) AS b(category, year)
LEFT JOIN account_months m ON m.account_id = b.category
    AND m.month >= make_date(b.year, 1, 1) AND m.month < make_date(b.year + 1, 1, 1)
GROUP BY b.category, b.year;
