-- name: GetSubscription :one
SELECT * FROM subscriptions WHERE id = $1;

-- name: GetSubscriptionForPayment :one
-- The subscription, its row version (xmin), its due date after one more
-- payment and its history (lifecycle.FillFrom): what a payment written in
-- the entries statement, and its reply, are computed from (RecordEntries).
SELECT sqlc.embed(subscriptions), xmin::text AS version,
    schedule_shift(next_due_date, interval, 1, anchor_day)::date AS following_due_date,
    (SELECT coalesce(jsonb_agg(t ORDER BY t.id), '[]') FROM subscription_transitions t
     WHERE t.subscription_id = subscriptions.id)::jsonb AS history
FROM subscriptions WHERE subscriptions.id = $1;

-- name: GetSubscriptionForUpdate :one
SELECT * FROM subscriptions WHERE id = $1 FOR UPDATE;

-- name: ListSubscriptions :many
-- overdue keeps ACTIVE subscriptions due before today.
SELECT * FROM subscriptions
WHERE id > sqlc.arg(after)::uuid
    AND (NOT sqlc.arg(overdue)::bool OR (state = 'active' AND next_due_date < sqlc.arg(today)::date))
ORDER BY id
LIMIT sqlc.arg(page_size);

-- name: CreateSubscription :one
INSERT INTO subscriptions (id, tier_id, subscriber, subscriber_name, currency_code, amount, interval, state, next_due_date, anchor_day,
    create_time, update_time)
VALUES (sqlc.arg(id), sqlc.narg(tier_id), sqlc.arg(subscriber), sqlc.arg(subscriber_name), sqlc.arg(currency_code), sqlc.arg(amount),
    sqlc.arg(interval), 'active', sqlc.arg(next_due_date), extract(day FROM sqlc.arg(next_due_date)::date)::int, sqlc.arg(now), sqlc.arg(now))
RETURNING *;

-- name: SetSubscriptionState :one
UPDATE subscriptions SET state = sqlc.arg(state), update_time = sqlc.arg(update_time)
WHERE id = sqlc.arg(id) AND state = ANY(sqlc.arg(from_states)::text[])
RETURNING *;

-- name: AdvanceSubscription :one
-- Counts a payment and moves the due date on one period, keeping the anchor day.
UPDATE subscriptions SET next_due_date = schedule_shift(next_due_date, interval, 1, anchor_day), payment_count = payment_count + 1,
    update_time = sqlc.arg(update_time)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: CreateSubscriptionPayment :exec
INSERT INTO payments (transaction_id, subscription_id) VALUES ($1, $2);

-- name: RecurringRevenue :many
-- MRR per currency over ACTIVE subscriptions: monthly amounts plus yearly ones divided by 12, rounded down.
SELECT currency_code,
    ledger_clamp(coalesce(sum(amount) FILTER (WHERE interval = 'month'), 0) + div(coalesce(sum(amount) FILTER (WHERE interval = 'year'), 0), 12))::bigint AS mrr,
    count(*)::int AS active
FROM subscriptions
WHERE state = 'active'
GROUP BY currency_code
ORDER BY currency_code;

-- name: RecurringTotalExceeds :one
-- Whether a currency's ACTIVE subscriptions sum to more than bound. Callers
-- hold LockRecurringTotal, so concurrent writers check one after another.
SELECT coalesce(sum(amount), 0) > sqlc.arg(bound)::bigint AS exceeds
FROM subscriptions
WHERE state = 'active' AND currency_code = sqlc.arg(currency_code);

-- name: LockRecurringTotal :exec
-- Serializes writes that add to a currency's recurring total, until commit.
SELECT pg_advisory_xact_lock(1818520168, hashtext(sqlc.arg(currency_code)::text));

-- name: RecordSubscriptionPayments :exec
-- Moves on the subscriptions paid by entries the same transaction wrote
-- (RecordEntries), one per entry: each due date by one period (computed
-- with schedule_shift when the row was read) and its payment count by one,
-- with the entry's row in payments. Each names its row's xmin as read; if a
-- row changed since, the statement fails with GHL02 (migration 00015).
WITH u AS (
        SELECT * FROM ROWS FROM (unnest(sqlc.arg(transaction_ids)::uuid[]), unnest(sqlc.arg(ids)::uuid[]), unnest(sqlc.arg(versions)::text[]),
            unnest(sqlc.arg(due_dates)::date[]), unnest(sqlc.arg(update_times)::timestamptz[])) AS u(transaction_id, id, version, next_due_date, update_time)),
    moved AS (
        UPDATE subscriptions s SET next_due_date = u.next_due_date, payment_count = s.payment_count + 1, update_time = u.update_time
        FROM u WHERE s.id = u.id AND s.xmin = u.version::xid
        RETURNING u.transaction_id)
INSERT INTO payments (transaction_id, subscription_id)
SELECT CASE WHEN u.transaction_id IN (SELECT transaction_id FROM moved) THEN u.transaction_id ELSE ledger_changed_since_read(u.id) END, u.id
FROM u;
