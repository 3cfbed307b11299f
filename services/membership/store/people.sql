-- name: GetPerson :one
SELECT * FROM people WHERE id = $1;

-- name: GetPersonForUpdate :one
SELECT * FROM people WHERE id = $1 FOR UPDATE;

-- name: ListPeople :many
SELECT * FROM people
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: LookupPeopleByHandle :many
-- Handles match ignoring case, on one system or (system '') on any.
SELECT * FROM people
WHERE EXISTS (SELECT 1 FROM jsonb_each_text(handles) h
              WHERE lower(h.value) = lower(sqlc.arg(handle)::text)
                AND (sqlc.arg(system)::text = '' OR h.key = sqlc.arg(system)::text))
ORDER BY id
LIMIT 50;

-- name: LookupPeopleByEmail :many
SELECT * FROM people WHERE email <> '' AND lower(email) = lower(sqlc.arg(email)::text) ORDER BY id LIMIT 50;

-- name: CreatePerson :one
INSERT INTO people (id, display_name, email, handles, skills, country, time_zone, bio)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: UpdatePerson :one
UPDATE people
SET display_name = $2, email = $3, handles = $4, skills = $5, country = $6, time_zone = $7, bio = $8,
    update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeletePerson :exec
DELETE FROM people WHERE id = $1;

-- name: TeamsOfPeople :many
SELECT person_id, team_id FROM team_members WHERE person_id = ANY(sqlc.arg(ids)::text[]) ORDER BY person_id, team_id;

-- name: SetAdmin :exec
UPDATE people SET admin = $2 WHERE id = $1;
