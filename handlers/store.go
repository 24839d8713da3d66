package handlers

import (
	"context"
	"time"

	"keydesk/store"
)

// Store is what the HTTP layer needs from the store: the methods it calls,
// and nothing else. sqlstore.DB implements it, on SQLite and (to come)
// PostgreSQL; the methods' promises are store/storetest's contract.
type Store interface {
	// Now is the store's clock, in UTC, to the millisecond it keeps.
	Now() time.Time
	Ping(ctx context.Context) error
	// Changes is the count of every change a page may show, which the
	// page cache keeps copies under; an error: keep none.
	Changes(ctx context.Context) (uint64, error)

	// Accounts.
	CreateUser(ctx context.Context, nu store.NewUser, ev store.AuditEvent) (*store.User, error)
	UserByEmail(ctx context.Context, email string) (*store.User, error)
	UserByID(ctx context.Context, id int64) (*store.User, error)
	UserByPublicID(ctx context.Context, publicID string) (*store.User, error)
	UpdateUser(ctx context.Context, id int64, upd store.UserUpdate, ev store.AuditEvent) (*store.User, error)
	SetPassword(ctx context.Context, userID int64, hash, keepSession string, ev store.AuditEvent) error
	SetUserDisabled(ctx context.Context, id int64, disabled bool, ev store.AuditEvent) error
	SetUserRole(ctx context.Context, id int64, role store.Role, ev store.AuditEvent) error
	Users(ctx context.Context, f store.UserFilter) (store.UserPage, error)

	// Passwords, through the store's bounded hash queue.
	HashPassword(ctx context.Context, password string) (string, error)
	CheckPassword(ctx context.Context, hash, password string) error
	CheckDummyPassword(ctx context.Context, password string) error

	// Sign-in attempts.
	ClaimLoginAttempt(ctx context.Context, email, ip, device string, lim store.LoginLimits) (*store.LoginAttempt, error)
	ClaimAddressAttempt(ctx context.Context, ip string, limit int, window time.Duration) error
	LoginSucceeded(ctx context.Context, a *store.LoginAttempt) error
	ReleaseLoginAttempt(ctx context.Context, a *store.LoginAttempt) error

	// Sessions.
	CreateSession(ctx context.Context, s *store.Session, ev store.AuditEvent) error
	SessionWithUser(ctx context.Context, idHash string) (*store.Session, *store.User, error)
	UpdateSessionData(ctx context.Context, idHash string, data []byte) error
	TouchSession(ctx context.Context, idHash, ip, userAgent string) error
	DeleteSession(ctx context.Context, idHash string, ev store.AuditEvent) error
	DeleteOtherSessions(ctx context.Context, userID int64, keep string, ev store.AuditEvent) (int64, error)
	DeleteUserSession(ctx context.Context, userID int64, idHash string, ev store.AuditEvent) error
	ActiveSessions(ctx context.Context, userID int64, idleSince time.Time) ([]*store.Session, error)

	// Keys, as their owner.
	CreateKey(ctx context.Context, userID int64, nk store.NewKey, ev store.AuditEvent) (*store.APIKey, string, error)
	KeysForUser(ctx context.Context, userID int64) ([]*store.APIKey, error)
	KeyForUser(ctx context.Context, userID int64, publicID string) (*store.APIKey, error)
	SetKeyEnabled(ctx context.Context, userID int64, publicID string, enabled bool, ev store.AuditEvent) (*store.APIKey, error)
	UpdateKey(ctx context.Context, userID int64, publicID string, upd store.KeyUpdate, ev store.AuditEvent) (*store.APIKey, error)
	DeleteKey(ctx context.Context, userID int64, publicID string, ev store.AuditEvent) error
	RegenerateKey(ctx context.Context, userID int64, publicID string, overlap time.Duration, expiresAt time.Time, ev store.AuditEvent) (*store.APIKey, string, error)
	EndOverlap(ctx context.Context, userID int64, publicID string, ev store.AuditEvent) (*store.APIKey, error)
	FindKey(ctx context.Context, hash string) (store.KeyMatch, error)

	// Keys' recent use; RecordKeyUses is UseRecorder's.
	UseWriter
	RecentKeyUses(ctx context.Context, keyID int64) ([]store.KeyUse, error)
	KeyUseDays(ctx context.Context, keyID int64, since, now time.Time) ([]store.KeyUseDay, error)

	// Keys and the log, as an admin.
	KeyInventory(ctx context.Context, f store.InventoryFilter) (store.InventoryPage, error)
	AdminSetKeyEnabled(ctx context.Context, publicID string, enabled bool, ev store.AuditEvent) (*store.APIKey, error)
	AdminDisableKeys(ctx context.Context, publicIDs []string, ev store.AuditEvent) (int, error)
	RecordAudit(ctx context.Context, e store.AuditEvent) error
	AuditLog(ctx context.Context, f store.AuditFilter) (store.AuditPage, error)
}
