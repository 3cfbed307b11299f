-- name: GetDonation :one
SELECT * FROM donations WHERE id = $1;

-- name: ListDonations :many
SELECT * FROM donations
WHERE id > sqlc.arg(after)::uuid
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: RecordDonations :many
-- Records a batch of donations in one statement and one commit. Item arrays
-- are parallel, one element per donation, numbered from 1; key and posting
-- arrays name the item they belong to. An item whose request id was used
-- before writes nothing (its caller replays the stored response). Returns
-- the items written.
WITH keys AS (
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(key_items)::int[]), unnest(sqlc.arg(callers)::text[]), unnest(sqlc.arg(request_ids)::uuid[]),
            unnest(sqlc.arg(methods)::text[]), unnest(sqlc.arg(request_hashes)::bytea[]), unnest(sqlc.arg(responses)::bytea[]))
            AS u(item, caller, request_id, method, request_hash, response)),
    k AS (
        -- Rows made by idempotency.NewKey.
        INSERT INTO idempotency_keys (caller, request_id, method, request_hash, response)
        SELECT caller, request_id, method, request_hash, response FROM keys
        -- Concurrent batches lock their keys in one order, so they cannot deadlock.
        ORDER BY caller, request_id
        ON CONFLICT DO NOTHING RETURNING caller, request_id),
    items AS (
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(ids)::uuid[]), unnest(sqlc.arg(transaction_ids)::text[]),
            unnest(sqlc.arg(tx_descriptions)::text[]), unnest(sqlc.arg(receive_times)::timestamptz[]), unnest(sqlc.arg(recorders)::text[]),
            unnest(sqlc.arg(currency_codes)::text[]), unnest(sqlc.arg(amounts)::bigint[]), unnest(sqlc.arg(donors)::text[]),
            unnest(sqlc.arg(donor_names)::text[]), unnest(sqlc.arg(donor_emails)::text[]), unnest(sqlc.arg(visibilities)::text[]),
            unnest(sqlc.arg(channels)::text[]), unnest(sqlc.arg(external_references)::text[]), unnest(sqlc.arg(goal_ids)::text[]),
            unnest(sqlc.arg(descriptions)::text[]), unnest(sqlc.arg(deposit_accounts)::text[]), unnest(sqlc.arg(create_times)::timestamptz[]))
            WITH ORDINALITY AS u(id, transaction_id, tx_description, receive_time, recorder, currency_code, amount, donor, donor_name,
                donor_email, visibility, channel, external_reference, goal_id, description, deposit_account, create_time, item)),
    go AS (
        SELECT i.* FROM items i WHERE NOT EXISTS (SELECT 1 FROM keys WHERE keys.item = i.item)
        UNION ALL
        SELECT i.* FROM items i JOIN keys ON keys.item = i.item JOIN k ON k.caller = keys.caller AND k.request_id = keys.request_id),
    t AS (
        -- A PRIVATE gift's amount stays out of public figures until the end
        -- of the month it is recorded in (migration 00009).
        INSERT INTO transactions (id, description, effective_time, source, creator, hidden_until)
        SELECT transaction_id::uuid, tx_description, receive_time, 'donation', recorder,
            CASE WHEN visibility = 'private' THEN (date_trunc('month', create_time AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' END
        FROM go WHERE transaction_id <> ''),
    p AS (
        INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
        SELECT go.transaction_id::uuid, l.seq, l.account, l.currency, l.amount
        FROM ROWS FROM (unnest(sqlc.arg(posting_items)::int[]), unnest(sqlc.arg(posting_seqs)::int[]), unnest(sqlc.arg(posting_accounts)::text[]),
            unnest(sqlc.arg(posting_currencies)::text[]), unnest(sqlc.arg(posting_amounts)::bigint[])) AS l(item, seq, account, currency, amount)
        JOIN go ON go.item = l.item),
    d AS (
        INSERT INTO donations (id, currency_code, amount, donor, donor_name, donor_email, visibility, channel, external_reference,
            goal_id, description, deposit_account, receive_time, transaction_id, recorder, create_time)
        SELECT id, currency_code, amount, donor, donor_name, donor_email, visibility, channel, external_reference,
            NULLIF(goal_id, ''), description, deposit_account, receive_time, NULLIF(transaction_id, '')::uuid, recorder, create_time
        FROM go),
    o AS (
        -- Rows made by outbox.NewMessage.
        INSERT INTO outbox (topic, payload)
        SELECT a.topic, a.payload
        FROM ROWS FROM (unnest(sqlc.arg(activity_items)::int[]), unnest(sqlc.arg(activity_topics)::text[]),
            unnest(sqlc.arg(activity_payloads)::bytea[])) AS a(item, topic, payload)
        JOIN go ON go.item = a.item)
SELECT item::int FROM go;

-- name: GetDonationByTransaction :one
-- The donation an entry records, if any (for its reversal's event).
SELECT * FROM donations WHERE transaction_id = $1;
