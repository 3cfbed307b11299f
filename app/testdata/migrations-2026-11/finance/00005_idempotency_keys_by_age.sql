-- +goose Up
-- Request ids older than GUILDHALL_IDEMPOTENCY_RETENTION are purged hourly.
-- Keys arrive in time order, so a BRIN index finds the old ones for a few
-- pages of index, at almost no cost to each insert.
CREATE INDEX idempotency_keys_create_time ON idempotency_keys USING brin (create_time);

-- +goose Down
DROP INDEX idempotency_keys_create_time;
