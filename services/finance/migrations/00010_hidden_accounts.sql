-- +goose Up
-- An income account created for a PRIVATE gift's currency (defaults.go)
-- would tell the public that a gift in that currency arrived: it stays out of
-- public reads until hidden_until, the end of the UTC month, like the gift's
-- entry (00009), or until a public entry uses it.
ALTER TABLE accounts ADD COLUMN hidden_until timestamptz;

-- +goose Down
ALTER TABLE accounts DROP COLUMN hidden_until;
