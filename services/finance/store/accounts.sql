-- name: GetAccount :one
SELECT * FROM accounts WHERE id = $1;

-- name: GetAccountForUpdate :one
SELECT * FROM accounts WHERE id = $1 FOR UPDATE;

-- name: ListAccounts :many
-- Accounts hidden at visible_at (migration 00010) are left out.
SELECT * FROM accounts
WHERE id > sqlc.arg(after) AND (hidden_until IS NULL OR hidden_until <= sqlc.arg(visible_at)::timestamptz)
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
-- Creates an account unless its id is taken (a concurrent first use); one
-- created for a PRIVATE gift is hidden until hidden_until, with the start of
-- the month as its create time.
INSERT INTO accounts (id, display_name, description, type, currency_code, earmarked, hidden_until, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, false, sqlc.narg(hidden_until), sqlc.arg(create_time), sqlc.arg(create_time))
ON CONFLICT (id) DO NOTHING;

-- name: RevealAccount :exec
-- A public entry uses the account: it is public from now on.
UPDATE accounts SET hidden_until = NULL WHERE id = $1 AND hidden_until IS NOT NULL;
