package store

import "time"

// AuditFilter selects a page of the audit log, newest first.
type AuditFilter struct {
	Actor  string    // the actor as shown (an email, "cli"), any case
	Action string    // exact action, e.g. "key.disabled"
	Key    string    // a key's public id: only the events about that key
	From   time.Time // inclusive; zero: no bound
	Until  time.Time // exclusive; zero: no bound
	After  string    // the Next cursor of the previous page
	Limit  int       // InventoryPageSize when 0
}

// AuditPage is one page of events; Next is empty on the last.
type AuditPage struct {
	Events []AuditEvent
	Next   string
}
