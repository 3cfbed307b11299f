-- name: GetDonation :one
SELECT * FROM donations WHERE id = $1;

-- name: ListDonations :many
SELECT * FROM donations
WHERE id::text > sqlc.arg(after)::text
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: RecordDonation :one
-- Everything the reply holds is known before the write, so the idempotency
-- key with its response, the entry (when transaction_id is set), its
-- postings, the donation and the activity report (when activity_payload is
-- set) go in as one statement: one round trip and one commit per donation.
-- It returns 0 when request_id was used before, and writes nothing.
WITH k AS (
        INSERT INTO idempotency_keys (request_id, method, request_hash, response)
        SELECT sqlc.narg(request_id)::uuid, 'CreateDonation', sqlc.narg(request_hash)::bytea, sqlc.narg(response)::bytea
        WHERE sqlc.narg(request_id)::uuid IS NOT NULL
        ON CONFLICT DO NOTHING RETURNING 1),
    go AS (SELECT 1 WHERE sqlc.narg(request_id)::uuid IS NULL UNION ALL SELECT 1 FROM k),
    t AS (
        INSERT INTO transactions (id, description, effective_time, source, reverses_id, creator)
        SELECT sqlc.narg(transaction_id)::uuid, sqlc.arg(tx_description)::text, sqlc.arg(receive_time)::timestamptz, 'donation', NULL::uuid, sqlc.arg(recorder)::text
        FROM go WHERE sqlc.narg(transaction_id)::uuid IS NOT NULL RETURNING id),
    p AS (
        INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
        SELECT t.id, u.ord, u.a, u.c, u.m
        FROM t, ROWS FROM (unnest(sqlc.arg(accounts)::text[]), unnest(sqlc.arg(currencies)::text[]), unnest(sqlc.arg(amounts)::bigint[]))
            WITH ORDINALITY AS u(a, c, m, ord)),
    d AS (
        INSERT INTO donations (id, currency_code, amount, donor, donor_name, donor_email, visibility, channel, external_reference,
            goal_id, description, deposit_account, receive_time, transaction_id, recorder, create_time)
        SELECT sqlc.arg(id)::uuid, sqlc.arg(currency_code)::text, sqlc.arg(amount)::bigint, sqlc.arg(donor)::text, sqlc.arg(donor_name)::text,
            sqlc.arg(donor_email)::text, sqlc.arg(visibility)::text, sqlc.arg(channel)::text, sqlc.arg(external_reference)::text,
            sqlc.narg(goal_id)::text, sqlc.arg(description)::text, sqlc.arg(deposit_account)::text, sqlc.arg(receive_time)::timestamptz,
            sqlc.narg(transaction_id)::uuid, sqlc.arg(recorder)::text, sqlc.arg(create_time)::timestamptz
        FROM go),
    o AS (
        INSERT INTO outbox (topic, payload)
        SELECT sqlc.arg(activity_topic)::text, sqlc.narg(activity_payload)::bytea FROM go WHERE sqlc.narg(activity_payload)::bytea IS NOT NULL)
SELECT count(*)::int FROM go;
