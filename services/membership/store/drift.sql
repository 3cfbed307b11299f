-- name: DriftCandidates :many
-- People holding anything drift can take away (a team role, a package they
-- maintain, a filled position) whose drift stage, measured from their basis
-- (the later of their last activity and the newest thing they took on), is
-- behind the clock. The cutoffs are the clock minus each stage's delay,
-- computed by the caller.
WITH holds AS (
    SELECT person_id, since FROM team_members
    UNION ALL
    SELECT person_id, since FROM package_maintainers
    UNION ALL
    SELECT filled_by, update_time FROM positions WHERE state = 'filled' AND filled_by IS NOT NULL
), b AS (
    SELECT p.id, p.display_name, p.drift_stage, p.drift_basis,
           greatest(p.last_active_time, max(h.since))::timestamptz AS basis
    FROM people p JOIN holds h ON h.person_id = p.id
    WHERE sqlc.arg(person_id)::text = '' OR p.id = sqlc.arg(person_id)::text
    GROUP BY p.id
), s AS (
    SELECT b.*,
           CASE WHEN basis <= sqlc.arg(emeritus_before)::timestamptz THEN 'emeritus'
                WHEN basis <= sqlc.arg(inactive_before)::timestamptz THEN 'inactive'
                WHEN basis <= sqlc.arg(nudge_before)::timestamptz THEN 'nudged'
                ELSE '' END AS expected
    FROM b
)
SELECT id, display_name, drift_stage, drift_basis, basis, expected::text AS expected
FROM s
WHERE expected <> '' AND (drift_basis IS DISTINCT FROM basis OR drift_stage <> expected)
ORDER BY id;

-- name: LockPerson :one
SELECT id FROM people WHERE id = $1 FOR UPDATE;

-- name: SetDrift :exec
UPDATE people SET drift_stage = $2, drift_basis = $3, state = $4 WHERE id = $1;

-- name: InsertDriftEvent :execrows
-- A stage is recorded once per person, team and basis; a standing team flag
-- once while open.
INSERT INTO drift_events (id, person_id, team_id, stage, time, basis, reason, vacated_positions)
VALUES (sqlc.arg(id), sqlc.narg(person_id), sqlc.arg(team_id), sqlc.arg(stage), sqlc.arg(time), sqlc.arg(basis),
        sqlc.arg(reason), sqlc.arg(vacated_positions))
ON CONFLICT DO NOTHING;

-- name: ReopenPositionsOf :many
-- A drifted holder's filled positions open again.
UPDATE positions SET state = 'open', filled_by = NULL, update_time = sqlc.arg(now), version = version + 1
WHERE filled_by = sqlc.arg(person_id) AND state = 'filled'
RETURNING *;

-- name: SoleHolderTeams :many
-- The teams in which a person is the only lead, or the only member. With
-- only_active, others who are INACTIVE or EMERITUS themselves do not count,
-- so leads drifting together each see the team at risk.
SELECT m.team_id,
       (m.role = 'lead' AND NOT EXISTS (SELECT 1 FROM team_members o JOIN people op ON op.id = o.person_id
            WHERE o.team_id = m.team_id AND o.role = 'lead' AND o.person_id <> m.person_id
              AND (NOT sqlc.arg(only_active)::boolean OR op.state = 'active')))::boolean AS last_lead,
       (NOT EXISTS (SELECT 1 FROM team_members o JOIN people op ON op.id = o.person_id
            WHERE o.team_id = m.team_id AND o.person_id <> m.person_id
              AND (NOT sqlc.arg(only_active)::boolean OR op.state = 'active')))::boolean AS last_member
FROM team_members m WHERE m.person_id = sqlc.arg(person_id)
ORDER BY m.team_id;

-- name: ResolveTeamFlags :exec
-- Standing flags end when the team has a lead (team_leaderless) or members
-- (team_empty) again, or is gone.
UPDATE drift_events e SET resolve_time = sqlc.arg(now)::timestamptz
WHERE e.team_id <> '' AND e.resolve_time IS NULL AND e.stage IN ('team_leaderless', 'team_empty')
  AND (NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = e.team_id)
       OR EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = e.team_id
                  AND (e.stage = 'team_empty' OR m.role = 'lead')));

-- name: OpenTeamFlags :exec
-- Every team without members, or with members but no lead, carries a
-- standing flag; one already open is kept.
INSERT INTO drift_events (id, person_id, team_id, stage, time, basis, reason)
SELECT gen_random_uuid()::text, NULL, t.id,
       CASE WHEN NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id) THEN 'team_empty' ELSE 'team_leaderless' END,
       sqlc.arg(now), sqlc.arg(now),
       CASE WHEN NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id)
            THEN 'the team has no members: it needs people, starting with a lead'
            ELSE 'the team has no lead: someone needs to take the role' END
FROM teams t
WHERE NOT EXISTS (SELECT 1 FROM team_members m WHERE m.team_id = t.id AND m.role = 'lead')
ON CONFLICT DO NOTHING;

-- name: PersonMemberships :many
SELECT * FROM team_members WHERE person_id = $1 ORDER BY team_id;

-- name: ListDriftEvents :many
-- With see_all false, only events within the caller's teams (led_teams):
-- flags on those teams and their child teams, and steps of people who are
-- members of them or maintain one of their packages.
SELECT d.* FROM drift_events d
WHERE (sqlc.narg(after_time)::timestamptz IS NULL
       OR (d.time, d.id) < (sqlc.narg(after_time)::timestamptz, sqlc.arg(after_id)::text))
  AND (sqlc.arg(see_all)::bool
       OR (d.team_id <> '' AND (d.team_id = ANY (sqlc.arg(led_teams)::text[])
           OR EXISTS (SELECT 1 FROM teams t WHERE t.id = d.team_id
                      AND t.parent_id = ANY (sqlc.arg(led_teams)::text[]))))
       OR (d.team_id = '' AND d.person_id IS NOT NULL AND (
           EXISTS (SELECT 1 FROM team_members m WHERE m.person_id = d.person_id
                   AND m.team_id = ANY (sqlc.arg(led_teams)::text[]))
           OR EXISTS (SELECT 1 FROM package_maintainers pm JOIN packages p ON p.id = pm.package_id
                      WHERE pm.person_id = d.person_id
                        AND p.team_id = ANY (sqlc.arg(led_teams)::text[])))))
ORDER BY d.time DESC, d.id DESC
LIMIT sqlc.arg(page_size);
