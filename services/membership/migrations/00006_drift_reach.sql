-- +goose Up
-- Drift reaches teams: a team about to lose its last lead or last member to
-- drift is flagged first (team_at_risk), and a team without a lead or
-- without members carries a standing flag (team_leaderless, team_empty)
-- until someone takes the role; resolve_time closes a standing flag.
-- person_id is the person whose drift caused the event; a standing flag
-- noticed without one (a team that never had a lead) has none.
ALTER TABLE drift_events ALTER COLUMN person_id DROP NOT NULL;
ALTER TABLE drift_events ADD COLUMN team_id text NOT NULL DEFAULT '';
ALTER TABLE drift_events ADD COLUMN resolve_time timestamptz;
ALTER TABLE drift_events DROP CONSTRAINT drift_events_stage_check;
ALTER TABLE drift_events ADD CONSTRAINT drift_events_stage_check
    CHECK (stage IN ('nudged', 'inactive', 'emeritus', 'active', 'team_at_risk', 'team_leaderless', 'team_empty'));
ALTER TABLE drift_events DROP CONSTRAINT drift_events_person_id_stage_basis_key;
ALTER TABLE drift_events ADD CONSTRAINT drift_events_once UNIQUE (person_id, team_id, stage, basis);
-- One open standing flag per team and kind.
CREATE UNIQUE INDEX drift_events_team_open ON drift_events (team_id, stage)
    WHERE team_id <> '' AND stage IN ('team_leaderless', 'team_empty') AND resolve_time IS NULL;

-- +goose Down
DROP INDEX drift_events_team_open;
DELETE FROM drift_events WHERE team_id <> '' OR person_id IS NULL;
ALTER TABLE drift_events DROP CONSTRAINT drift_events_once;
ALTER TABLE drift_events ADD CONSTRAINT drift_events_person_id_stage_basis_key UNIQUE (person_id, stage, basis);
ALTER TABLE drift_events DROP CONSTRAINT drift_events_stage_check;
ALTER TABLE drift_events ADD CONSTRAINT drift_events_stage_check
    CHECK (stage IN ('nudged', 'inactive', 'emeritus', 'active'));
ALTER TABLE drift_events DROP COLUMN resolve_time;
ALTER TABLE drift_events DROP COLUMN team_id;
ALTER TABLE drift_events ALTER COLUMN person_id SET NOT NULL;
