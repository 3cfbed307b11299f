-- name: RecordActivity :one
-- Activity at a time moves last_active_time forward (never back); activity
-- newer than the drift basis ends any drift. Returns the stage it ended.
WITH old AS (
    SELECT o.id AS old_id, o.drift_stage AS old_stage, o.drift_basis AS old_basis
    FROM people o WHERE o.id = sqlc.arg(person_id)::text FOR UPDATE
)
UPDATE people p
SET last_active_time = greatest(p.last_active_time, sqlc.arg(at)::timestamptz),
    state = CASE WHEN sqlc.arg(at)::timestamptz > coalesce(old.old_basis, '-infinity') THEN 'active' ELSE p.state END,
    drift_stage = CASE WHEN sqlc.arg(at)::timestamptz > coalesce(old.old_basis, '-infinity') THEN '' ELSE p.drift_stage END
FROM old
WHERE p.id = old.old_id
RETURNING (CASE WHEN p.drift_stage = '' THEN old.old_stage ELSE '' END)::text AS ended_stage;

-- name: InsertActivityEvent :execrows
INSERT INTO activity_events (event_id, person_id, kind, time, receive_time)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (event_id) DO NOTHING;

-- name: InsertActivityEvents :many
-- Records a report's events in one statement, in the order given, skipping
-- ids already recorded (and an id repeated in the report after its first);
-- returns the ids recorded now. receive_time is the service clock (UTC).
INSERT INTO activity_events (event_id, person_id, kind, time, receive_time)
SELECT a.event_id, a.person_id, a.kind, a.time, sqlc.arg(receive_time)::timestamptz
FROM ROWS FROM (unnest(sqlc.arg(event_ids)::text[]), unnest(sqlc.arg(person_ids)::text[]),
        unnest(sqlc.arg(kinds)::text[]), unnest(sqlc.arg(times)::timestamptz[]))
    WITH ORDINALITY AS a(event_id, person_id, kind, time, n)
ORDER BY a.n
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id;

-- name: ExistingPeople :many
SELECT id FROM people WHERE id = ANY(sqlc.arg(ids)::text[]);
