-- +goose Up
CREATE TABLE accounts (
    id            text        PRIMARY KEY,
    display_name  text        NOT NULL,
    description   text        NOT NULL DEFAULT '',
    type          text        NOT NULL CHECK (type IN ('asset', 'liability', 'income', 'expense', 'equity')),
    currency_code char(3)     NOT NULL,
    earmarked     boolean     NOT NULL DEFAULT false,
    create_time   timestamptz NOT NULL DEFAULT now(),
    update_time   timestamptz NOT NULL DEFAULT now(),
    version       bigint      NOT NULL DEFAULT 1
);

-- +goose Down
DROP TABLE accounts;
