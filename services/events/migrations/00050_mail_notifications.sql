-- +goose Up
-- The mail notifier's place in the event log (services/events/notify).
CREATE TABLE notify_cursor (
    name text   PRIMARY KEY,
    seq  bigint NOT NULL
);

-- One mail: a kind to a recipient about an event, recorded before it is
-- sent so that it is sent at most once. state: PENDING, SENDING, SENT,
-- SKIPPED (no address, or the kind is muted), FAILED, UNKNOWN (the process
-- died while sending; never resent).
CREATE TABLE notify_sends (
    event_id          uuid        NOT NULL,
    recipient         text        NOT NULL,
    kind              text        NOT NULL,
    fields            jsonb       NOT NULL DEFAULT '{}',
    state             text        NOT NULL DEFAULT 'PENDING',
    attempts          integer     NOT NULL DEFAULT 0,
    last_error        text        NOT NULL DEFAULT '',
    create_time       timestamptz NOT NULL,
    next_attempt_time timestamptz NOT NULL,
    last_attempt_time timestamptz,
    sent_time         timestamptz,
    PRIMARY KEY (event_id, recipient, kind)
);
CREATE INDEX notify_sends_due ON notify_sends (next_attempt_time) WHERE state = 'PENDING';

-- +goose Down
DROP TABLE notify_sends;
DROP TABLE notify_cursor;
