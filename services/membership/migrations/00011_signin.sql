-- +goose Up
-- Sessions made by email sign-in links are tokens like any other, marked so
-- that their owner may renew them.
ALTER TABLE tokens ADD COLUMN session boolean NOT NULL DEFAULT false;

-- One-time sign-in codes. Only a hash of each code is kept. A code for an
-- address that is nobody's is stored too (person_id NULL), so a request
-- costs the same either way; such a code never signs anyone in.
CREATE TABLE sign_in_codes (
    code_hash   bytea       PRIMARY KEY,
    person_id   text        REFERENCES people (id) ON DELETE CASCADE,
    expire_time timestamptz NOT NULL,
    use_time    timestamptz,
    create_time timestamptz NOT NULL
);
CREATE INDEX sign_in_codes_expire ON sign_in_codes (expire_time);

-- +goose Down
DROP TABLE sign_in_codes;
ALTER TABLE tokens DROP COLUMN session;
