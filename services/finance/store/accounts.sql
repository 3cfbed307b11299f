-- name: GetAccount :one
SELECT * FROM accounts WHERE id = $1;

-- name: GetAccountForUpdate :one
SELECT * FROM accounts WHERE id = $1 FOR UPDATE;

-- name: ListAccounts :many
SELECT * FROM accounts
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateAccount :one
INSERT INTO accounts (id, display_name, description, type, currency_code, earmarked)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING *;

-- name: UpdateAccount :one
UPDATE accounts
SET display_name = $2, description = $3, earmarked = $4, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeleteAccount :exec
DELETE FROM accounts WHERE id = $1;

-- name: AccountBalances :many
-- Sums each account's balance slots (exact, clamped into bigint: see ledger_clamp).
SELECT account_id, ledger_clamp(sum(amount))::bigint AS balance
FROM account_balances
WHERE account_id = ANY(sqlc.arg(ids)::text[])
GROUP BY account_id;

-- name: AccountCurrencies :many
SELECT id, currency_code FROM accounts WHERE id = ANY(sqlc.arg(ids)::text[]);

-- name: EnsureAccount :exec
-- Creates an account unless its id is taken (a concurrent first use).
INSERT INTO accounts (id, display_name, description, type, currency_code, earmarked)
VALUES ($1, $2, $3, $4, $5, false)
ON CONFLICT (id) DO NOTHING;
