-- +goose Up
-- Whether the roadmap.proposals job announced that voting closes within a
-- day (internal/events ProposalClosingSoon): once per proposal.
ALTER TABLE proposals ADD COLUMN closing_announced boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE proposals DROP COLUMN closing_announced;
