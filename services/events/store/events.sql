-- name: LockLog :exec
-- Serialises appends to the log until commit, so seq order is commit order.
SELECT pg_advisory_xact_lock(hashtextextended('guildhall.events/log', 0));

-- name: AppendEvents :many
-- Appends events, given as a JSON array of objects (id, source, type,
-- subject, time, data, public, permissions, people, lead_of_teams), to the
-- log in the array's order, skipping ids already stored; and queues each
-- new public event (no other) for every active webhook subscribed to its
-- type. Returns the ids stored now. One statement for a whole batch of an
-- outbox, instead of a round trip per event.
WITH new AS (
    INSERT INTO events (seq, id, source, type, subject, time, data, public, permissions, people, lead_of_teams)
    SELECT nextval('event_seq'), e.id, e.source, e.type, e.subject, e.time, e.data, e.public,
           coalesce(e.permissions, '{}'), coalesce(e.people, '{}'), coalesce(e.lead_of_teams, '{}')
    FROM ROWS FROM (jsonb_to_recordset(sqlc.arg(events)::jsonb) AS (
        id uuid, source text, type text, subject text, time timestamptz, data jsonb, public boolean,
        permissions text[], people text[], lead_of_teams text[]))
        WITH ORDINALITY AS e(id, source, type, subject, time, data, public, permissions, people, lead_of_teams, n)
    ORDER BY e.n
    ON CONFLICT (id) DO NOTHING
    RETURNING seq, id, type, public
), queued AS (
    INSERT INTO deliveries (webhook_id, event_seq)
    SELECT w.id, new.seq FROM new JOIN webhooks w ON w.active AND new.type = ANY (w.event_types)
    WHERE new.public
    ORDER BY new.seq, w.id
)
SELECT id::text FROM new;

-- name: EventSeq :one
SELECT seq FROM events WHERE id = $1;

-- name: ListEvents :many
-- The events after seq `after` that a reader may see: all of them (admins,
-- services), or those public, naming the person, or for a permission or a
-- team lead the reader holds.
SELECT seq, id, source, type, subject, time, data FROM events
WHERE seq > sqlc.arg(after)
  AND (sqlc.arg(type)::text = '' OR type = sqlc.arg(type))
  AND (sqlc.arg(subject)::text = '' OR subject = sqlc.arg(subject))
  AND (sqlc.arg(read_all)::boolean OR public
       OR people && sqlc.arg(people)::text[]
       OR permissions && sqlc.arg(permissions)::text[]
       OR lead_of_teams && sqlc.arg(lead_of_teams)::text[])
ORDER BY seq
LIMIT sqlc.arg(page_size);
