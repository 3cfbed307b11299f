-- +goose Up
CREATE TABLE items (
    id               text        PRIMARY KEY,
    title            text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    -- NULL is the backlog.
    release_id       text        REFERENCES releases (id) ON DELETE RESTRICT,
    state            text        NOT NULL DEFAULT 'proposed'
                                 CHECK (state IN ('proposed', 'planned', 'in_progress', 'done', 'deferred', 'declined')),
    priority         integer     NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
    owner_team       text        NOT NULL DEFAULT '',
    owner_people     text[]      NOT NULL DEFAULT '{}',
    tags             text[]      NOT NULL DEFAULT '{}',
    -- Maintained in the transaction that adds or removes a vote.
    vote_count       integer     NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
    -- Set from the service clock: creation, then every status update.
    last_update_time timestamptz NOT NULL,
    create_time      timestamptz NOT NULL DEFAULT now(),
    update_time      timestamptz NOT NULL DEFAULT now(),
    version          bigint      NOT NULL DEFAULT 1
);
CREATE INDEX items_release ON items (release_id, priority DESC, id);
CREATE INDEX items_votes ON items (vote_count DESC, id);
CREATE INDEX items_priority ON items (priority DESC, id);
CREATE INDEX items_last_update ON items (last_update_time DESC, id);
CREATE INDEX items_tags ON items USING gin (tags);

CREATE TABLE item_votes (
    item_id     text        NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    person      text        NOT NULL,
    create_time timestamptz NOT NULL,
    PRIMARY KEY (item_id, person)
);

-- The status timeline is append-only: no UPDATE path exists, and rows go only with their item.
CREATE TABLE item_updates (
    id             text        PRIMARY KEY,
    item_id        text        NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    text           text        NOT NULL,
    author         text        NOT NULL,
    new_state      text        NOT NULL DEFAULT '',
    previous_state text        NOT NULL,
    create_time    timestamptz NOT NULL
);
CREATE INDEX item_updates_item ON item_updates (item_id, id DESC);

CREATE TABLE proposals (
    id                     text        PRIMARY KEY,
    question               text        NOT NULL,
    background             text        NOT NULL DEFAULT '',
    options                text[]      NOT NULL DEFAULT '{}',
    method                 text        NOT NULL CHECK (method IN ('single_choice', 'approval', 'consent')),
    eligible_team          text        NOT NULL DEFAULT '',
    quorum_votes           integer     NOT NULL DEFAULT 0,
    quorum_share           double precision NOT NULL DEFAULT 0,
    open_time              timestamptz,
    close_time             timestamptz,
    linked_items           text[]      NOT NULL DEFAULT '{}',
    linked_releases        text[]      NOT NULL DEFAULT '{}',
    outcome                text        NOT NULL DEFAULT '',
    review_date            date,
    hide_tally_until_close boolean     NOT NULL DEFAULT false,
    -- The stored state; an 'open' row past close_time reads CLOSED and is
    -- frozen into 'closed' (with its tally) the first time it is seen so.
    state                  text        NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'open', 'closed')),
    eligible_count         integer     NOT NULL DEFAULT 0,
    -- The frozen Tally (protobuf), set when the proposal closes.
    frozen_tally           bytea,
    creator                text        NOT NULL DEFAULT '',
    create_time            timestamptz NOT NULL DEFAULT now(),
    update_time            timestamptz NOT NULL DEFAULT now(),
    version                bigint      NOT NULL DEFAULT 1
);
CREATE INDEX proposals_open ON proposals (state) WHERE state = 'open';
CREATE INDEX proposals_linked_items ON proposals USING gin (linked_items);

CREATE TABLE proposal_votes (
    proposal_id text        NOT NULL REFERENCES proposals (id) ON DELETE CASCADE,
    person      text        NOT NULL,
    choices     text[]      NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    PRIMARY KEY (proposal_id, person)
);

CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE outbox;
DROP TABLE proposal_votes;
DROP TABLE proposals;
DROP TABLE item_updates;
DROP TABLE item_votes;
DROP TABLE items;
