-- +goose Up
-- Every foreign key that is looked up, or whose parent rows can be deleted,
-- has an index leading with its columns (app's TestForeignKeysIndexed).
-- Without these, each reversal scanned every donation twice (the lookup of
-- the gift it refunds, and ledger_follow_reversal's update), and each
-- sponsorship payment scanned every payment (sponsorship_paid): write cost
-- that grew with the books.
CREATE INDEX donations_transaction ON donations (transaction_id) WHERE transaction_id IS NOT NULL;
CREATE INDEX payments_subscription ON payments (subscription_id) WHERE subscription_id IS NOT NULL;
CREATE INDEX payments_sponsorship ON payments (sponsorship_id) WHERE sponsorship_id IS NOT NULL;
-- Deleting a tier or an account checks these (and DeleteTier counts subscriptions).
CREATE INDEX subscriptions_tier ON subscriptions (tier_id) WHERE tier_id IS NOT NULL;
CREATE INDEX goals_fund_account ON goals (fund_account) WHERE fund_account IS NOT NULL;
CREATE INDEX expenses_category ON expenses (category);

-- +goose Down
DROP INDEX expenses_category;
DROP INDEX goals_fund_account;
DROP INDEX subscriptions_tier;
DROP INDEX payments_sponsorship;
DROP INDEX payments_subscription;
DROP INDEX donations_transaction;
