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

-- name: BudgetSpent :one
-- Movements of the category in the year, from the monthly movements.
SELECT coalesce(sum(amount), 0)::bigint FROM account_months
WHERE account_id = sqlc.arg(category)
    AND month >= make_date(sqlc.arg(year)::int, 1, 1) AND month < make_date(sqlc.arg(year)::int + 1, 1, 1);
