// Package e2e drives Keydesk the way its users do: a real headless Chromium
// against the whole application, served in-process over HTTP on a fresh
// database (a SQLite file, or a PostgreSQL database when the tests run with
// KEYDESK_TEST_STORE=postgres; see store/pgtest). Its tests click and type
// through the flows the product contract promises; cmd/screenshots uses the
// same helpers to photograph the pages.
package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/chromedp/chromedp"

	"keydesk/handlers"
	"keydesk/store"
	"keydesk/store/engine"
	"keydesk/store/sqlstore"
)

// FindChrome is the browser to drive: $KEYDESK_CHROME when set, else the
// first of the usual Chromium and Chrome commands on PATH, else "".
func FindChrome() string {
	if p := os.Getenv("KEYDESK_CHROME"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// NewAllocator starts nothing yet: it returns a context from which the first
// chromedp.Do starts one headless Chromium at chromePath. The browser keeps
// its profile and temporary files under tmpDir and stays quiet on the
// network: no updates, sync, or background requests, so a test sees only
// the traffic it causes. The sandbox is off because tests run as root in
// containers, where Chromium refuses to start with it.
func NewAllocator(ctx context.Context, chromePath, tmpDir string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromePath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(filepath.Join(tmpDir, "chromium-profile")),
		chromedp.Env("TMPDIR="+tmpDir),
	)
	return chromedp.NewExecAllocator(ctx, opts...)
}

// StartApp serves the whole application in-process on the database dsn
// names (as --db takes it: a SQLite path or a PostgreSQL URL), created and
// migrated as `keydesk serve` would (with the store options given), with
// sign-up on. It returns the base URL (no trailing slash), the store for
// arranging data, and stop, which shuts the server down and closes the
// store.
func StartApp(ctx context.Context, dsn string, opts ...sqlstore.Option) (baseURL string, db *sqlstore.DB, stop func(), err error) {
	policy, err := DemoPolicy()
	if err != nil {
		return "", nil, nil, err
	}
	db, err = engine.Open(ctx, dsn, opts...)
	if err != nil {
		return "", nil, nil, err
	}
	key := make([]byte, 32)
	rand.Read(key)
	uses := handlers.NewUseRecorder(db, nil)
	h, err := handlers.New(handlers.Config{Store: db, SessionKeys: [][]byte{key}, Signup: true, Version: "test",
		Policy: policy, Uses: uses})
	if err != nil {
		db.Close()
		return "", nil, nil, fmt.Errorf("build app: %w", err)
	}
	srv := httptest.NewServer(h)
	// Key uses are written every 50 ms, so a page reloaded after a call
	// shows it.
	usesCtx, stopUses := context.WithCancel(context.Background())
	go uses.Run(usesCtx, 50*time.Millisecond)
	stop = func() {
		srv.Close()
		stopUses()
		uses.Flush(context.Background())
		db.Close()
	}
	return srv.URL, db, stop, nil
}

// Clock is a store's clock (sqlstore.WithClock(c.Now)): the real one, but
// set back while Back runs, to make an account or a key as if long ago.
type Clock struct {
	ago atomic.Int64 // how far back, in nanoseconds
}

func (c *Clock) Now() time.Time { return time.Now().Add(-time.Duration(c.ago.Load())) }

// Back runs f with the clock set back by ago. Whatever else reads the
// clock meanwhile (a page being served) reads it set back too.
func (c *Clock) Back(ago time.Duration, f func() error) error {
	c.ago.Store(int64(ago))
	defer c.ago.Store(0)
	return f()
}

// DemoPolicy is the key policy of `keydesk serve --demo`: Keydesk's own
// scopes and the demo platform's, no maximum lifetime.
func DemoPolicy() (store.KeyPolicy, error) {
	scopes, err := store.ParseScopes(store.DemoScopes)
	return store.KeyPolicy{Scopes: scopes}, err
}

// Account is a user to create for a test or a screenshot.
type Account struct {
	Name     string
	Email    string
	Password string
	Role     store.Role      // store.RoleUser when empty
	KYC      store.KYCStatus // store.KYCNotStarted when empty
}

// CreateUser creates a, as `keydesk user add` would, and returns the stored
// user.
func CreateUser(ctx context.Context, db *sqlstore.DB, a Account) (*store.User, error) {
	u, err := db.CreateUser(ctx,
		store.NewUser{Name: a.Name, Email: a.Email, PasswordHash: store.HashPassword(a.Password), Role: a.Role, KYCStatus: a.KYC},
		store.AuditEvent{Actor: "cli", Action: store.ActionUserCreated, Target: a.Email})
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", a.Email, err)
	}
	return u, nil
}
