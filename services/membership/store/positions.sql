-- name: GetPosition :one
SELECT * FROM positions WHERE team_id = $1 AND id = $2;

-- name: GetPositionForUpdate :one
SELECT * FROM positions WHERE team_id = $1 AND id = $2 FOR UPDATE;

-- name: ListPositions :many
-- Ids are UUIDv7, so id order is creation order.
SELECT * FROM positions
WHERE (sqlc.arg(team_id)::text = '' OR team_id = sqlc.arg(team_id)::text)
  AND (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND (sqlc.arg(roadmap_item)::text = '' OR roadmap_item = sqlc.arg(roadmap_item)::text)
  AND id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: OpenPositions :many
SELECT * FROM positions WHERE state = 'open' ORDER BY id;

-- name: CreatePosition :one
INSERT INTO positions (id, team_id, title, description, skills, hours_per_month, role, state, open_to_discussion,
                       roadmap_item, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, sqlc.arg(roadmap_item), sqlc.arg(now), sqlc.arg(now))
RETURNING *;

-- name: UpdatePosition :one
UPDATE positions
SET title = $3, description = $4, skills = $5, hours_per_month = $6, role = $7, state = $8,
    open_to_discussion = $9, filled_by = CASE WHEN $8 = 'filled' THEN filled_by END,
    roadmap_item = sqlc.arg(roadmap_item),
    update_time = sqlc.arg(now), version = version + 1
WHERE team_id = $1 AND id = $2
RETURNING *;

-- name: FillOpenPosition :one
-- The state condition makes concurrent fills safe: the first to update the
-- row wins, the others wait for its lock, re-check the condition and match nothing.
UPDATE positions
SET state = 'filled', filled_by = sqlc.arg(person_id), update_time = sqlc.arg(now), version = version + 1
WHERE team_id = sqlc.arg(team_id) AND id = sqlc.arg(id) AND state = 'open'
RETURNING *;

-- name: UpsertMemberForPosition :exec
-- Filling a position grants its role; an existing lead keeps the lead role.
-- A new member's role dates from joining; a changed role from now (since stays).
INSERT INTO team_members (team_id, person_id, role, since, role_since) VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (team_id, person_id) DO UPDATE
SET role = CASE WHEN team_members.role = 'lead' THEN 'lead' ELSE excluded.role END,
    role_since = CASE WHEN team_members.role = 'lead' OR team_members.role = excluded.role
                      THEN team_members.role_since ELSE excluded.since END,
    version = team_members.version + 1;
