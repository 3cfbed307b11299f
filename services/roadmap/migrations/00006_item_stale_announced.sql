-- +goose Up
-- The status update an item's stale event was announced for: the stale job
-- announces each stretch without updates once (internal/events ItemStale).
ALTER TABLE items ADD COLUMN stale_announced_for timestamptz;

-- +goose Down
ALTER TABLE items DROP COLUMN stale_announced_for;
