-- name: GetItem :one
SELECT * FROM items WHERE id = $1;

-- name: GetItemForUpdate :one
SELECT * FROM items WHERE id = $1 FOR UPDATE;

-- name: GetItemOwners :one
SELECT owner_team, owner_people FROM items WHERE id = $1;

-- name: CreateItem :one
INSERT INTO items (id, title, description, release_id, state, priority, owner_team, owner_people, tags, last_update_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING *;

-- name: UpdateItem :one
UPDATE items
SET title = $2, description = $3, release_id = $4, state = $5, priority = $6, owner_team = $7,
    owner_people = $8, tags = $9, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: DeleteItem :exec
DELETE FROM items WHERE id = $1;

-- name: AddItemVote :execrows
INSERT INTO item_votes (item_id, person, create_time) VALUES ($1, $2, $3)
ON CONFLICT DO NOTHING;

-- name: RemoveItemVote :execrows
DELETE FROM item_votes WHERE item_id = $1 AND person = $2;

-- name: AdjustVoteCount :one
UPDATE items SET vote_count = vote_count + sqlc.arg(delta)::integer WHERE id = $1 RETURNING *;

-- name: CountVoteOnOpenItem :one
-- Counts a new vote unless the item is finished. The row lock this UPDATE
-- takes re-checks the state after any concurrent status update commits, so
-- no vote lands on an item that became DONE or DECLINED meanwhile.
UPDATE items SET vote_count = vote_count + 1
WHERE id = $1 AND state NOT IN ('done', 'declined')
RETURNING *;

-- name: ListItemVoters :many
SELECT person, create_time FROM item_votes
WHERE item_id = $1 AND person > sqlc.arg(after)
ORDER BY person
LIMIT sqlc.arg(page_size);

-- name: SetItemStatus :one
UPDATE items
SET state = $2, last_update_time = $3, update_time = now(), version = version + 1
WHERE id = $1
RETURNING *;

-- name: AllItems :many
-- Every item for the roadmap page, which lists titles: descriptions (up to
-- 10,000 characters each) are left in the table and come with GetItem.
SELECT id, title, ''::text AS description, release_id, state, priority, owner_team, owner_people, tags,
    vote_count, last_update_time, create_time, update_time, version, stale_announced_for
FROM items ORDER BY priority DESC, vote_count DESC, id;

-- name: AnnounceStaleItems :many
-- IN_PROGRESS items without a status update since before the cutoff, not
-- yet announced for their last update; each is announced once per stretch.
UPDATE items AS i SET stale_announced_for = i.last_update_time
WHERE i.id IN (
    SELECT c.id FROM items AS c
    WHERE c.state = 'in_progress' AND c.last_update_time <= sqlc.arg(cutoff)
      AND c.stale_announced_for IS DISTINCT FROM c.last_update_time
    ORDER BY c.id
    LIMIT sqlc.arg(max_count)
    FOR UPDATE SKIP LOCKED)
RETURNING i.id, i.owner_team, i.owner_people, i.last_update_time;
