-- name: GetSponsorship :one
SELECT * FROM sponsorships WHERE id = $1;

-- name: GetSponsorshipForPayment :one
-- The sponsorship and its row version (xmin): what a payment written in the
-- entries statement is computed from (RecordEntries).
SELECT sqlc.embed(sponsorships), xmin::text AS version
FROM sponsorships WHERE id = $1;

-- name: GetSponsorshipForUpdate :one
SELECT * FROM sponsorships WHERE id = $1 FOR UPDATE;

-- name: ListSponsorships :many
SELECT * FROM sponsorships
WHERE id > sqlc.arg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateSponsorship :one
INSERT INTO sponsorships (id, organisation, package, kind, currency_code, amount, period, start_date, end_date, state, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'proposed', $10, $10)
RETURNING *;

-- name: UpdateSponsorship :one
UPDATE sponsorships
SET organisation = $2, package = $3, amount = $4, period = $5, end_date = $6, update_time = sqlc.arg(now), version = version + 1
WHERE id = $1
RETURNING *;

-- name: AddSponsorshipPayment :one
-- Marks a payment, already in payments, and totals the unreversed ones from the ledger.
UPDATE sponsorships SET state = 'active', paid = sponsorship_paid(id), update_time = sqlc.arg(now), version = version + 1
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: EndSponsorship :one
UPDATE sponsorships SET state = 'ended', end_date = coalesce(end_date, sqlc.arg(today)::date), update_time = sqlc.arg(now), version = version + 1
WHERE id = sqlc.arg(id) AND state <> 'ended'
RETURNING *;

-- name: CreateSponsorshipPayment :exec
INSERT INTO payments (transaction_id, sponsorship_id) VALUES ($1, $2);
