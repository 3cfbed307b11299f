-- name: CreateItemUpdate :one
INSERT INTO item_updates (id, item_id, text, author, new_state, previous_state, create_time)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING *;

-- name: GetItemUpdate :one
SELECT * FROM item_updates WHERE item_id = $1 AND id = $2;

-- name: ListItemUpdates :many
SELECT * FROM item_updates
WHERE item_id = $1 AND (sqlc.narg(before)::text IS NULL OR id < sqlc.narg(before)::text)
ORDER BY id DESC
LIMIT sqlc.arg(page_size);
