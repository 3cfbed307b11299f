-- +goose Up
-- Mail about submitted expenses, stale items and proposals starts with the
-- events logged from this upgrade on. The notifier's cursor stands at the
-- last event it mailed about (drift, volunteers): without this mark it would
-- mail the history of the newly mailed types logged since then, such as
-- expenses long approved, as news. The notifier reads the mark by its name.
INSERT INTO notify_cursor (name, seq) SELECT 'mail-since:expenses-items-proposals', COALESCE(max(seq), 0) FROM events
ON CONFLICT (name) DO NOTHING;

-- +goose Down
DELETE FROM notify_cursor WHERE name = 'mail-since:expenses-items-proposals';
