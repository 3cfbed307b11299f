-- +goose Up
-- The event log. seq is the commit order: IngestEvents draws it under a
-- transaction-scoped advisory lock held until commit, so an event with a
-- higher seq never becomes visible before one with a lower seq, and a reader
-- that continues after the last seq it saw skips nothing (the ids a failed
-- or duplicate insert drew are gaps no event ever fills).
CREATE SEQUENCE event_seq;

CREATE TABLE events (
    seq           bigint      PRIMARY KEY,
    id            uuid        NOT NULL UNIQUE,
    source        text        NOT NULL,
    type          text        NOT NULL,
    subject       text        NOT NULL,
    time          timestamptz NOT NULL,
    data          jsonb       NOT NULL,
    -- Who may read it (guildhall.events.v1.Audience); admins and services read all.
    public        boolean     NOT NULL,
    permissions   text[]      NOT NULL DEFAULT '{}',
    people        text[]      NOT NULL DEFAULT '{}',
    lead_of_teams text[]      NOT NULL DEFAULT '{}',
    ingest_time   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_type ON events (type, seq);
CREATE INDEX events_subject ON events (subject, seq);

CREATE TABLE webhooks (
    id                   uuid        PRIMARY KEY,
    uri                  text        NOT NULL,
    event_types          text[]      NOT NULL,
    active               boolean     NOT NULL,
    secret               text        NOT NULL,
    disable_reason       text        NOT NULL DEFAULT '',
    consecutive_failures integer     NOT NULL DEFAULT 0,
    creator              text        NOT NULL DEFAULT '',
    -- A webhook whose last attempt failed waits until then (backoff).
    next_attempt_time    timestamptz NOT NULL DEFAULT now(),
    create_time          timestamptz NOT NULL DEFAULT now(),
    update_time          timestamptz NOT NULL DEFAULT now(),
    version              bigint      NOT NULL DEFAULT 1
);

-- One event queued for one webhook. id is the queue order: ingest draws ids
-- under the same lock as seq, so a webhook's deliveries follow the log.
CREATE TABLE deliveries (
    id                bigserial   PRIMARY KEY,
    webhook_id        uuid        NOT NULL REFERENCES webhooks ON DELETE CASCADE,
    event_seq         bigint      NOT NULL REFERENCES events (seq),
    state             text        NOT NULL DEFAULT 'STATE_PENDING',
    attempts          integer     NOT NULL DEFAULT 0,
    last_status_code  integer     NOT NULL DEFAULT 0,
    last_error        text        NOT NULL DEFAULT '',
    latency_us        bigint      NOT NULL DEFAULT 0,
    create_time       timestamptz NOT NULL DEFAULT now(),
    last_attempt_time timestamptz,
    deliver_time      timestamptz,
    redelivery_of     bigint
);
CREATE INDEX deliveries_undelivered ON deliveries (webhook_id, id) WHERE state <> 'STATE_SUCCEEDED';
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, id DESC);

-- +goose Down
DROP TABLE deliveries;
DROP TABLE webhooks;
DROP TABLE events;
DROP SEQUENCE event_seq;
