-- +goose Up
-- A package belongs to a team, whose leads manage it with its maintainers.
ALTER TABLE packages ADD COLUMN team_id text REFERENCES teams (id) ON DELETE SET NULL;
CREATE INDEX packages_team ON packages (team_id) WHERE team_id IS NOT NULL;

-- A package's state moves only through its methods (AIP-216), each kept here
-- with who moved it and when. Append-only: rows go only with their package.
CREATE TABLE package_transitions (
    id         bigserial   PRIMARY KEY,
    package_id text        NOT NULL REFERENCES packages (id) ON DELETE CASCADE,
    from_state text        NOT NULL,
    to_state   text        NOT NULL,
    actor      text        NOT NULL,
    time       timestamptz NOT NULL,
    note       text        NOT NULL DEFAULT ''
);
CREATE INDEX package_transitions_package ON package_transitions (package_id, id);

-- The database keeps the record, so no path that moves a state (a method,
-- drift, a delete's step-down) can skip it. The service names the actor,
-- its clock's time and a note per transaction (set_config ... local); a
-- path that does not is recorded as the service itself, at now().
-- +goose StatementBegin
CREATE FUNCTION record_package_transition() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    from_state text := '';
BEGIN
    IF TG_OP = 'UPDATE' THEN
        from_state := OLD.state;
    END IF;
    INSERT INTO package_transitions (package_id, from_state, to_state, actor, time, note)
    VALUES (NEW.id, from_state, NEW.state,
            coalesce(nullif(current_setting('guildhall.actor', true), ''), 'services/membership'),
            coalesce(nullif(current_setting('guildhall.time', true), '')::timestamptz, now()),
            coalesce(current_setting('guildhall.note', true), ''));
    RETURN NULL;
END $$;
-- +goose StatementEnd
CREATE TRIGGER packages_state_created AFTER INSERT ON packages
    FOR EACH ROW EXECUTE FUNCTION record_package_transition();
CREATE TRIGGER packages_state_moved AFTER UPDATE OF state ON packages
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) EXECUTE FUNCTION record_package_transition();

-- since is when the person joined; role_since when they took their role.
-- (The default, like since's, serves direct inserts; the service sets both.)
ALTER TABLE team_members ADD COLUMN role_since timestamptz NOT NULL DEFAULT now();
UPDATE team_members SET role_since = since;

-- teams/-/members?role=ROLE_LEAD reads one role across teams.
CREATE INDEX team_members_role ON team_members (role, team_id, person_id);

-- +goose Down
DROP INDEX team_members_role;
ALTER TABLE team_members DROP COLUMN role_since;
DROP TRIGGER packages_state_moved ON packages;
DROP TRIGGER packages_state_created ON packages;
DROP FUNCTION record_package_transition();
DROP TABLE package_transitions;
DROP INDEX packages_team;
ALTER TABLE packages DROP COLUMN team_id;
