-- name: GetPerson :one
SELECT * FROM people WHERE id = $1;

-- name: GetPersonForUpdate :one
SELECT * FROM people WHERE id = $1 FOR UPDATE;

-- name: ListPeople :many
SELECT * FROM people
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreatePerson :one
INSERT INTO people (id, display_name, email, handles, skills, country, time_zone, bio)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING *;

-- name: UpdatePerson :one
UPDATE people
SET display_name = $2, email = $3, handles = $4, skills = $5, country = $6, time_zone = $7, bio = $8,
    state = $9, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeletePerson :exec
DELETE FROM people WHERE id = $1;
