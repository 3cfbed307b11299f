-- name: GetExpense :one
SELECT * FROM expenses WHERE id = $1;

-- name: GetExpenseForUpdate :one
SELECT * FROM expenses WHERE id = $1 FOR UPDATE;

-- name: ListExpenses :many
SELECT * FROM expenses
WHERE id > sqlc.arg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: ListExpenseEvents :many
-- The history of one or more expenses (a page of a list), in order.
SELECT * FROM expense_events WHERE expense_id = ANY(sqlc.arg(expense_ids)::uuid[]) ORDER BY expense_id, seq;

-- name: CreateExpense :exec
INSERT INTO expenses (id, payee, category, currency_code, amount, description, invoice_reference,
    state, submitter, required_approvals, create_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'submitted', $8, $9, $10);

-- name: CreateExpenseEvent :exec
INSERT INTO expense_events (expense_id, seq, action, actor, time, state, reason, transaction_id)
VALUES (sqlc.arg(expense_id), (SELECT coalesce(max(seq), 0) + 1 FROM expense_events WHERE expense_id = sqlc.arg(expense_id)),
    sqlc.arg(action), sqlc.arg(actor), sqlc.arg(time), sqlc.arg(state), sqlc.arg(reason), sqlc.narg(transaction_id));

-- name: SetExpenseState :exec
UPDATE expenses SET state = $2 WHERE id = $1;

-- name: RejectExpense :exec
UPDATE expenses SET state = 'rejected', reject_reason = $2 WHERE id = $1;

-- name: PayExpense :exec
UPDATE expenses SET state = 'paid', transaction_id = $2 WHERE id = $1;

-- name: GetExpenseSubmitter :one
SELECT submitter FROM expenses WHERE id = $1;
