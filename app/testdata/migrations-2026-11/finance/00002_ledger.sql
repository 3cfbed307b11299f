-- +goose Up
-- The ledger. Entries balance per currency and are never changed: both are
-- enforced here, so no code path (or psql session) can break them.
CREATE TABLE transactions (
    id             uuid        PRIMARY KEY,
    description    text        NOT NULL DEFAULT '',
    effective_time timestamptz NOT NULL,
    source         text        NOT NULL CHECK (source IN ('manual', 'donation', 'subscription', 'sponsorship', 'advertising', 'expense')),
    reverses_id    uuid        UNIQUE REFERENCES transactions (id),
    creator        text        NOT NULL DEFAULT '',
    create_time    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transactions_effective ON transactions (effective_time, id);

CREATE TABLE postings (
    transaction_id uuid   NOT NULL REFERENCES transactions (id),
    seq            int    NOT NULL,
    account_id     text   NOT NULL REFERENCES accounts (id),
    currency_code  char(3) NOT NULL,
    amount         bigint NOT NULL,
    PRIMARY KEY (transaction_id, seq)
);
CREATE INDEX postings_account ON postings (account_id);

-- Balances are kept in up to 64 slots per account, so concurrent postings to
-- a busy account (the PayPal balance) seldom wait on the same row. A balance is
-- the sum of its slots: constant cost however long the history.
CREATE TABLE account_balances (
    account_id text   NOT NULL REFERENCES accounts (id),
    slot       int    NOT NULL,
    amount     bigint NOT NULL,
    PRIMARY KEY (account_id, slot)
);

-- Monthly movements per account and source, slotted likewise; reports,
-- budgets and goals read these instead of scanning postings.
CREATE TABLE account_months (
    account_id text   NOT NULL REFERENCES accounts (id),
    month      date   NOT NULL,
    source     text   NOT NULL,
    slot       int    NOT NULL,
    amount     bigint NOT NULL,
    PRIMARY KEY (account_id, month, source, slot)
);

-- +goose StatementBegin
CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable; post a reversal instead'
        USING ERRCODE = 'restrict_violation';
END $$;
-- +goose StatementEnd

CREATE TRIGGER transactions_immutable BEFORE UPDATE OR DELETE ON transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER transactions_no_truncate BEFORE TRUNCATE ON transactions
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER postings_no_truncate BEFORE TRUNCATE ON postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();

-- Checked at commit, once every posting of the entry is in: at least two
-- postings, each in its account's currency, summing to zero per currency.
-- +goose StatementBegin
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    tx uuid;
    n int;
    bad text;
BEGIN
    IF TG_TABLE_NAME = 'transactions' THEN
        tx := NEW.id;
    ELSE
        tx := NEW.transaction_id;
        -- An entry inserted by this same transaction is checked once, by its
        -- own trigger; only postings added to an older entry need a check here.
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

CREATE CONSTRAINT TRIGGER transactions_balanced AFTER INSERT ON transactions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();

-- Keeps balances and monthly movements in step with every insert, in the
-- same transaction; one statement-level pass, so bulk loads stay cheap.
-- +goose StatementBegin
CREATE FUNCTION ledger_accumulate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- One slot per connection (mostly): concurrent writers do not queue on
    -- the same balance row, and a balance is still a bounded sum.
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

CREATE TRIGGER postings_accumulate AFTER INSERT ON postings
    REFERENCING NEW TABLE AS new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_accumulate();

CREATE TABLE goals (
    id           text        PRIMARY KEY,
    display_name text        NOT NULL,
    description  text        NOT NULL DEFAULT '',
    currency_code char(3)    NOT NULL,
    target       bigint      NOT NULL CHECK (target > 0),
    period       text        NOT NULL CHECK (period IN ('one_off', 'monthly', 'yearly')),
    priority     int         NOT NULL DEFAULT 0,
    roadmap_item text        NOT NULL DEFAULT '',
    fund_account text        REFERENCES accounts (id),
    create_time  timestamptz NOT NULL DEFAULT now(),
    version      bigint      NOT NULL DEFAULT 1
);
CREATE INDEX goals_priority ON goals (priority, id);

CREATE TABLE donations (
    id                 uuid        PRIMARY KEY,
    currency_code      char(3)     NOT NULL,
    amount             bigint      NOT NULL CHECK (amount >= 0),
    donor              text        NOT NULL DEFAULT '',
    donor_name         text        NOT NULL DEFAULT '',
    donor_email        text        NOT NULL DEFAULT '',
    visibility         text        NOT NULL CHECK (visibility IN ('public', 'anonymous', 'private')),
    channel            text        NOT NULL,
    external_reference text        NOT NULL DEFAULT '',
    goal_id            text        REFERENCES goals (id),
    description        text        NOT NULL DEFAULT '',
    deposit_account    text        NOT NULL DEFAULT '',
    receive_time       timestamptz NOT NULL,
    transaction_id     uuid        REFERENCES transactions (id),
    recorder           text        NOT NULL DEFAULT '',
    create_time        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX donations_goal ON donations (goal_id, receive_time) WHERE goal_id IS NOT NULL;

CREATE TABLE tiers (
    id            text        PRIMARY KEY,
    display_name  text        NOT NULL,
    description   text        NOT NULL DEFAULT '',
    currency_code char(3)     NOT NULL,
    amount        bigint      NOT NULL CHECK (amount > 0),
    interval      text        NOT NULL CHECK (interval IN ('month', 'year')),
    create_time   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subscriptions (
    id              uuid        PRIMARY KEY,
    tier_id         text        REFERENCES tiers (id),
    subscriber      text        NOT NULL DEFAULT '',
    subscriber_name text        NOT NULL DEFAULT '',
    currency_code   char(3)     NOT NULL,
    amount          bigint      NOT NULL CHECK (amount > 0),
    interval        text        NOT NULL CHECK (interval IN ('month', 'year')),
    state           text        NOT NULL CHECK (state IN ('active', 'paused', 'cancelled')),
    next_due_date   date        NOT NULL,
    payment_count   int         NOT NULL DEFAULT 0,
    create_time     timestamptz NOT NULL DEFAULT now(),
    update_time     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_due ON subscriptions (next_due_date) WHERE state = 'active';

CREATE TABLE sponsorships (
    id            uuid        PRIMARY KEY,
    organisation  text        NOT NULL,
    package       text        NOT NULL DEFAULT '',
    kind          text        NOT NULL CHECK (kind IN ('sponsorship', 'advertising')),
    currency_code char(3)     NOT NULL,
    amount        bigint      NOT NULL CHECK (amount > 0),
    period        text        NOT NULL CHECK (period IN ('month', 'year')),
    start_date    date        NOT NULL,
    end_date      date,
    state         text        NOT NULL CHECK (state IN ('proposed', 'active', 'ended')),
    paid          bigint      NOT NULL DEFAULT 0,
    create_time   timestamptz NOT NULL DEFAULT now()
);

-- Payments of subscriptions and sponsorships: one row per posted entry.
CREATE TABLE payments (
    transaction_id  uuid PRIMARY KEY REFERENCES transactions (id),
    subscription_id uuid REFERENCES subscriptions (id),
    sponsorship_id  uuid REFERENCES sponsorships (id),
    CHECK ((subscription_id IS NULL) <> (sponsorship_id IS NULL))
);

CREATE TABLE expenses (
    id                uuid        PRIMARY KEY,
    payee             text        NOT NULL,
    category          text        NOT NULL REFERENCES accounts (id),
    currency_code     char(3)     NOT NULL,
    amount            bigint      NOT NULL CHECK (amount > 0),
    description       text        NOT NULL,
    invoice_reference text        NOT NULL DEFAULT '',
    state             text        NOT NULL CHECK (state IN ('submitted', 'approved', 'paid', 'rejected', 'cancelled')),
    submitter         text        NOT NULL,
    required_approvals int        NOT NULL,
    reject_reason     text        NOT NULL DEFAULT '',
    transaction_id    uuid        UNIQUE REFERENCES transactions (id),
    create_time       timestamptz NOT NULL DEFAULT now()
);

-- Every transition, with its actor and time; approvals are the 'approve'
-- rows, and one approver counts once.
CREATE TABLE expense_events (
    expense_id uuid        NOT NULL REFERENCES expenses (id),
    seq        int         NOT NULL,
    action     text        NOT NULL,
    actor      text        NOT NULL,
    time       timestamptz NOT NULL,
    state      text        NOT NULL,
    reason     text        NOT NULL DEFAULT '',
    PRIMARY KEY (expense_id, seq)
);
CREATE UNIQUE INDEX expense_one_approval_each ON expense_events (expense_id, actor) WHERE action = 'approve';

CREATE TABLE budgets (
    id            uuid        PRIMARY KEY,
    category      text        NOT NULL REFERENCES accounts (id),
    year          int         NOT NULL,
    currency_code char(3)     NOT NULL,
    planned       bigint      NOT NULL CHECK (planned >= 0),
    create_time   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (category, year)
);

CREATE TABLE outbox (
    id          bigserial   PRIMARY KEY,
    topic       text        NOT NULL,
    payload     bytea       NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE outbox, budgets, expense_events, expenses, payments, sponsorships, subscriptions, tiers, donations, goals;
DROP TABLE account_months, account_balances, postings, transactions;
DROP FUNCTION ledger_accumulate, ledger_check_balanced, ledger_immutable;
