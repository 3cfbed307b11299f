-- name: CreateWebhook :one
INSERT INTO webhooks (id, uri, event_types, active, secret, creator, create_time, update_time)
VALUES (sqlc.arg(id), sqlc.arg(uri), sqlc.arg(event_types)::text[], sqlc.arg(active), sqlc.arg(secret), sqlc.arg(creator), sqlc.arg(now), sqlc.arg(now))
RETURNING *;

-- name: GetWebhook :one
SELECT * FROM webhooks WHERE id = $1;

-- name: GetWebhookForUpdate :one
SELECT * FROM webhooks WHERE id = $1 FOR NO KEY UPDATE;

-- name: ListWebhooks :many
SELECT * FROM webhooks
WHERE id > sqlc.arg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: UpdateWebhook :one
UPDATE webhooks SET uri = sqlc.arg(uri), event_types = sqlc.arg(event_types)::text[], active = sqlc.arg(active),
    disable_reason = sqlc.arg(disable_reason), consecutive_failures = sqlc.arg(consecutive_failures),
    next_attempt_time = CASE WHEN sqlc.arg(retry_now)::boolean THEN clock_timestamp() ELSE next_attempt_time END,
    update_time = sqlc.arg(now), version = version + 1
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: DeleteWebhook :execrows
DELETE FROM webhooks WHERE id = $1;

-- name: ClaimWebhook :one
-- Retry times are the database's clock, shared by every replica.
-- One webhook with a delivery due, locked for this worker's attempt: other
-- workers and replicas skip it, so each webhook has one attempt in flight
-- and its deliveries go out in order. FOR NO KEY UPDATE leaves the key-share
-- locks of ingest's delivery inserts free, so a slow receiver never holds
-- up the log.
SELECT w.* FROM webhooks w
WHERE w.active AND w.next_attempt_time <= clock_timestamp()
  AND EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id AND d.state <> 'STATE_SUCCEEDED')
ORDER BY w.next_attempt_time
LIMIT 1
FOR NO KEY UPDATE OF w SKIP LOCKED;

-- name: RecordAttempt :exec
UPDATE webhooks SET consecutive_failures = sqlc.arg(consecutive_failures),
    next_attempt_time = clock_timestamp() + make_interval(secs => sqlc.arg(backoff_seconds)::float8),
    active = sqlc.arg(active), disable_reason = sqlc.arg(disable_reason),
    update_time = CASE WHEN sqlc.arg(active)::boolean THEN update_time ELSE sqlc.arg(now) END,
    version = CASE WHEN sqlc.arg(active)::boolean THEN version ELSE version + 1 END
WHERE id = sqlc.arg(id);
