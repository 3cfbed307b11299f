-- name: ListTeamMembers :many
SELECT sqlc.embed(m), p.display_name
FROM team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = sqlc.arg(team_id) AND m.person_id > sqlc.arg(after)
ORDER BY m.person_id
LIMIT sqlc.arg(page_size);

-- name: GetTeamMemberForUpdate :one
SELECT sqlc.embed(m), p.display_name
FROM team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = $1 AND m.person_id = $2
FOR UPDATE OF m;

-- name: CreateTeamMember :exec
INSERT INTO team_members (team_id, person_id, role, since) VALUES ($1, $2, $3, $4);

-- name: UpdateTeamMember :exec
UPDATE team_members SET role = $3, version = version + 1 WHERE team_id = $1 AND person_id = $2;

-- name: DeleteTeamMember :execrows
DELETE FROM team_members WHERE team_id = $1 AND person_id = $2;
