-- name: CreateToken :one
INSERT INTO tokens (id, person_id, display_name, secret_hash, expire_time)
VALUES ($1, $2, $3, $4, $5)
RETURNING *;

-- name: ListTokens :many
-- Newest first: token ids are UUIDv7, which sort by creation time.
SELECT * FROM tokens
WHERE person_id = sqlc.arg(person_id)
  AND (sqlc.arg(before)::text = '' OR id < sqlc.arg(before)::text)
ORDER BY id DESC
LIMIT sqlc.arg(page_size);

-- name: RevokeToken :one
UPDATE tokens SET revoke_time = coalesce(revoke_time, $3)
WHERE person_id = $1 AND id = $2
RETURNING *;

-- name: TokenBySecret :one
-- The token and its person, if the token is usable at the given time.
SELECT t.person_id, p.admin
FROM tokens t JOIN people p ON p.id = t.person_id
WHERE t.secret_hash = $1
  AND t.revoke_time IS NULL
  AND (t.expire_time IS NULL OR t.expire_time > sqlc.arg(at)::timestamptz);

-- name: PersonTeams :many
-- Every team the person belongs to, with their role and the team's permissions.
SELECT m.team_id, m.role, t.permissions
FROM team_members m JOIN teams t ON t.id = m.team_id
WHERE m.person_id = $1
ORDER BY m.team_id;

-- name: UpsertBootstrapAdmin :exec
INSERT INTO people (id, display_name, admin) VALUES ($1, $2, true)
ON CONFLICT (id) DO UPDATE SET admin = true;

-- name: UpsertBootstrapToken :exec
INSERT INTO tokens (id, person_id, display_name, secret_hash)
VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE
SET secret_hash = excluded.secret_hash, person_id = excluded.person_id, revoke_time = NULL, expire_time = NULL;

-- name: PersonByIdentity :one
SELECT i.person_id, p.admin
FROM identities i JOIN people p ON p.id = i.person_id
WHERE i.issuer = $1 AND i.subject = $2;

-- name: PeopleByVerifiedEmail :many
-- At most two, so the caller can tell a unique match from an ambiguous one.
SELECT id, admin, display_name, email FROM people
WHERE email <> '' AND lower(email) = lower(sqlc.arg(email)::text)
ORDER BY id LIMIT 2;

-- name: CreateIdentity :one
-- Nothing when the identity is linked already (to anyone).
INSERT INTO identities (id, person_id, issuer, subject, origin, create_time)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (issuer, subject) DO NOTHING
RETURNING *;

-- name: ListIdentities :many
SELECT * FROM identities
WHERE person_id = sqlc.arg(person_id)
  AND (sqlc.arg(before)::text = '' OR id < sqlc.arg(before)::text)
ORDER BY id DESC
LIMIT sqlc.arg(page_size);

-- name: DeleteIdentity :execrows
DELETE FROM identities WHERE person_id = $1 AND id = $2;

-- name: CreateSignInCode :exec
INSERT INTO sign_in_codes (code_hash, person_id, expire_time, create_time)
VALUES ($1, sqlc.narg(person_id), $2, $3);

-- name: UseSignInCode :one
-- Spends a live code of a person, once.
UPDATE sign_in_codes SET use_time = sqlc.arg(now)::timestamptz
WHERE code_hash = $1 AND use_time IS NULL AND person_id IS NOT NULL
  AND expire_time > sqlc.arg(now)::timestamptz
RETURNING person_id;

-- name: PurgeSignInCodes :execrows
DELETE FROM sign_in_codes WHERE expire_time < $1;

-- name: CreateSessionToken :one
INSERT INTO tokens (id, person_id, display_name, secret_hash, expire_time, session, create_time)
VALUES ($1, $2, $3, $4, $5, true, $6)
RETURNING *;

-- name: RenewSessionToken :one
-- A live session of the person, renewed to expire_time.
UPDATE tokens SET expire_time = sqlc.arg(expire_time)::timestamptz
WHERE person_id = $1 AND id = $2 AND session AND revoke_time IS NULL AND expire_time > sqlc.arg(now)::timestamptz
RETURNING *;

-- name: GetToken :one
SELECT * FROM tokens WHERE person_id = $1 AND id = $2;
