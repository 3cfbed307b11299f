-- +goose Up
-- The start of the period (UTC; 0001-01-01 for a one-off goal) whose
-- reaching of the target was announced: the finance.goals job announces
-- each goal once per period (internal/events GoalReached).
ALTER TABLE goals ADD COLUMN reached_for timestamptz;

-- +goose Down
ALTER TABLE goals DROP COLUMN reached_for;
