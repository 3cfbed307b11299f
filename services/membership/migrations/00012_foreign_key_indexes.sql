-- +goose Up
-- Every foreign key that is looked up, or whose parent rows can be deleted,
-- has an index leading with its columns (app's TestForeignKeysIndexed):
-- erasing a person or deleting a team checks each of these, and drift reads
-- positions by who fills them.
CREATE INDEX teams_parent ON teams (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX positions_filled_by ON positions (filled_by) WHERE filled_by IS NOT NULL;
CREATE INDEX volunteers_person ON volunteers (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX package_adoptions_person ON package_adoptions (person_id);
CREATE INDEX sign_in_codes_person ON sign_in_codes (person_id) WHERE person_id IS NOT NULL;

-- +goose Down
DROP INDEX sign_in_codes_person;
DROP INDEX package_adoptions_person;
DROP INDEX volunteers_person;
DROP INDEX positions_filled_by;
DROP INDEX teams_parent;
