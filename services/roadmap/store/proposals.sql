-- name: GetProposal :one
SELECT * FROM proposals WHERE id = $1;

-- name: GetProposalForUpdate :one
SELECT * FROM proposals WHERE id = $1 FOR UPDATE;

-- name: GetProposalCreator :one
SELECT creator FROM proposals WHERE id = $1;

-- name: GetProposalEligibleTeam :one
SELECT eligible_team FROM proposals WHERE id = $1;

-- name: ListProposals :many
SELECT * FROM proposals
WHERE (sqlc.narg(before)::text IS NULL OR id < sqlc.narg(before)::text)
ORDER BY id DESC
LIMIT sqlc.arg(page_size);

-- name: CreateProposal :one
INSERT INTO proposals (id, question, background, options, method, eligible_team, quorum_votes, quorum_share,
    open_time, close_time, linked_items, linked_releases, outcome, review_date, hide_tally_until_close, creator)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
RETURNING *;

-- name: UpdateProposal :one
UPDATE proposals
SET question = $2, background = $3, options = $4, method = $5, eligible_team = $6, quorum_votes = $7,
    quorum_share = $8, open_time = $9, close_time = $10, linked_items = $11, linked_releases = $12,
    outcome = $13, review_date = $14, hide_tally_until_close = $15, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: OpenProposal :one
UPDATE proposals
SET state = 'open', open_time = $2, eligible_count = $3, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: CloseProposal :one
UPDATE proposals
SET state = 'closed', close_time = $2, frozen_tally = $3, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeleteProposal :exec
DELETE FROM proposals WHERE id = $1;

-- name: UpsertProposalVote :one
INSERT INTO proposal_votes (proposal_id, person, choices, reason, create_time, update_time)
VALUES ($1, $2, $3, $4, $5, $5)
ON CONFLICT (proposal_id, person) DO UPDATE
SET choices = excluded.choices, reason = excluded.reason, update_time = excluded.update_time
RETURNING *;

-- name: GetProposalVote :one
SELECT * FROM proposal_votes WHERE proposal_id = $1 AND person = $2;

-- name: ListProposalVotes :many
SELECT * FROM proposal_votes
WHERE proposal_id = $1 AND person > sqlc.arg(after)
  AND (sqlc.narg(only_person)::text IS NULL OR person = sqlc.narg(only_person)::text)
ORDER BY person
LIMIT sqlc.arg(page_size);

-- name: ProposalChoices :many
SELECT choices FROM proposal_votes WHERE proposal_id = $1;

-- name: LinkedProposals :many
-- Proposals past their draft that link items or releases, for the roadmap
-- page: open ones and closed decisions alike, latest close first.
SELECT id, question, state, close_time, outcome, review_date, linked_items, linked_releases FROM proposals
WHERE state <> 'draft' AND (linked_items <> '{}' OR linked_releases <> '{}')
ORDER BY close_time DESC NULLS LAST, id DESC;

-- name: ListProposalsDueForReview :many
-- Proposals to look at again by a date, soonest review first.
SELECT * FROM proposals
WHERE review_date <= sqlc.arg(due_by)::date
  AND (sqlc.narg(after_date)::date IS NULL OR (review_date, id) > (sqlc.narg(after_date)::date, sqlc.arg(after_id)::text))
ORDER BY review_date, id
LIMIT sqlc.arg(page_size);

-- name: ExistingItems :many
SELECT id FROM items WHERE id = ANY(sqlc.arg(ids)::text[]);

-- name: ExistingReleases :many
SELECT id FROM releases WHERE id = ANY(sqlc.arg(ids)::text[]);

-- name: ProposalsChoices :many
-- The votes of several proposals at once, for a page of tallies.
SELECT proposal_id, choices FROM proposal_votes WHERE proposal_id = ANY(sqlc.arg(ids)::text[]);

-- name: ClaimDueProposals :many
-- OPEN proposals whose close time has passed and that nobody froze yet,
-- locked so replicas (and readers freezing on read) share them.
SELECT * FROM proposals
WHERE state = 'open' AND close_time <= sqlc.arg(now)::timestamptz
ORDER BY close_time, id
LIMIT sqlc.arg(max_count)
FOR UPDATE SKIP LOCKED;

-- name: AnnounceClosingProposals :many
-- OPEN proposals whose voting closes within the window, not yet announced;
-- each is announced once.
UPDATE proposals AS p SET closing_announced = true
WHERE p.id IN (
    SELECT c.id FROM proposals AS c
    WHERE c.state = 'open' AND NOT c.closing_announced
      AND c.close_time > sqlc.arg(now)::timestamptz AND c.close_time <= sqlc.arg(until)::timestamptz
    ORDER BY c.close_time, c.id
    LIMIT sqlc.arg(max_count)
    FOR UPDATE SKIP LOCKED)
RETURNING p.id, p.question, p.eligible_team, p.close_time;
