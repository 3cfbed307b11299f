-- +goose Up
-- The same ledger rules as before (00002, 00004, 00008), checked with less
-- work per posting:
--
-- * The per-posting deferred trigger (postings_balanced) is gone. It ran at
--   commit once per posting only to find, in almost every case, that the
--   posting's entry was inserted by the same transaction and is checked by
--   that entry's own trigger (transactions_balanced). The posting statement's
--   trigger (ledger_accumulate, once per statement) now finds the postings
--   added to an entry that this transaction did not insert, and queues a
--   check of that entry at commit by a row in ledger_recheck, whose deferred
--   trigger checks it exactly as before: postings added to an older entry
--   are still checked at commit, once every posting is in.
-- * An entry is checked with one query instead of three (count, balance per
--   currency, currencies of the accounts), with the same refusals.
-- * ledger_accumulate runs three statements instead of seven (below).

-- Entries to check at commit whose postings came after the entry's own
-- transaction: a row per such posting statement, removed by its check.
CREATE TABLE ledger_recheck (
    transaction_id uuid NOT NULL
);

-- Checked at commit, once every posting of the entry is in: at least two
-- postings, each in its account's currency, summing to zero per currency.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    tx uuid;
    n int;
    unbalanced text;
    foreign_account text;
BEGIN
    IF TG_TABLE_NAME = 'transactions' THEN
        tx := NEW.id;
    ELSE
        tx := NEW.transaction_id;
        DELETE FROM ledger_recheck WHERE transaction_id = tx;
    END IF;
    SELECT coalesce(sum(x.n), 0), min(x.currency_code) FILTER (WHERE x.total <> 0), min(x.foreign_account)
        INTO n, unbalanced, foreign_account
    FROM (SELECT p.currency_code, count(*) AS n, sum(p.amount) AS total,
            min(p.account_id) FILTER (WHERE a.currency_code IS DISTINCT FROM p.currency_code) AS foreign_account
        FROM postings p LEFT JOIN accounts a ON a.id = p.account_id
        WHERE p.transaction_id = tx GROUP BY p.currency_code) x;
    IF n < 2 THEN
        RAISE EXCEPTION 'transaction % has % postings; at least two are needed', tx, n
            USING ERRCODE = 'check_violation';
    END IF;
    IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % does not balance in %', tx, unbalanced
            USING ERRCODE = 'check_violation';
    END IF;
    IF foreign_account IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % posts to % in a currency not its own', tx, foreign_account
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

DROP TRIGGER postings_balanced ON postings;
CREATE CONSTRAINT TRIGGER ledger_recheck_balanced AFTER INSERT ON ledger_recheck
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- As in 00008, in three statements instead of seven: the advisory locks;
-- the balance slots' upsert with the read of every slot's sum; the monthly
-- slots' upsert with theirs, and the queueing of older entries' checks.
-- An upsert's statement sees the other slots as they were when it began
-- (after the locks, as the separate reads did) and its own slot, through
-- RETURNING, as it wrote it.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_accumulate() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    s int := pg_backend_pid() % 64;
    exclusive bool := coalesce(current_setting('guildhall.ledger_exclusive', true), '') = 'on';
    margin numeric := CASE WHEN exclusive THEN 0 ELSE 64 * 1000000000000 END;
    large bool;
    bad text;
BEGIN
    -- In account order, so that exclusive and shared lockers cannot deadlock.
    IF exclusive THEN
        PERFORM pg_advisory_xact_lock(1818520167, hashtext(a.account_id))
        FROM (SELECT DISTINCT account_id FROM new_postings ORDER BY account_id) a;
    ELSE
        PERFORM pg_advisory_xact_lock_shared(1818520167, hashtext(a.account_id))
        FROM (SELECT DISTINCT account_id FROM new_postings ORDER BY account_id) a;
    END IF;

    -- Whether this transaction moved more than 10^12 through its slot of an
    -- account (then only the exclusive path can prove the bounds), and the
    -- first account whose balance is near or beyond its bound.
    WITH up AS (
        INSERT INTO account_balances AS b (account_id, slot, amount, xact, gross)
        SELECT account_id, s, sum(amount), pg_current_xact_id(), sum(abs(amount)) FROM new_postings GROUP BY account_id ORDER BY account_id
        ON CONFLICT (account_id, slot) DO UPDATE SET amount = b.amount + excluded.amount,
            gross = CASE WHEN b.xact = excluded.xact THEN b.gross + excluded.gross ELSE excluded.gross END,
            xact = excluded.xact
        RETURNING b.account_id, b.amount, b.gross)
    SELECT bool_or(up.gross > 1000000000000),
        min(up.account_id) FILTER (WHERE abs(up.amount + coalesce(o.total, 0)) > 1000000000000000 - margin)
        INTO large, bad
    FROM up LEFT JOIN LATERAL (SELECT sum(o.amount) AS total FROM account_balances o
        WHERE o.account_id = up.account_id AND o.slot <> s) o ON true;
    IF NOT exclusive AND large THEN
        RAISE EXCEPTION 'ledger: a large amount; retry the transaction with SET LOCAL guildhall.ledger_exclusive = on'
            USING ERRCODE = 'GHL01';
    END IF;

    -- Postings added to an entry this transaction did not insert (an older
    -- entry; or one inserted under a savepoint, whose xmin is the
    -- subtransaction's: checked twice, which is harmless) are checked at
    -- commit by ledger_recheck. An entry inserted by this transaction is
    -- checked at commit by its own trigger.
    WITH pt AS (
        SELECT p.account_id, p.amount, p.transaction_id, t.xmin = pg_current_xact_id()::xid AS ours,
            date_trunc('month', t.effective_time AT TIME ZONE 'UTC')::date AS month, t.source
        FROM new_postings p JOIN transactions t ON t.id = p.transaction_id),
    recheck AS (
        INSERT INTO ledger_recheck (transaction_id) SELECT DISTINCT transaction_id FROM pt WHERE NOT ours),
    up AS (
        INSERT INTO account_months AS m (account_id, month, source, slot, amount)
        SELECT account_id, month, source, s, sum(amount) FROM pt
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (account_id, month, source, slot) DO UPDATE SET amount = m.amount + excluded.amount
        RETURNING m.account_id, m.month, m.source, m.amount)
    SELECT coalesce(bad, min(up.account_id) FILTER (WHERE abs(up.amount + coalesce(o.total, 0)) > 2000000000000000 - margin))
        INTO bad
    FROM up LEFT JOIN LATERAL (SELECT sum(o.amount) AS total FROM account_months o
        WHERE o.account_id = up.account_id AND o.month = up.month AND o.source = up.source AND o.slot <> s) o ON true;

    IF bad IS NOT NULL THEN
        IF NOT exclusive THEN
            RAISE EXCEPTION 'ledger: accounts/% is near its bound; retry the transaction with SET LOCAL guildhall.ledger_exclusive = on', bad
                USING ERRCODE = 'GHL01';
        END IF;
        RAISE EXCEPTION 'ledger: the entry would take accounts/% out of range', bad
            USING ERRCODE = 'numeric_value_out_of_range', DETAIL = bad;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER ledger_recheck_balanced ON ledger_recheck;
DROP TABLE ledger_recheck;
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off AS $$
DECLARE
    tx uuid;
    n int;
    bad text;
BEGIN
    IF TG_TABLE_NAME = 'transactions' THEN
        tx := NEW.id;
    ELSE
        tx := NEW.transaction_id;
        IF EXISTS (SELECT 1 FROM transactions t WHERE t.id = tx AND t.xmin = pg_current_xact_id()::xid) THEN
            RETURN NULL;
        END IF;
    END IF;
    SELECT count(*) INTO n FROM postings WHERE transaction_id = tx;
    IF n < 2 THEN
        RAISE EXCEPTION 'transaction % has % postings; at least two are needed', tx, n
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT p.currency_code INTO bad FROM postings p
        WHERE p.transaction_id = tx GROUP BY p.currency_code HAVING sum(p.amount) <> 0 LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % does not balance in %', tx, bad
            USING ERRCODE = 'check_violation';
    END IF;
    SELECT p.account_id INTO bad FROM postings p JOIN accounts a ON a.id = p.account_id
        WHERE p.transaction_id = tx AND a.currency_code <> p.currency_code LIMIT 1;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'transaction % posts to % in a currency not its own', tx, bad
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd
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
