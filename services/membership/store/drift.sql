-- name: DriftCandidates :many
-- People holding a role whose drift stage, measured from their basis (the
-- later of their last activity and their newest role), is behind the clock.
-- The cutoffs are the clock minus each stage's delay, computed by the caller.
WITH b AS (
    SELECT p.id, p.display_name, p.drift_stage, p.drift_basis,
           greatest(p.last_active_time, max(m.since))::timestamptz AS basis
    FROM people p JOIN team_members m ON m.person_id = p.id
    WHERE sqlc.arg(person_id)::text = '' OR p.id = sqlc.arg(person_id)::text
    GROUP BY p.id
), s AS (
    SELECT b.*,
           CASE WHEN basis <= sqlc.arg(emeritus_before)::timestamptz THEN 'emeritus'
                WHEN basis <= sqlc.arg(inactive_before)::timestamptz THEN 'inactive'
                WHEN basis <= sqlc.arg(nudge_before)::timestamptz THEN 'nudged'
                ELSE '' END AS expected
    FROM b
)
SELECT id, display_name, drift_stage, drift_basis, basis, expected::text AS expected
FROM s
WHERE expected <> '' AND (drift_basis IS DISTINCT FROM basis OR drift_stage <> expected)
ORDER BY id;

-- name: LockPerson :one
SELECT id FROM people WHERE id = $1 FOR UPDATE;

-- name: SetDrift :exec
UPDATE people SET drift_stage = $2, drift_basis = $3, state = $4 WHERE id = $1;

-- name: InsertDriftEvent :exec
INSERT INTO drift_events (id, person_id, stage, time, basis, reason, vacated_positions)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (person_id, stage, basis) DO NOTHING;

-- name: PersonMemberships :many
SELECT * FROM team_members WHERE person_id = $1 ORDER BY team_id;

-- name: ListDriftEvents :many
SELECT * FROM drift_events
WHERE sqlc.narg(after_time)::timestamptz IS NULL
   OR (time, id) < (sqlc.narg(after_time)::timestamptz, sqlc.arg(after_id)::text)
ORDER BY time DESC, id DESC
LIMIT sqlc.arg(page_size);
