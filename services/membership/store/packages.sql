-- name: IsMaintainer :one
SELECT EXISTS (SELECT 1 FROM package_maintainers WHERE package_id = $1 AND person_id = $2);

-- name: GetPackage :one
SELECT * FROM packages WHERE id = $1;

-- name: GetPackageForUpdate :one
SELECT * FROM packages WHERE id = $1 FOR UPDATE;

-- name: ListPackages :many
SELECT * FROM packages
WHERE (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND id > sqlc.arg(after)
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreatePackage :exec
INSERT INTO packages (id, display_name, description, repository_url, state, last_release_version, last_release_date,
                      team_id, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, sqlc.arg(now), sqlc.arg(now));

-- name: UpdatePackage :exec
-- State is not set here: it moves only through the package's methods (AIP-216).
UPDATE packages
SET display_name = $2, description = $3, repository_url = $4, last_release_version = $5,
    last_release_date = $6, team_id = $7, update_time = sqlc.arg(now), version = version + 1
WHERE id = $1;

-- name: GetPackageTeam :one
SELECT coalesce(team_id, '')::text FROM packages WHERE id = $1;

-- name: SetRecordContext :exec
-- Names the actor, time and note the state triggers record for this transaction.
SELECT set_config('guildhall.actor', sqlc.arg(actor)::text, true),
       set_config('guildhall.time', sqlc.arg(time)::text, true),
       set_config('guildhall.note', sqlc.arg(note)::text, true);

-- name: SetPackageState :exec
UPDATE packages SET state = $2, update_time = sqlc.arg(now), version = version + 1 WHERE id = $1;

-- name: PackageMaintainers :many
SELECT package_id, person_id FROM package_maintainers
WHERE package_id = ANY(sqlc.arg(ids)::text[]) ORDER BY package_id, person_id;

-- name: AddMaintainer :exec
INSERT INTO package_maintainers (package_id, person_id, since) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING;

-- name: RemoveMaintainer :execrows
DELETE FROM package_maintainers WHERE package_id = $1 AND person_id = $2;

-- name: RemoveMaintainersExcept :exec
DELETE FROM package_maintainers WHERE package_id = $1 AND NOT (person_id = ANY(sqlc.arg(keep)::text[]));

-- name: PackageAdoptions :many
SELECT package_id, person_id FROM package_adoptions
WHERE package_id = ANY(sqlc.arg(ids)::text[]) ORDER BY package_id, request_time, person_id;

-- name: AddAdoption :exec
INSERT INTO package_adoptions (package_id, person_id, request_time) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING;

-- name: RemoveAdoption :execrows
DELETE FROM package_adoptions WHERE package_id = $1 AND person_id = $2;

-- name: RemoveMaintainerEverywhere :many
DELETE FROM package_maintainers WHERE person_id = $1 RETURNING package_id;

-- name: MarkOrphaned :exec
-- Packages left without a maintainer take state, UNMAINTAINED or
-- SEEKING_MAINTAINER (obsolete ones stay so).
UPDATE packages SET state = sqlc.arg(state), update_time = sqlc.arg(now), version = version + 1
WHERE id = ANY(sqlc.arg(ids)::text[]) AND state <> 'obsolete'
  AND NOT EXISTS (SELECT 1 FROM package_maintainers m WHERE m.package_id = packages.id);
