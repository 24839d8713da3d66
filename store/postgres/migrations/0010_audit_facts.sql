-- An audit event's facts: what it was about as it was when it happened (the
-- key's name and last 4, the owner's and the actor's names, each change's
-- before and after), as JSON, so that its sentence stays true after a key
-- is renamed or deleted. NULL in events written before this migration.
ALTER TABLE audit_events ADD COLUMN facts TEXT COLLATE "C";

-- One key's history (/admin/audit?key=…): its events are those whose target
-- is its id, newest first, in the (at, id) order the log pages on.
CREATE INDEX audit_events_target ON audit_events (target, at, id);
