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
SELECT t.id::text AS id, t.description, t.effective_time, t.source, coalesce(t.reverses_id::text, '')::text AS reverses,
    coalesce((SELECT r.id::text FROM transactions r WHERE r.reverses_id = t.id), '')::text AS reversed_by, t.creator, t.create_time
FROM transactions t
WHERE t.id = sqlc.arg(id);

-- name: ListTransactions :many
SELECT t.id::text AS id, t.description, t.effective_time, t.source, coalesce(t.reverses_id::text, '')::text AS reverses,
    coalesce((SELECT r.id::text FROM transactions r WHERE r.reverses_id = t.id), '')::text AS reversed_by, t.creator, t.create_time
FROM transactions t
WHERE t.id > sqlc.arg(after)
ORDER BY t.id
LIMIT sqlc.arg(page_size);

-- name: ListPostings :many
SELECT transaction_id::text AS transaction_id, account_id, currency_code, amount
FROM postings
WHERE transaction_id = ANY(sqlc.arg(transaction_ids)::uuid[])
ORDER BY transaction_id, seq;

-- name: IsHidden :one
-- Whether an entry's amounts are private (see migration 00009).
SELECT (hidden_until IS NOT NULL)::bool AS hidden FROM transactions WHERE id = sqlc.arg(id)::uuid;

-- name: HiddenMovements :many
-- The movements, per account, month and source, of entries hidden from the
-- public at a time (hidden_until after it): what public figures leave out.
SELECT p.account_id, date_trunc('month', t.effective_time AT TIME ZONE 'UTC')::date AS month, t.source,
    ledger_clamp(sum(p.amount))::bigint AS amount
FROM transactions t JOIN postings p ON p.transaction_id = t.id
WHERE t.hidden_until > sqlc.arg(at)::timestamptz
GROUP BY 1, 2, 3;

-- name: RecordEntry :one
-- Records a manual entry in one statement: its idempotency key with the
-- response (none without a request id), the entry, its postings and its
-- outbox rows (the caller's activity, the event). If the request id was
-- used before, nothing is written and written is false: the caller replays.
WITH k AS (
        -- Rows made by idempotency.NewKey.
        INSERT INTO idempotency_keys (caller, request_id, method, request_hash, response)
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(callers)::text[]), unnest(sqlc.arg(request_ids)::uuid[]), unnest(sqlc.arg(methods)::text[]),
            unnest(sqlc.arg(request_hashes)::bytea[]), unnest(sqlc.arg(responses)::bytea[]))
            AS u(caller, request_id, method, request_hash, response)
        ON CONFLICT DO NOTHING RETURNING 1),
    go AS (SELECT WHERE coalesce(cardinality(sqlc.arg(request_ids)::uuid[]), 0) = 0 OR EXISTS (SELECT FROM k)),
    t AS (
        INSERT INTO transactions (id, description, effective_time, source, creator, create_time)
        SELECT sqlc.arg(id), sqlc.arg(description), sqlc.arg(effective_time), sqlc.arg(source), sqlc.arg(creator), sqlc.arg(create_time)
        FROM go
        RETURNING id),
    p AS (
        INSERT INTO postings (transaction_id, seq, account_id, currency_code, amount)
        SELECT t.id, u.ord, u.a, u.c, u.m
        FROM t, ROWS FROM (unnest(sqlc.arg(accounts)::text[]), unnest(sqlc.arg(currencies)::text[]), unnest(sqlc.arg(amounts)::bigint[]))
            WITH ORDINALITY AS u(a, c, m, ord)),
    o AS (
        -- Rows made by outbox.NewMessage.
        INSERT INTO outbox (topic, payload)
        SELECT a.topic, a.payload FROM go, ROWS FROM (unnest(sqlc.arg(topics)::text[]), unnest(sqlc.arg(payloads)::bytea[])) AS a(topic, payload))
SELECT EXISTS (SELECT FROM go)::bool AS written;
