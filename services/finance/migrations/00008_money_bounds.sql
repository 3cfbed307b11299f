-- +goose Up
-- Amounts and the sums kept from them stay in range, and whatever the ledger
-- says, the records derived from it follow.
--
-- Bounds (see guildhall.type.v1.Money):
--   one amount (a posting, a gift, an expense, a target...)  |x| <= 10^15 minor units
--   an account's balance                                      |x| <= 10^15
--   an account's movement in one month from one source        |x| <= 2 * 10^15
-- Checks on amounts are NOT VALID: rows stored before the bounds keep
-- reading; new and changed rows are checked.

-- Clamps an exact sum into bigint: reads never fail, whatever is stored.
-- Sums kept under the bounds never reach the clamp; rows stored before them can.
CREATE FUNCTION ledger_clamp(x numeric) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN greatest(least(coalesce(x, 0), 9223372036854775807), -9223372036854775807)::bigint;

ALTER TABLE postings ADD CONSTRAINT postings_amount_range
    CHECK (amount BETWEEN -1000000000000000 AND 1000000000000000) NOT VALID;
ALTER TABLE donations ADD CONSTRAINT donations_amount_range CHECK (amount <= 1000000000000000) NOT VALID;
ALTER TABLE expenses ADD CONSTRAINT expenses_amount_range CHECK (amount <= 1000000000000000) NOT VALID;
ALTER TABLE tiers ADD CONSTRAINT tiers_amount_range CHECK (amount <= 1000000000000000) NOT VALID;
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_amount_range CHECK (amount <= 1000000000000000) NOT VALID;
ALTER TABLE sponsorships ADD CONSTRAINT sponsorships_amount_range CHECK (amount <= 1000000000000000) NOT VALID;
ALTER TABLE goals ADD CONSTRAINT goals_target_range CHECK (target <= 1000000000000000) NOT VALID;
ALTER TABLE budgets ADD CONSTRAINT budgets_planned_range CHECK (planned <= 1000000000000000) NOT VALID;

-- Slots hold exact partial sums: a slot can run far from the balance (one
-- connection's credits in one slot, another's debits in another), so they
-- are numeric and never overflow. xact and gross are the open transaction
-- that last wrote the slot and the absolute amount it has posted there.
ALTER TABLE account_balances
    ALTER COLUMN amount TYPE numeric,
    ADD COLUMN xact  xid8,
    ADD COLUMN gross numeric NOT NULL DEFAULT 0;
ALTER TABLE account_months ALTER COLUMN amount TYPE numeric;

-- Keeps balances and monthly movements in step with every insert and holds
-- them within their bounds under any concurrency.
--
-- Common case (no lock between writers): each posting statement takes a
-- shared advisory lock per account, adds to its connection's slot, then
-- reads the sums. At most 64 transactions hold a slot of an account at once,
-- and each of them has moved it by at most 10^12 (gross), so if the sums
-- this one sees are within the bound less 64 * 10^12, no interleaving of
-- the others' commits can push the committed sum past the bound.
--
-- Otherwise (a transaction moving more than 10^12 through one account, or
-- sums near a bound) it fails with SQLSTATE GHL01; the caller retries the
-- whole transaction with SET LOCAL guildhall.ledger_exclusive = on. Then
-- exclusive locks wait out every writer of the accounts and the exact sums
-- are checked against the bounds: beyond them is SQLSTATE 22003.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_accumulate() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    s int := pg_backend_pid() % 64;
    exclusive bool := coalesce(current_setting('guildhall.ledger_exclusive', true), '') = 'on';
    margin numeric := CASE WHEN exclusive THEN 0 ELSE 64 * 1000000000000 END;
    acct text;
    bad record;
BEGIN
    FOR acct IN SELECT DISTINCT account_id FROM new_postings ORDER BY account_id LOOP
        IF exclusive THEN
            PERFORM pg_advisory_xact_lock(1818520167, hashtext(acct));
        ELSE
            PERFORM pg_advisory_xact_lock_shared(1818520167, hashtext(acct));
        END IF;
    END LOOP;

    INSERT INTO account_balances AS b (account_id, slot, amount, xact, gross)
        SELECT account_id, s, sum(amount), pg_current_xact_id(), sum(abs(amount)) FROM new_postings GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET amount = b.amount + excluded.amount,
            gross = CASE WHEN b.xact = excluded.xact THEN b.gross + excluded.gross ELSE excluded.gross END,
            xact = excluded.xact;
    INSERT INTO account_months AS m (account_id, month, source, slot, amount)
        SELECT p.account_id, date_trunc('month', t.effective_time AT TIME ZONE 'UTC')::date, t.source, s, sum(p.amount)
        FROM new_postings p JOIN transactions t ON t.id = p.transaction_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, month, source, slot) DO UPDATE SET amount = m.amount + excluded.amount;

    IF NOT exclusive AND EXISTS (SELECT 1 FROM account_balances b
            WHERE b.slot = s AND b.account_id IN (SELECT account_id FROM new_postings) AND b.gross > 1000000000000) THEN
        RAISE EXCEPTION 'ledger: a large amount; retry the transaction with SET LOCAL guildhall.ledger_exclusive = on'
            USING ERRCODE = 'GHL01';
    END IF;
    SELECT b.account_id, sum(b.amount) AS total INTO bad FROM account_balances b
        WHERE b.account_id IN (SELECT account_id FROM new_postings)
        GROUP BY b.account_id HAVING abs(sum(b.amount)) > 1000000000000000 - margin LIMIT 1;
    IF NOT FOUND THEN
        SELECT m.account_id, sum(m.amount) AS total INTO bad FROM account_months m
            JOIN (SELECT DISTINCT p.account_id, date_trunc('month', t.effective_time AT TIME ZONE 'UTC')::date AS month, t.source
                FROM new_postings p JOIN transactions t ON t.id = p.transaction_id) k
            ON k.account_id = m.account_id AND k.month = m.month AND k.source = m.source
            GROUP BY m.account_id, m.month, m.source HAVING abs(sum(m.amount)) > 2000000000000000 - margin LIMIT 1;
    END IF;
    IF FOUND THEN
        IF NOT exclusive THEN
            RAISE EXCEPTION 'ledger: accounts/% is near its bound; retry the transaction with SET LOCAL guildhall.ledger_exclusive = on', bad.account_id
                USING ERRCODE = 'GHL01';
        END IF;
        RAISE EXCEPTION 'ledger: the entry would take accounts/% out of range', bad.account_id
            USING ERRCODE = 'numeric_value_out_of_range', DETAIL = bad.account_id;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Calendar arithmetic for schedules: n months (or years) from d's month, on
-- the anchor day or the month's last day when it is shorter, so 01-31 runs
-- 02-28, 03-31, 04-30 and 2028-02-29 runs 2029-02-28 ... 2032-02-29.
CREATE FUNCTION schedule_shift(d date, iv text, n int, anchor_day int) RETURNS date LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT (m + least(anchor_day, extract(day FROM m + interval '1 month' - interval '1 day')::int) - 1)
        FROM (SELECT (date_trunc('month', d) + make_interval(months => n * CASE iv WHEN 'year' THEN 12 ELSE 1 END))::date AS m) x);

-- A subscription's due dates keep the day of its first one.
ALTER TABLE subscriptions ADD COLUMN anchor_day int NOT NULL DEFAULT 1 CHECK (anchor_day BETWEEN 1 AND 31);
UPDATE subscriptions SET anchor_day = extract(day FROM next_due_date)::int;
ALTER TABLE subscriptions ALTER COLUMN anchor_day DROP DEFAULT;

-- A donation whose entry was reversed was refunded.
ALTER TABLE donations ADD COLUMN refund_transaction_id uuid REFERENCES transactions (id);
-- Expense history names the entries it posted and the reversals of them.
ALTER TABLE expense_events ADD COLUMN transaction_id uuid REFERENCES transactions (id);
UPDATE expense_events ev SET transaction_id = e.transaction_id FROM expenses e
    WHERE ev.expense_id = e.id AND ev.action = 'pay' AND e.transaction_id IS NOT NULL;

-- What a sponsorship has been paid: its unreversed payments, from the ledger.
CREATE FUNCTION sponsorship_paid(sponsorship uuid) RETURNS bigint LANGUAGE sql STABLE
    RETURN (SELECT ledger_clamp(sum(p.amount)) FROM payments pm JOIN postings p ON p.transaction_id = pm.transaction_id AND p.amount > 0
        WHERE pm.sponsorship_id = sponsorship AND NOT EXISTS (SELECT 1 FROM transactions r WHERE r.reverses_id = pm.transaction_id));

-- Whatever posts a reversal (the API or a psql session), the records derived
-- from the reversed entry follow in the same transaction: the donation is
-- refunded, the expense is APPROVED (payable) again with the reversal in its
-- history, the subscription's payment no longer counts (its due date moves
-- back one period) and the sponsorship's paid total drops.
-- +goose StatementBegin
CREATE FUNCTION ledger_follow_reversal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE donations SET refund_transaction_id = NEW.id WHERE transaction_id = NEW.reverses_id;
    WITH e AS (
        UPDATE expenses SET state = 'approved', transaction_id = NULL
        WHERE transaction_id = NEW.reverses_id AND state = 'paid' RETURNING id)
    INSERT INTO expense_events (expense_id, seq, action, actor, time, state, reason, transaction_id)
    SELECT e.id, (SELECT coalesce(max(seq), 0) + 1 FROM expense_events WHERE expense_id = e.id),
        'reverse_payment', NEW.creator, NEW.effective_time, 'approved', NEW.description, NEW.id
    FROM e;
    UPDATE subscriptions sb SET payment_count = sb.payment_count - 1,
        next_due_date = schedule_shift(sb.next_due_date, sb.interval, -1, sb.anchor_day), update_time = now()
    FROM payments pm WHERE pm.transaction_id = NEW.reverses_id AND pm.subscription_id = sb.id;
    UPDATE sponsorships sp SET paid = sponsorship_paid(sp.id), update_time = now(), version = sp.version + 1
    FROM payments pm WHERE pm.transaction_id = NEW.reverses_id AND pm.sponsorship_id = sp.id;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER transactions_follow_reversal AFTER INSERT ON transactions
    FOR EACH ROW WHEN (NEW.reverses_id IS NOT NULL) EXECUTE FUNCTION ledger_follow_reversal();

-- Reversals already in the ledger take effect on what they reversed.
UPDATE donations d SET refund_transaction_id = r.id FROM transactions r WHERE r.reverses_id = d.transaction_id;
INSERT INTO expense_events (expense_id, seq, action, actor, time, state, reason, transaction_id)
SELECT e.id, (SELECT coalesce(max(seq), 0) + 1 FROM expense_events WHERE expense_id = e.id),
    'reverse_payment', r.creator, r.effective_time, 'approved', r.description, r.id
FROM expenses e JOIN transactions r ON r.reverses_id = e.transaction_id WHERE e.state = 'paid';
UPDATE expenses e SET state = 'approved', transaction_id = NULL
FROM transactions r WHERE r.reverses_id = e.transaction_id AND e.state = 'paid';
UPDATE subscriptions sb SET payment_count = sb.payment_count - x.n, next_due_date = schedule_shift(sb.next_due_date, sb.interval, -x.n, sb.anchor_day)
FROM (SELECT pm.subscription_id, count(*)::int AS n FROM payments pm JOIN transactions r ON r.reverses_id = pm.transaction_id
    WHERE pm.subscription_id IS NOT NULL GROUP BY 1) x
WHERE x.subscription_id = sb.id;
UPDATE sponsorships sp SET paid = sponsorship_paid(sp.id);

-- +goose Down
UPDATE expenses e SET state = 'paid', transaction_id = ev.reversed
FROM (SELECT expense_id, (array_agg(r.reverses_id ORDER BY seq DESC))[1] AS reversed
    FROM expense_events JOIN transactions r ON r.id = expense_events.transaction_id
    WHERE action = 'reverse_payment' GROUP BY expense_id) ev
WHERE ev.expense_id = e.id AND e.state = 'approved';
DROP TRIGGER transactions_follow_reversal ON transactions;
DROP FUNCTION ledger_follow_reversal, sponsorship_paid, schedule_shift;
ALTER TABLE expense_events DROP COLUMN transaction_id;
ALTER TABLE donations DROP COLUMN refund_transaction_id;
ALTER TABLE subscriptions DROP COLUMN anchor_day;
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_accumulate() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    s int := pg_backend_pid() % 64;
BEGIN
    INSERT INTO account_balances AS b (account_id, slot, amount)
        SELECT account_id, s, sum(amount) FROM new_postings GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET amount = b.amount + excluded.amount;
    INSERT INTO account_months AS m (account_id, month, source, slot, amount)
        SELECT p.account_id, date_trunc('month', t.effective_time AT TIME ZONE 'UTC')::date, t.source, s, sum(p.amount)
        FROM new_postings p JOIN transactions t ON t.id = p.transaction_id
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, month, source, slot) DO UPDATE SET amount = m.amount + excluded.amount;
    RETURN NULL;
END $$;
-- +goose StatementEnd
ALTER TABLE account_months ALTER COLUMN amount TYPE bigint;
ALTER TABLE account_balances DROP COLUMN gross, DROP COLUMN xact, ALTER COLUMN amount TYPE bigint;
ALTER TABLE budgets DROP CONSTRAINT budgets_planned_range;
ALTER TABLE goals DROP CONSTRAINT goals_target_range;
ALTER TABLE sponsorships DROP CONSTRAINT sponsorships_amount_range;
ALTER TABLE subscriptions DROP CONSTRAINT subscriptions_amount_range;
ALTER TABLE tiers DROP CONSTRAINT tiers_amount_range;
ALTER TABLE expenses DROP CONSTRAINT expenses_amount_range;
ALTER TABLE donations DROP CONSTRAINT donations_amount_range;
ALTER TABLE postings DROP CONSTRAINT postings_amount_range;
DROP FUNCTION ledger_clamp;
