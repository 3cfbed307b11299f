-- name: GetTier :one
SELECT * FROM tiers WHERE id = $1;

-- name: ListTiers :many
SELECT * FROM tiers
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateTier :one
INSERT INTO tiers (id, display_name, description, currency_code, amount, interval, create_time)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;
