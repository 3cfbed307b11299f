-- name: GetExpense :one
SELECT * FROM expenses WHERE id = $1;

-- name: GetExpenseForPayment :one
-- The expense, its row version (xmin) and its history, as a JSON array of
-- expense_events rows in order: what a payment written in the entries
-- statement, and its reply, are computed from (RecordEntries).
SELECT sqlc.embed(expenses), xmin::text AS version,
    (SELECT coalesce(jsonb_agg(ee ORDER BY ee.seq), '[]') FROM expense_events ee
     WHERE ee.expense_id = expenses.id)::jsonb AS history
FROM expenses WHERE expenses.id = $1;

-- name: GetExpenseForUpdate :one
SELECT * FROM expenses WHERE id = $1 FOR UPDATE;

-- name: ListExpenses :many
SELECT * FROM expenses
WHERE id > sqlc.arg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: ListExpenseEvents :many
-- The history of a page of expenses, in order (ListExpenseHistory reads
-- one expense's).
SELECT * FROM expense_events WHERE expense_id = ANY(sqlc.arg(expense_ids)::uuid[]) ORDER BY expense_id, seq;

-- name: ListExpenseHistory :many
-- ListExpenseEvents for one expense: with = rather than ANY, the server
-- keeps the statement's generic plan instead of planning it on every call.
SELECT * FROM expense_events WHERE expense_id = sqlc.arg(expense_id) ORDER BY seq;

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

-- name: RecordExpensePayments :exec
-- Marks PAID the APPROVED expenses paid by entries the same transaction
-- wrote (RecordEntries), one per entry, naming the entry, with the step in
-- each one's history (as PayExpense and CreateExpenseEvent write them).
-- Each names its row's xmin as read; if a row changed since, the statement
-- fails with GHL02 (migration 00015).
WITH u AS (
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(transaction_ids)::uuid[]), unnest(sqlc.arg(ids)::uuid[]), unnest(sqlc.arg(versions)::text[]),
            unnest(sqlc.arg(actors)::text[]), unnest(sqlc.arg(times)::timestamptz[])) AS u(transaction_id, id, version, actor, time)),
    paid AS (
        UPDATE expenses e SET state = 'paid', transaction_id = u.transaction_id
        FROM u WHERE e.id = u.id AND e.xmin = u.version::xid AND e.state = 'approved'
        RETURNING u.transaction_id)
INSERT INTO expense_events (expense_id, seq, action, actor, time, state, transaction_id)
SELECT u.id, (SELECT coalesce(max(seq), 0) + 1 FROM expense_events WHERE expense_id = u.id), 'pay', u.actor, u.time, 'paid',
    CASE WHEN u.transaction_id IN (SELECT transaction_id FROM paid) THEN u.transaction_id ELSE ledger_changed_since_read(u.id) END
FROM u;
