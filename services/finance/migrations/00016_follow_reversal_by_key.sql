-- +goose Up
-- ledger_follow_reversal (00008) runs on every reversal and finds what the
-- reversed entry paid for by key, as the other ledger triggers do (00004).
-- A session caches its plans the first time it runs; planned while
-- payments and subscriptions were small, they scanned both whole, and kept
-- doing so as the tables grew until autovacuum analyzed them again: 2.8 ms
-- a reversal after a burst of ten thousand payments. Keys are all it needs.
ALTER FUNCTION ledger_follow_reversal() SET enable_seqscan = off;

-- +goose Down
ALTER FUNCTION ledger_follow_reversal() RESET enable_seqscan;
