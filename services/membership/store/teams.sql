-- name: GetTeam :one
SELECT sqlc.embed(t), (SELECT count(*) FROM team_members m WHERE m.team_id = t.id)::int AS member_count
FROM teams t WHERE t.id = $1;

-- name: GetTeamForUpdate :one
SELECT sqlc.embed(t), (SELECT count(*) FROM team_members m WHERE m.team_id = t.id)::int AS member_count
FROM teams t WHERE t.id = $1 FOR UPDATE;

-- name: ListTeams :many
SELECT sqlc.embed(t), (SELECT count(*) FROM team_members m WHERE m.team_id = t.id)::int AS member_count
FROM teams t
WHERE t.id > sqlc.arg(after)
ORDER BY t.id
LIMIT sqlc.arg(page_size);

-- name: CreateTeam :one
INSERT INTO teams (id, display_name, charter, permissions, parent_id, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, sqlc.arg(now), sqlc.arg(now))
RETURNING id;

-- name: UpdateTeam :exec
UPDATE teams
SET display_name = $2, charter = $3, permissions = $4, parent_id = $5, update_time = sqlc.arg(now), version = version + 1
WHERE id = $1;

-- name: DeleteTeam :exec
DELETE FROM teams WHERE id = $1;
