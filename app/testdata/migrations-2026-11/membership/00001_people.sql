-- +goose Up
CREATE TABLE people (
    id               text        PRIMARY KEY,
    display_name     text        NOT NULL,
    email            text        NOT NULL DEFAULT '',
    handles          jsonb       NOT NULL DEFAULT '{}',
    skills           text[]      NOT NULL DEFAULT '{}',
    country          text        NOT NULL DEFAULT '',
    time_zone        text        NOT NULL DEFAULT '',
    bio              text        NOT NULL DEFAULT '',
    state            text        NOT NULL DEFAULT 'active'
                                 CHECK (state IN ('active', 'inactive', 'emeritus')),
    last_active_time timestamptz,
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    version          bigint      NOT NULL DEFAULT 1
);

CREATE TABLE idempotency_keys (
    request_id   uuid        PRIMARY KEY,
    method       text        NOT NULL,
    request_hash bytea       NOT NULL,
    response     bytea,
    create_time  timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE people;
