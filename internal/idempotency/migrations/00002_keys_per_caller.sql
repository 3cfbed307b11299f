-- +goose Up
-- Request ids are scoped per caller (person, service, or for anonymous
-- callers the request's fingerprint): another caller sending the same id
-- must never receive the first caller's reply. Keys written before have the
-- empty caller, which no request has, so they are never replayed again and
-- age out with the retention. Databases whose service migrations already
-- made this change (late November 2026) are left as they are.
ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS caller text NOT NULL DEFAULT '';
-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_index i
        WHERE i.indrelid = 'idempotency_keys'::regclass AND i.indisprimary AND i.indnatts = 2
    ) THEN
        ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
        ALTER TABLE idempotency_keys ADD PRIMARY KEY (caller, request_id);
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
DELETE FROM idempotency_keys k USING idempotency_keys o
WHERE k.request_id = o.request_id AND (k.create_time, k.caller) > (o.create_time, o.caller);
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey;
ALTER TABLE idempotency_keys ADD PRIMARY KEY (request_id);
ALTER TABLE idempotency_keys DROP COLUMN caller;
