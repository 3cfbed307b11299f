-- +goose Up
-- A subscription's and a sponsorship's state moves are kept with who made
-- each and when, like a release's (lifecycle.History: the same columns for
-- every kind). Append-only: rows go only with their subscription or deal.
-- Moves made before this migration were not kept; a history starts here.
CREATE TABLE subscription_transitions (
    id              bigserial   PRIMARY KEY,
    subscription_id uuid        NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    from_state      text        NOT NULL,
    to_state        text        NOT NULL,
    actor           text        NOT NULL,
    time            timestamptz NOT NULL,
    note            text        NOT NULL DEFAULT ''
);
CREATE INDEX subscription_transitions_subscription ON subscription_transitions (subscription_id, id);

CREATE TABLE sponsorship_transitions (
    id             bigserial   PRIMARY KEY,
    sponsorship_id uuid        NOT NULL REFERENCES sponsorships (id) ON DELETE CASCADE,
    from_state     text        NOT NULL,
    to_state       text        NOT NULL,
    actor          text        NOT NULL,
    time           timestamptz NOT NULL,
    note           text        NOT NULL DEFAULT ''
);
CREATE INDEX sponsorship_transitions_sponsorship ON sponsorship_transitions (sponsorship_id, id);

-- +goose Down
DROP TABLE sponsorship_transitions;
DROP TABLE subscription_transitions;
