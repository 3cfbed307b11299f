-- name: GetSponsorship :one
SELECT * FROM sponsorships WHERE id = $1;

-- name: GetSponsorshipForPayment :one
-- The sponsorship, its row version (xmin) and its history
-- (lifecycle.FillFrom): what a payment written in the entries statement,
-- and its reply, are computed from (RecordEntries).
SELECT sqlc.embed(sponsorships), xmin::text AS version,
    (SELECT coalesce(jsonb_agg(t ORDER BY t.id), '[]') FROM sponsorship_transitions t
     WHERE t.sponsorship_id = sponsorships.id)::jsonb AS history
FROM sponsorships WHERE sponsorships.id = $1;

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

-- name: RecordSponsorshipPayments :exec
-- Moves on the sponsorships paid by entries the same transaction wrote
-- (RecordEntries), one per entry: each paid total (sponsorship_paid) grows
-- by the payment, with the entry's row in payments. Each names its row's
-- xmin as read; if a row changed since, the statement fails with GHL02
-- (migration 00015).
WITH u AS (
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(transaction_ids)::uuid[]), unnest(sqlc.arg(ids)::uuid[]), unnest(sqlc.arg(versions)::text[]),
            unnest(sqlc.arg(amounts)::bigint[]), unnest(sqlc.arg(update_times)::timestamptz[])) AS u(transaction_id, id, version, amount, update_time)),
    moved AS (
        UPDATE sponsorships s SET paid = s.paid + u.amount, update_time = u.update_time, version = s.version + 1
        FROM u WHERE s.id = u.id AND s.xmin = u.version::xid
        RETURNING u.transaction_id)
INSERT INTO payments (transaction_id, sponsorship_id)
SELECT CASE WHEN u.transaction_id IN (SELECT transaction_id FROM moved) THEN u.transaction_id ELSE ledger_changed_since_read(u.id) END, u.id
FROM u;
