-- name: GetNotificationSettings :one
-- A person's settings; a person without a row has every kind on (version 0).
SELECT p.id AS person_id, COALESCE(n.muted_kinds, '{}')::text[] AS muted_kinds,
       n.update_time, COALESCE(n.version, 0)::bigint AS version
FROM people p LEFT JOIN notification_settings n ON n.person_id = p.id
WHERE p.id = $1;

-- name: LockPersonForSettings :one
SELECT id FROM people WHERE id = $1 FOR UPDATE;

-- name: SaveNotificationSettings :one
INSERT INTO notification_settings (person_id, muted_kinds, update_time)
VALUES (sqlc.arg(person_id), sqlc.arg(muted_kinds)::text[], sqlc.arg(now))
ON CONFLICT (person_id) DO UPDATE
SET muted_kinds = EXCLUDED.muted_kinds, update_time = EXCLUDED.update_time,
    version = notification_settings.version + 1
RETURNING person_id, muted_kinds, update_time, version;

-- name: MuteNotificationKind :exec
-- Adds one kind to a person's muted kinds; a kind already muted, or a
-- person who is gone, changes nothing.
INSERT INTO notification_settings (person_id, muted_kinds, update_time)
SELECT p.id, ARRAY[sqlc.arg(kind)::text], sqlc.arg(now) FROM people p WHERE p.id = sqlc.arg(person_id)
ON CONFLICT (person_id) DO UPDATE
SET muted_kinds = notification_settings.muted_kinds || EXCLUDED.muted_kinds,
    update_time = EXCLUDED.update_time, version = notification_settings.version + 1
WHERE NOT (sqlc.arg(kind)::text = ANY (notification_settings.muted_kinds));

-- name: OptOutVolunteer :exec
INSERT INTO volunteer_mail_optouts (volunteer_id, time)
SELECT v.id, sqlc.arg(now) FROM volunteers v WHERE v.id = sqlc.arg(volunteer_id)
ON CONFLICT (volunteer_id) DO NOTHING;

-- name: GetVolunteerMailRecipient :one
SELECT v.id, v.display_name, v.contact, (o.volunteer_id IS NOT NULL)::boolean AS opted_out
FROM volunteers v LEFT JOIN volunteer_mail_optouts o ON o.volunteer_id = v.id
WHERE v.id = $1;
