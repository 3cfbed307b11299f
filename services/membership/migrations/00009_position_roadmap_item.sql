-- +goose Up
-- A position may staff one roadmap item (`items/{item}`, checked with the
-- roadmap service on write); '' is a position of its team in general.
ALTER TABLE positions ADD COLUMN roadmap_item text NOT NULL DEFAULT '';
CREATE INDEX positions_roadmap_item ON positions (roadmap_item, id) WHERE roadmap_item <> '';

-- +goose Down
DROP INDEX positions_roadmap_item;
ALTER TABLE positions DROP COLUMN roadmap_item;
