-- name: GetRelease :one
SELECT * FROM releases WHERE id = $1;

-- name: GetReleaseForUpdate :one
SELECT * FROM releases WHERE id = $1 FOR UPDATE;

-- name: ListReleases :many
SELECT * FROM releases
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateRelease :one
INSERT INTO releases (id, display_name, description, base_platform, state, target_date, release_date, notes)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: UpdateRelease :one
-- State is not set here: it moves only through SetReleaseState (AIP-216).
UPDATE releases
SET display_name = $2, description = $3, base_platform = $4, target_date = $5, release_date = $6,
    notes = $7, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: SetReleaseState :one
UPDATE releases SET state = $2, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeleteRelease :exec
DELETE FROM releases WHERE id = $1;

-- name: AllReleases :many
SELECT * FROM releases ORDER BY coalesce(release_date, target_date) NULLS LAST, create_time, id;

-- name: ReleasesProgress :many
SELECT release_id::text AS release_id,
       count(*) FILTER (WHERE state NOT IN ('deferred', 'declined'))::integer AS item_count,
       count(*) FILTER (WHERE state = 'done')::integer AS done_count
FROM items WHERE release_id = ANY(sqlc.arg(ids)::text[])
GROUP BY release_id;

-- name: ReleaseChangelog :many
SELECT * FROM items WHERE release_id = $1 AND state = 'done' ORDER BY update_time DESC, id;
