-- name: LockLog :exec
-- Serialises appends to the log until commit, so seq order is commit order.
SELECT pg_advisory_xact_lock(hashtextextended('guildhall.events/log', 0));

-- name: InsertEvent :one
INSERT INTO events (seq, id, source, type, subject, time, data, public, permissions, people, lead_of_teams)
VALUES (nextval('event_seq'), sqlc.arg(id), sqlc.arg(source), sqlc.arg(type), sqlc.arg(subject), sqlc.arg(time),
        sqlc.arg(data), sqlc.arg(public), sqlc.arg(permissions)::text[], sqlc.arg(people)::text[], sqlc.arg(lead_of_teams)::text[])
ON CONFLICT (id) DO NOTHING
RETURNING seq;

-- name: QueueDeliveries :execrows
-- Queues a public event (callers queue no other) for every active webhook
-- subscribed to its type.
INSERT INTO deliveries (webhook_id, event_seq)
SELECT w.id, sqlc.arg(seq)::bigint FROM webhooks w
WHERE w.active AND sqlc.arg(type)::text = ANY (w.event_types)
ORDER BY w.id;

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
