-- +goose Up
-- Drift: the stage last recorded for a person and the activity it was
-- measured from (see drift.go).
ALTER TABLE people ADD COLUMN drift_stage text NOT NULL DEFAULT ''
    CHECK (drift_stage IN ('', 'nudged', 'inactive', 'emeritus'));
ALTER TABLE people ADD COLUMN drift_basis timestamptz;

CREATE TABLE positions (
    id                 text        PRIMARY KEY,
    team_id            text        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    title              text        NOT NULL,
    description        text        NOT NULL DEFAULT '',
    skills             text[]      NOT NULL DEFAULT '{}',
    hours_per_month    integer     NOT NULL DEFAULT 0,
    role               text        NOT NULL CHECK (role IN ('lead', 'member', 'moderator', 'maintainer')),
    state              text        NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'filled', 'closed')),
    open_to_discussion boolean     NOT NULL DEFAULT false,
    filled_by          text        REFERENCES people (id) ON DELETE SET NULL,
    create_time        timestamptz NOT NULL,
    update_time        timestamptz NOT NULL,
    version            bigint      NOT NULL DEFAULT 1
);
CREATE INDEX positions_team ON positions (team_id, id);
CREATE INDEX positions_state ON positions (state, id);

CREATE TABLE volunteers (
    id              text        PRIMARY KEY,
    display_name    text        NOT NULL,
    contact         text        NOT NULL,
    skills          text[]      NOT NULL DEFAULT '{}',
    hours_per_month integer     NOT NULL DEFAULT 0,
    interests       text        NOT NULL DEFAULT '',
    state           text        NOT NULL DEFAULT 'new'
                                CHECK (state IN ('new', 'contacted', 'matched', 'onboarding', 'active', 'declined', 'withdrawn')),
    position        text        NOT NULL DEFAULT '',
    person_id       text        REFERENCES people (id) ON DELETE SET NULL,
    active_time     timestamptz,
    create_time     timestamptz NOT NULL,
    update_time     timestamptz NOT NULL,
    version         bigint      NOT NULL DEFAULT 1
);
CREATE INDEX volunteers_state ON volunteers (state, id);

CREATE TABLE volunteer_transitions (
    id           bigserial   PRIMARY KEY,
    volunteer_id text        NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    from_state   text        NOT NULL,
    to_state     text        NOT NULL,
    actor        text        NOT NULL,
    time         timestamptz NOT NULL,
    note         text        NOT NULL DEFAULT ''
);
CREATE INDEX volunteer_transitions_volunteer ON volunteer_transitions (volunteer_id, id);

CREATE TABLE packages (
    id                   text        PRIMARY KEY,
    display_name         text        NOT NULL,
    description          text        NOT NULL DEFAULT '',
    repository_url       text        NOT NULL DEFAULT '',
    state                text        NOT NULL
                                     CHECK (state IN ('maintained', 'seeking_maintainer', 'unmaintained', 'obsolete')),
    last_release_version text        NOT NULL DEFAULT '',
    last_release_date    text        NOT NULL DEFAULT '',
    create_time          timestamptz NOT NULL,
    update_time          timestamptz NOT NULL,
    version              bigint      NOT NULL DEFAULT 1
);
CREATE INDEX packages_state ON packages (state, id);

CREATE TABLE package_maintainers (
    package_id text        NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    person_id  text        NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    since      timestamptz NOT NULL,
    PRIMARY KEY (package_id, person_id)
);
CREATE INDEX package_maintainers_person ON package_maintainers (person_id);

-- Adoption requests waiting for a lead or admin.
CREATE TABLE package_adoptions (
    package_id   text        NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    person_id    text        NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    request_time timestamptz NOT NULL,
    PRIMARY KEY (package_id, person_id)
);

-- Activity reported by the services, kept by event id so retries count once.
CREATE TABLE activity_events (
    event_id     text        PRIMARY KEY,
    person_id    text        NOT NULL,
    kind         text        NOT NULL,
    time         timestamptz NOT NULL,
    receive_time timestamptz NOT NULL
);

-- Each drift stage reached. time is when the stage was reached (derived from
-- the basis, the last activity), not when it was noticed; so a stage is
-- recorded once per basis however often or late evaluation runs.
CREATE TABLE drift_events (
    id                text        PRIMARY KEY,
    person_id         text        NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    -- 'active' records a return: activity that ended a drift.
    stage             text        NOT NULL CHECK (stage IN ('nudged', 'inactive', 'emeritus', 'active')),
    time              timestamptz NOT NULL,
    basis             timestamptz NOT NULL,
    reason            text        NOT NULL,
    vacated_positions text[]      NOT NULL DEFAULT '{}',
    UNIQUE (person_id, stage, basis)
);
CREATE INDEX drift_events_time ON drift_events (time DESC, id DESC);

-- +goose Down
DROP TABLE drift_events;
DROP TABLE activity_events;
DROP TABLE package_adoptions;
DROP TABLE package_maintainers;
DROP TABLE packages;
DROP TABLE volunteer_transitions;
DROP TABLE volunteers;
DROP TABLE positions;
ALTER TABLE people DROP COLUMN drift_basis;
ALTER TABLE people DROP COLUMN drift_stage;
