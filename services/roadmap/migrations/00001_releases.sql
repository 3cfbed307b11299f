-- +goose Up
CREATE TABLE releases (
    id            text        PRIMARY KEY,
    display_name  text        NOT NULL,
    description   text        NOT NULL DEFAULT '',
    base_platform text        NOT NULL DEFAULT '',
    state         text        NOT NULL DEFAULT 'planned'
                              CHECK (state IN ('planned', 'in_development', 'released', 'maintained', 'end_of_life')),
    target_date   date,
    release_date  date,
    notes         text        NOT NULL DEFAULT '',
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    version       bigint      NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE releases;
