package store

import "time"

// Session is a signed-in browser. IDHash is the SHA-256 of the session id in
// the cookie; the id itself is never stored.
type Session struct {
	IDHash     string
	UserID     int64
	Data       []byte // the session's other values, encoded by the HTTP layer
	IP         string
	UserAgent  string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute end, whatever the activity
}
