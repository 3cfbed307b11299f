-- +goose Up
-- The ledger triggers look rows up by key. A session caches their plans the
-- first time they run, and on a new database, before autovacuum has analyzed
-- the growing tables, those plans scan whole tables: every entry then costs
-- more than the one before, until the next analyze. Keys are all they need.
ALTER FUNCTION ledger_check_balanced() SET enable_seqscan = off;
ALTER FUNCTION ledger_accumulate() SET enable_seqscan = off;

-- +goose Down
ALTER FUNCTION ledger_accumulate() RESET enable_seqscan;
ALTER FUNCTION ledger_check_balanced() RESET enable_seqscan;
