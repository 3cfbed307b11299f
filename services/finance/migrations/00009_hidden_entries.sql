-- +goose Up
-- An entry whose amounts are private (a PRIVATE gift, the reversal of one)
-- stays out of every public figure (balances, reports, goal progress,
-- budgets) until hidden_until, the end of the UTC month it was recorded in,
-- by the service clock. Public figures then take it in with everything else
-- recorded that month, so no public figure moves by one gift's amount.
ALTER TABLE transactions ADD COLUMN hidden_until timestamptz;
CREATE INDEX transactions_hidden_until ON transactions (hidden_until) WHERE hidden_until IS NOT NULL;
-- Private gifts recorded before: hidden until the end of their month. Only
-- this new column changes, so the immutability trigger steps aside for it.
ALTER TABLE transactions DISABLE TRIGGER transactions_immutable;
UPDATE transactions t SET hidden_until = (date_trunc('month', d.create_time AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
FROM donations d WHERE d.transaction_id = t.id AND d.visibility = 'private';
UPDATE transactions r SET hidden_until = (date_trunc('month', r.create_time AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC'
FROM transactions t WHERE r.reverses_id = t.id AND t.hidden_until IS NOT NULL;
ALTER TABLE transactions ENABLE TRIGGER transactions_immutable;

-- +goose Down
DROP INDEX transactions_hidden_until;
ALTER TABLE transactions DROP COLUMN hidden_until;
