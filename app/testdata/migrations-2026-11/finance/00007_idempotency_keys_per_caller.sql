-- +goose Up
-- Request ids are scoped per caller (person, service, or for anonymous
-- callers the request's fingerprint): another caller sending the same id
-- must never receive the first caller's reply. Keys written before have the
-- empty caller, which no request has, so they are never replayed again and
-- age out with the retention.
ALTER TABLE idempotency_keys ADD COLUMN caller text NOT NULL DEFAULT '';
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (caller, request_id);

-- +goose Down
DELETE FROM idempotency_keys k USING idempotency_keys o
WHERE k.request_id = o.request_id AND (k.create_time, k.caller) > (o.create_time, o.caller);
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (request_id);
ALTER TABLE idempotency_keys DROP COLUMN caller;
