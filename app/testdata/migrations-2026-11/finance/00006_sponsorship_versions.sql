-- +goose Up
-- Sponsorships become updatable (AIP-134): a version for etags and an update time.
ALTER TABLE sponsorships
    ADD COLUMN update_time timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN version     bigint      NOT NULL DEFAULT 1;
UPDATE sponsorships SET update_time = create_time;

-- +goose Down
ALTER TABLE sponsorships DROP COLUMN version, DROP COLUMN update_time;
