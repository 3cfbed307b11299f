-- name: GetTier :one
SELECT * FROM tiers WHERE id = $1;

-- name: GetTierForUpdate :one
SELECT * FROM tiers WHERE id = $1 FOR UPDATE;

-- name: ListTiers :many
SELECT * FROM tiers
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateTier :one
INSERT INTO tiers (id, display_name, description, currency_code, amount, interval, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
RETURNING *;

-- name: UpdateTier :one
UPDATE tiers
SET display_name = $2, description = $3, amount = $4, update_time = sqlc.arg(now), version = version + 1
WHERE id = $1
RETURNING *;

-- name: TierSubscriptions :one
-- How many subscriptions, of any state, refer to the tier.
SELECT count(*) FROM subscriptions WHERE tier_id = $1;

-- name: DeleteTier :exec
DELETE FROM tiers WHERE id = $1;
