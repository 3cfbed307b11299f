-- +goose Up
-- Which kinds of mail a person turned off (NotificationSettings); no row
-- means everything is on. Kinds are the NotificationKind names, lower case.
CREATE TABLE notification_settings (
    person_id   text        PRIMARY KEY REFERENCES people (id) ON DELETE CASCADE,
    muted_kinds text[]      NOT NULL DEFAULT '{}',
    update_time timestamptz NOT NULL,
    version     bigint      NOT NULL DEFAULT 1
);

-- Someone who offered help and followed an opt-out link in a mail about it.
CREATE TABLE volunteer_mail_optouts (
    volunteer_id text        PRIMARY KEY REFERENCES volunteers (id) ON DELETE CASCADE,
    time         timestamptz NOT NULL
);

-- +goose Down
DROP TABLE volunteer_mail_optouts;
DROP TABLE notification_settings;
