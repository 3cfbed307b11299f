-- name: PostEntry :exec
-- The entry and its postings go in one statement (one round trip); the
-- postings trigger runs at its end and sees both.
WITH t AS (
    INSERT INTO transactions (id, description, effective_time, source, reverses_id, creator, hidden_until)
    VALUES (sqlc.arg(id), sqlc.arg(description), sqlc.arg(effective_time), sqlc.arg(source), sqlc.narg(reverses_id), sqlc.arg(creator),
        sqlc.narg(hidden_until))
    RETURNING id)
INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
SELECT t.id, u.ord, u.a, u.c, u.m
-- ROWS FROM (unnest, ...) is what multi-argument unnest stands for; sqlc knows only this form.
FROM t, ROWS FROM (unnest(sqlc.arg(accounts)::text[]), unnest(sqlc.arg(currencies)::text[]), unnest(sqlc.arg(amounts)::bigint[]))
    WITH ORDINALITY AS u(a, c, m, ord);

-- name: GetTransaction :one
-- An entry with its postings, in order, as a JSON array of postings rows
-- (decoded into store.Posting): one read for the entry and its postings.
SELECT t.id::text AS id, t.description, t.effective_time, t.source, coalesce(t.reverses_id::text, '')::text AS reverses,
    coalesce((SELECT r.id::text FROM transactions r WHERE r.reverses_id = t.id), '')::text AS reversed_by, t.creator, t.create_time,
    -- Whether the entry's amounts are private (see migration 00009).
    (t.hidden_until IS NOT NULL)::bool AS hidden,
    (SELECT coalesce(jsonb_agg(p ORDER BY p.seq), '[]') FROM postings p WHERE p.transaction_id = t.id)::jsonb AS postings
FROM transactions t
WHERE t.id = sqlc.arg(id);

-- name: ListTransactions :many
-- A page of entries, each as GetTransaction reads it.
SELECT t.id::text AS id, t.description, t.effective_time, t.source, coalesce(t.reverses_id::text, '')::text AS reverses,
    coalesce((SELECT r.id::text FROM transactions r WHERE r.reverses_id = t.id), '')::text AS reversed_by, t.creator, t.create_time,
    -- Whether the entry's amounts are private (see migration 00009).
    (t.hidden_until IS NOT NULL)::bool AS hidden,
    (SELECT coalesce(jsonb_agg(p ORDER BY p.seq), '[]') FROM postings p WHERE p.transaction_id = t.id)::jsonb AS postings
FROM transactions t
WHERE t.id > sqlc.arg(after)
ORDER BY t.id
LIMIT sqlc.arg(page_size);

-- name: HiddenMovements :many
-- The movements, per account, month and source, of entries hidden from the
-- public at a time (hidden_until after it): what public figures leave out.
SELECT p.account_id, date_trunc('month', t.effective_time AT TIME ZONE 'UTC')::date AS month, t.source,
    ledger_clamp(sum(p.amount))::bigint AS amount
FROM transactions t JOIN postings p ON p.transaction_id = t.id
WHERE t.hidden_until > sqlc.arg(at)::timestamptz
GROUP BY 1, 2, 3;

-- name: RecordEntries :many
-- Records manual entries and reversals in one statement: per entry its idempotency key
-- with the response (none without a request id), the entry, its postings
-- and its outbox rows (the caller's activity, the event). Item arrays are
-- parallel, one element per entry, numbered from 1; key, posting and outbox
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
        -- Concurrent statements lock their keys in one order, so they cannot deadlock.
        ORDER BY caller, request_id
        ON CONFLICT DO NOTHING RETURNING caller, request_id),
    items AS (
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(ids)::uuid[]), unnest(sqlc.arg(descriptions)::text[]),
            unnest(sqlc.arg(effective_times)::timestamptz[]), unnest(sqlc.arg(sources)::text[]), unnest(sqlc.arg(creators)::text[]),
            unnest(sqlc.arg(create_times)::timestamptz[]), unnest(sqlc.arg(reverses)::text[]), unnest(sqlc.arg(hidden)::bool[]))
            WITH ORDINALITY AS u(id, description, effective_time, source, creator, create_time, reverses, hidden, item)),
    go AS (
        SELECT i.* FROM items i WHERE NOT EXISTS (SELECT 1 FROM keys WHERE keys.item = i.item)
        UNION ALL
        SELECT i.* FROM items i JOIN keys ON keys.item = i.item JOIN k ON k.caller = keys.caller AND k.request_id = keys.request_id),
    t AS (
        -- A reversal ('' is none) of an entry whose amounts are private is
        -- hidden in turn, until the end of the UTC month it is recorded in
        -- (migration 00009), as hiddenUntil computes.
        INSERT INTO transactions (id, description, effective_time, source, creator, create_time, reverses_id, hidden_until)
        SELECT id, description, effective_time, source, creator, create_time, NULLIF(reverses, '')::uuid,
            CASE WHEN hidden THEN (date_trunc('month', create_time AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' END
        FROM go),
    p AS (
        INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
        SELECT go.id, l.seq, l.account, l.currency, l.amount
        FROM ROWS FROM (unnest(sqlc.arg(posting_items)::int[]), unnest(sqlc.arg(posting_seqs)::int[]), unnest(sqlc.arg(posting_accounts)::text[]),
            unnest(sqlc.arg(posting_currencies)::text[]), unnest(sqlc.arg(posting_amounts)::bigint[])) AS l(item, seq, account, currency, amount)
        JOIN go ON go.item = l.item),
    o AS (
        -- Rows made by outbox.NewMessage.
        INSERT INTO outbox (topic, payload)
        SELECT a.topic, a.payload
        FROM ROWS FROM (unnest(sqlc.arg(outbox_items)::int[]), unnest(sqlc.arg(outbox_topics)::text[]),
            unnest(sqlc.arg(outbox_payloads)::bytea[])) AS a(item, topic, payload)
        JOIN go ON go.item = a.item)
SELECT item::int FROM go;
