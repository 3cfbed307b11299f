-- +goose Up
-- The outbox table of a service's schema, owned by package outbox. Databases
-- made before this line existed may have it from the service's own
-- migrations; IF NOT EXISTS adopts it as it is, queued rows and all.
CREATE TABLE IF NOT EXISTS outbox (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE outbox;
