-- name: ListTeamMembers :many
SELECT sqlc.embed(m), p.display_name
FROM team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = sqlc.arg(team_id) AND m.person_id > sqlc.arg(after)
  AND (sqlc.arg(role)::text = '' OR m.role = sqlc.arg(role)::text)
ORDER BY m.person_id
LIMIT sqlc.arg(page_size);

-- name: GetTeamMemberForUpdate :one
SELECT sqlc.embed(m), p.display_name
FROM team_members m JOIN people p ON p.id = m.person_id
WHERE m.team_id = $1 AND m.person_id = $2
FOR UPDATE OF m;

-- name: ListAllTeamMembers :many
-- teams/-/members: every team's members, optionally of one role, by team then person.
SELECT sqlc.embed(m), p.display_name
FROM team_members m JOIN people p ON p.id = m.person_id
WHERE (sqlc.arg(role)::text = '' OR m.role = sqlc.arg(role)::text)
  AND (m.team_id, m.person_id) > (sqlc.arg(after_team)::text, sqlc.arg(after_person)::text)
ORDER BY m.team_id, m.person_id
LIMIT sqlc.arg(page_size);

-- name: CreateTeamMember :exec
INSERT INTO team_members (team_id, person_id, role, since, role_since) VALUES ($1, $2, $3, $4, $4);

-- name: UpdateTeamMember :exec
-- since (joined) stays; role_since moves only when the role really changes.
UPDATE team_members
SET role_since = CASE WHEN role = sqlc.arg(role)::text THEN role_since ELSE sqlc.arg(now)::timestamptz END,
    role = sqlc.arg(role)::text, version = version + 1
WHERE team_id = $1 AND person_id = $2;

-- name: DeleteTeamMember :execrows
DELETE FROM team_members WHERE team_id = $1 AND person_id = $2;
