-- A key an admin disabled stays disabled for its owner until an admin
-- enables it: the owner's switch cannot undo an admin's containment of a
-- leaked key. Set by an admin's disable, cleared by an admin's enable; the
-- owner's own disable leaves it as it is.
ALTER TABLE api_keys ADD COLUMN disabled_by_admin INTEGER NOT NULL DEFAULT 0
    CHECK (disabled_by_admin IN (0, 1));
