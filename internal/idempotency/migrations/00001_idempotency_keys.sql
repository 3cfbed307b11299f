-- +goose Up
-- The idempotency_keys table of a service's schema, owned by package
-- idempotency. Databases made before this line existed have the table and
-- its index from the service's own migrations; IF NOT EXISTS adopts them as
-- they are, rows and all.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    request_id   uuid        PRIMARY KEY,
    method       text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    create_time  timestamptz NOT NULL DEFAULT now()
);

-- Request ids older than GUILDHALL_IDEMPOTENCY_RETENTION are purged hourly.
-- Keys arrive in time order, so a BRIN index finds the old ones for a few
-- pages of index, at almost no cost to each insert.
CREATE INDEX IF NOT EXISTS idempotency_keys_create_time ON idempotency_keys USING brin (create_time);

-- +goose Down
DROP TABLE idempotency_keys;
