-- +goose Up
-- OpenID Connect identities linked to people: a token whose issuer and
-- subject are here acts as the person. One identity, one person.
CREATE TABLE identities (
    id          text        PRIMARY KEY,
    person_id   text        NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    issuer      text        NOT NULL,
    subject     text        NOT NULL,
    origin      text        NOT NULL CHECK (origin IN ('email', 'admin')),
    create_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (issuer, subject)
);
CREATE INDEX identities_person ON identities (person_id, id);

-- An offer made by a signed-in caller (a person or a guest) remembers who,
-- so they can follow its state.
ALTER TABLE volunteers
    ADD COLUMN offered_by_person  text NOT NULL DEFAULT '',
    ADD COLUMN offered_by_issuer  text NOT NULL DEFAULT '',
    ADD COLUMN offered_by_subject text NOT NULL DEFAULT '';
CREATE INDEX volunteers_offered_by_person ON volunteers (offered_by_person) WHERE offered_by_person <> '';
CREATE INDEX volunteers_offered_by_identity ON volunteers (offered_by_issuer, offered_by_subject) WHERE offered_by_subject <> '';

-- +goose Down
ALTER TABLE volunteers DROP COLUMN offered_by_person, DROP COLUMN offered_by_issuer, DROP COLUMN offered_by_subject;
DROP TABLE identities;
