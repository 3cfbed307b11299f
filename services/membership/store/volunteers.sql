-- name: CreateVolunteer :one
INSERT INTO volunteers (id, display_name, contact, skills, hours_per_month, interests, create_time, update_time,
                        offered_by_person, offered_by_issuer, offered_by_subject)
VALUES ($1, $2, $3, $4, $5, $6, sqlc.arg(now), sqlc.arg(now),
        sqlc.arg(offered_by_person), sqlc.arg(offered_by_issuer), sqlc.arg(offered_by_subject))
RETURNING *;

-- name: GetVolunteer :one
SELECT * FROM volunteers WHERE id = $1;

-- name: GetVolunteerForUpdate :one
SELECT * FROM volunteers WHERE id = $1 FOR UPDATE;

-- name: ListVolunteers :many
-- Newest first: ids are UUIDv7.
SELECT * FROM volunteers
WHERE (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND (sqlc.arg(before)::text = '' OR id < sqlc.arg(before)::text)
ORDER BY id DESC
LIMIT sqlc.arg(page_size);

-- name: ListOwnVolunteers :many
-- The offers of one caller, newest first: made by the person (or become
-- them), or made under an identity, or under one linked to the person.
-- With id set, only that offer if it is theirs (GetVolunteer by its owner).
SELECT * FROM volunteers v
WHERE (
    (sqlc.arg(person)::text <> '' AND (v.offered_by_person = sqlc.arg(person)::text OR v.person_id = sqlc.arg(person)::text
        OR (v.offered_by_subject <> '' AND EXISTS (SELECT 1 FROM identities i
            WHERE i.person_id = sqlc.arg(person)::text AND i.issuer = v.offered_by_issuer AND i.subject = v.offered_by_subject))))
    OR (sqlc.arg(subject)::text <> '' AND v.offered_by_issuer = sqlc.arg(issuer)::text AND v.offered_by_subject = sqlc.arg(subject)::text)
  )
  AND (sqlc.arg(id)::text = '' OR v.id = sqlc.arg(id)::text)
  AND (sqlc.arg(state)::text = '' OR v.state = sqlc.arg(state)::text)
  AND (sqlc.arg(before)::text = '' OR v.id < sqlc.arg(before)::text)
ORDER BY v.id DESC
LIMIT sqlc.arg(page_size);

-- name: MoveVolunteer :one
UPDATE volunteers
SET state = sqlc.arg(state), position = sqlc.arg(position), person_id = sqlc.narg(person_id),
    active_time = CASE WHEN sqlc.arg(state) = 'active' THEN sqlc.arg(now)::timestamptz ELSE active_time END,
    update_time = sqlc.arg(now), version = version + 1
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: VolunteerCountsByState :many
SELECT state, count(*)::int AS n FROM volunteers GROUP BY state ORDER BY state;

-- name: VolunteerFunnel :one
-- Conversion counts offers that reached ACTIVE (a final state, so active_time
-- is set exactly for those); the median is over their days from offer to ACTIVE.
SELECT count(*)::int AS total,
       count(active_time)::int AS activated,
       coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM active_time - create_time) / 86400.0)
                FILTER (WHERE active_time IS NOT NULL), 0)::float8 AS median_days_to_active
FROM volunteers;
