-- name: GetGoal :one
SELECT * FROM goals WHERE id = $1;

-- name: GetGoalForUpdate :one
SELECT * FROM goals WHERE id = $1 FOR UPDATE;

-- name: ListGoals :many
SELECT * FROM goals ORDER BY priority, id LIMIT sqlc.arg(page_size);

-- name: ListGoalsAfter :many
SELECT * FROM goals
WHERE (priority, id) > (sqlc.arg(after_priority)::int, sqlc.arg(after_id)::text)
ORDER BY priority, id
LIMIT sqlc.arg(page_size);

-- name: CreateGoal :one
INSERT INTO goals (id, display_name, description, currency_code, target, period, priority, roadmap_item, fund_account, create_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: UpdateGoal :one
UPDATE goals SET display_name = $2, description = $3, priority = $4, roadmap_item = $5, target = $6, version = version + 1
WHERE id = $1
RETURNING *;

-- name: FundProgress :one
-- Credits to the fund account since a month, from the monthly movements.
SELECT ledger_clamp(-sum(amount))::bigint FROM account_months
WHERE account_id = sqlc.arg(account_id) AND month >= sqlc.arg(since)::date;

-- name: GoalDonationProgress :one
-- Posted donations earmarked for the goal since a time, less refunded ones,
-- as seen at visible_at: a gift or refund hidden then (migration 00009) is
-- left out, the gift as if not given, the refund as if not made.
SELECT ledger_clamp(sum(d.amount))::bigint FROM donations d
WHERE d.goal_id = sqlc.arg(goal_id) AND d.receive_time >= sqlc.arg(since)::timestamptz AND d.transaction_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM transactions t WHERE t.id = d.transaction_id AND t.hidden_until > sqlc.arg(visible_at)::timestamptz)
    AND (d.refund_transaction_id IS NULL
        OR EXISTS (SELECT 1 FROM transactions r WHERE r.id = d.refund_transaction_id AND r.hidden_until > sqlc.arg(visible_at)::timestamptz));

-- name: ClaimGoalsToAnnounce :many
-- Goals not yet announced as reached in their current period (UTC months
-- and years; all time for a one-off goal), locked so replicas share them.
SELECT g.*, p.period_start::timestamptz AS period_start FROM goals g,
    LATERAL (SELECT CASE g.period
        WHEN 'monthly' THEN date_trunc('month', sqlc.arg(now)::timestamptz, 'UTC')
        WHEN 'yearly' THEN date_trunc('year', sqlc.arg(now)::timestamptz, 'UTC')
        ELSE '0001-01-01 00:00:00+00'::timestamptz END AS period_start) p
WHERE g.reached_for IS DISTINCT FROM p.period_start AND g.id > sqlc.arg(after)::text
ORDER BY g.id
LIMIT sqlc.arg(max_count)
FOR UPDATE OF g SKIP LOCKED;

-- name: MarkGoalReached :exec
UPDATE goals SET reached_for = sqlc.arg(period_start) WHERE id = sqlc.arg(id);
