-- +goose Up
ALTER TABLE people ADD COLUMN admin boolean NOT NULL DEFAULT false;

CREATE TABLE teams (
    id           text        PRIMARY KEY,
    display_name text        NOT NULL,
    charter      text        NOT NULL DEFAULT '',
    permissions  text[]      NOT NULL DEFAULT '{}',
    parent_id    text        REFERENCES teams (id) ON DELETE SET NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    update_time  timestamptz NOT NULL DEFAULT now(),
    version      bigint      NOT NULL DEFAULT 1
);

CREATE TABLE team_members (
    team_id   text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    person_id text        NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role      text        NOT NULL CHECK (role IN ('lead', 'member', 'moderator', 'maintainer')),
    since     timestamptz NOT NULL DEFAULT now(),
    version   bigint      NOT NULL DEFAULT 1,
    PRIMARY KEY (team_id, person_id)
);
CREATE INDEX team_members_person ON team_members (person_id);

-- Only a hash of each secret is kept; the secret is shown once.
CREATE TABLE tokens (
    id           text        PRIMARY KEY,
    person_id    text        NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    display_name text        NOT NULL DEFAULT '',
    secret_hash  bytea       NOT NULL UNIQUE,
    expire_time  timestamptz,
    revoke_time  timestamptz,
    create_time  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tokens_person ON tokens (person_id, id);

-- +goose Down
DROP TABLE tokens;
DROP TABLE team_members;
DROP TABLE teams;
ALTER TABLE people DROP COLUMN admin;
