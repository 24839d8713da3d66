-- Indexes for the audit log's filters, each ending in the (at, id) order
-- the log is paged by.
CREATE INDEX audit_events_actor_lower ON audit_events (lower(actor), at, id);
CREATE INDEX audit_events_action ON audit_events (action, at, id);
