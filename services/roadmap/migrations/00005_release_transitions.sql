-- +goose Up
-- A release's state moves only through TransitionRelease (AIP-216), and each
-- move is kept with who made it and when. Append-only: rows go only with
-- their release.
CREATE TABLE release_transitions (
    id         bigserial   PRIMARY KEY,
    release_id text        NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    from_state text        NOT NULL,
    to_state   text        NOT NULL,
    actor      text        NOT NULL,
    time       timestamptz NOT NULL,
    note       text        NOT NULL DEFAULT ''
);
CREATE INDEX release_transitions_release ON release_transitions (release_id, id);

-- Proposals due for review are listed soonest first.
CREATE INDEX proposals_review_date ON proposals (review_date, id) WHERE review_date IS NOT NULL;

-- +goose Down
DROP INDEX proposals_review_date;
DROP TABLE release_transitions;
