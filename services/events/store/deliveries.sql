-- name: NextDeliveries :many
-- The oldest undelivered deliveries of a webhook, with their events.
SELECT d.id, d.attempts, e.id AS event_id, e.source, e.type, e.subject, e.time, e.data
FROM deliveries d JOIN events e ON e.seq = d.event_seq
WHERE d.webhook_id = sqlc.arg(webhook_id) AND d.state <> 'STATE_SUCCEEDED'
ORDER BY d.id
LIMIT sqlc.arg(max_count);

-- name: FinishAttempt :exec
UPDATE deliveries SET state = sqlc.arg(state), attempts = attempts + 1, last_status_code = sqlc.arg(last_status_code),
    last_error = sqlc.arg(last_error), latency_us = sqlc.arg(latency_us), last_attempt_time = sqlc.arg(now)::timestamptz,
    deliver_time = CASE WHEN sqlc.arg(state)::text = 'STATE_SUCCEEDED' THEN sqlc.arg(now)::timestamptz END
WHERE id = sqlc.arg(id);

-- name: GetDelivery :one
SELECT d.*, e.id AS event_id, e.type AS event_type
FROM deliveries d JOIN events e ON e.seq = d.event_seq
WHERE d.webhook_id = $1 AND d.id = $2;

-- name: ListDeliveries :many
SELECT d.*, e.id AS event_id, e.type AS event_type
FROM deliveries d JOIN events e ON e.seq = d.event_seq
WHERE d.webhook_id = sqlc.arg(webhook_id) AND d.id < sqlc.arg(before)
ORDER BY d.id DESC
LIMIT sqlc.arg(page_size);

-- name: Redeliver :one
INSERT INTO deliveries (webhook_id, event_seq, redelivery_of)
SELECT webhook_id, event_seq, id FROM deliveries WHERE deliveries.webhook_id = $1 AND deliveries.id = $2
RETURNING id;

-- name: Backlog :one
-- Undelivered deliveries of active webhooks and the age of the oldest, in seconds.
SELECT count(*)::bigint AS pending,
       coalesce(extract(epoch FROM sqlc.arg(now)::timestamptz - min(e.time)), 0)::float8 AS oldest_age
FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.seq = d.event_seq
WHERE w.active AND d.state <> 'STATE_SUCCEEDED';
