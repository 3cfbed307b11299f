-- +goose Up
-- Tiers and budgets become updatable (AIP-134): a version for etags and an update time.
ALTER TABLE tiers
    ADD COLUMN update_time timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN version     bigint      NOT NULL DEFAULT 1;
UPDATE tiers SET update_time = create_time;
ALTER TABLE budgets
    ADD COLUMN update_time timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN version     bigint      NOT NULL DEFAULT 1;
UPDATE budgets SET update_time = create_time;

-- +goose Down
ALTER TABLE budgets DROP COLUMN version, DROP COLUMN update_time;
ALTER TABLE tiers DROP COLUMN version, DROP COLUMN update_time;
