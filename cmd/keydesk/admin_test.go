package main

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"keydesk/store"
	"keydesk/store/sqlite"
	"keydesk/store/sqlstore"
)

// adminFixture is a database file with accounts made through the store,
// which the commands under test open on their own, as a second process would.
type adminFixture struct {
	path string
	db   *sqlstore.DB
}

func newAdminFixture(t *testing.T) *adminFixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &adminFixture{path: path, db: db}
}

func (f *adminFixture) user(t *testing.T, email string, role store.Role) *store.User {
	t.Helper()
	u, err := f.db.CreateUser(context.Background(), store.NewUser{Name: email, Email: email, PasswordHash: "x", Role: role}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *adminFixture) key(t *testing.T, u *store.User, name string) (*store.APIKey, string) {
	t.Helper()
	k, secret, err := f.db.CreateKey(context.Background(), u.ID, store.NewKey{Name: name, Description: ""}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	return k, secret
}

func (f *adminFixture) reload(t *testing.T, u *store.User) *store.User {
	t.Helper()
	got, err := f.db.UserByID(context.Background(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *adminFixture) lastEvent(t *testing.T) store.AuditEvent {
	t.Helper()
	auditPage, err := f.db.AuditLog(context.Background(), store.AuditFilter{Limit: 1})
	events := auditPage.Events
	if err != nil || len(events) == 0 {
		t.Fatalf("audit events: %d, %v", len(events), err)
	}
	return events[0]
}

func (f *adminFixture) eventCount(t *testing.T) int {
	t.Helper()
	auditPage, err := f.db.AuditLog(context.Background(), store.AuditFilter{Limit: 1000})
	events := auditPage.Events
	if err != nil {
		t.Fatal(err)
	}
	return len(events)
}

func TestUserSetKYC(t *testing.T) {
	f := newAdminFixture(t)
	u := f.user(t, "uma@example.com", store.RoleUser)

	for _, tc := range []struct {
		status string
		want   store.KYCStatus
		detail string
	}{
		{"verified", store.KYCVerified, "kyc: Not started → Verified"},
		{"PENDING", store.KYCPending, "kyc: Verified → Pending"},
		{"Not started", store.KYCNotStarted, "kyc: Pending → Not started"},
		{"rejected", store.KYCRejected, "kyc: Not started → Rejected"},
		{"not-started", store.KYCNotStarted, "kyc: Rejected → Not started"},
		{"Verified", store.KYCVerified, "kyc: Not started → Verified"},
		{"not_started", store.KYCNotStarted, "kyc: Verified → Not started"},
	} {
		t.Run(tc.status, func(t *testing.T) {
			out, _, err := runCmd(t, "", "user", "set-kyc", "--db", f.path, "--email", "UMA@example.com", "--status", tc.status)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tc.want.Label()) {
				t.Errorf("output %q does not name %s", out, tc.want.Label())
			}
			if got := f.reload(t, u).KYCStatus; got != tc.want {
				t.Errorf("KYC status %q, want %q", got, tc.want)
			}
			ev := f.lastEvent(t)
			if ev.Action != store.ActionKYCChanged || ev.Actor != "cli" || ev.SubjectID != u.ID || ev.Detail != tc.detail {
				t.Errorf("audit event %+v, want %s by cli about user %d with detail %q", ev, store.ActionKYCChanged, u.ID, tc.detail)
			}
		})
	}

	t.Run("the same status changes nothing", func(t *testing.T) {
		before := f.eventCount(t)
		out, _, err := runCmd(t, "", "user", "set-kyc", "--db", f.path, "--email", u.Email, "--status", "not started")
		if err != nil || !strings.Contains(out, "already") {
			t.Errorf("out %q, err %v", out, err)
		}
		if after := f.eventCount(t); after != before {
			t.Errorf("%d audit events recorded for no change", after-before)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown status", []string{"--email", u.Email, "--status", "approved"}, 2, "verified, pending, not_started, rejected"},
		{"no status", []string{"--email", u.Email}, 2, "--email and --status are required"},
		{"no email", []string{"--status", "verified"}, 2, "--email and --status are required"},
		{"stray argument", []string{"--email", u.Email, "--status", "verified", "extra"}, 2, `unexpected argument "extra"`},
		{"unknown email", []string{"--email", "nobody@example.com", "--status", "verified"}, 1, "no account with email nobody@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := f.eventCount(t)
			_, _, err := runCmd(t, "", append([]string{"user", "set-kyc", "--db", f.path}, tc.args...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
			if got := f.reload(t, u).KYCStatus; got != store.KYCNotStarted {
				t.Errorf("a failed command changed the status to %q", got)
			}
			if after := f.eventCount(t); after != before {
				t.Errorf("a failed command recorded %d audit events", after-before)
			}
		})
	}
}

func TestUserDisableAndEnable(t *testing.T) {
	ctx := context.Background()
	f := newAdminFixture(t)
	f.user(t, "admin@example.com", store.RoleAdmin)
	u := f.user(t, "uma@example.com", store.RoleUser)
	_, onSecret := f.key(t, u, "deploy bot")
	off, offSecret := f.key(t, u, "old laptop")
	if _, err := f.db.SetKeyEnabled(ctx, u.ID, off.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	session := &store.Session{IDHash: "session-hash", UserID: u.ID, ExpiresAt: f.db.Now().Add(time.Hour)}
	if err := f.db.CreateSession(ctx, session, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	authenticates := func(secret string) bool {
		t.Helper()
		_, _, err := f.db.AuthenticateKey(ctx, store.HashKey(secret))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	if !authenticates(onSecret) || authenticates(offSecret) {
		t.Fatal("the keys do not start enabled and disabled")
	}

	if _, _, err := runCmd(t, "", "user", "disable", "--db", f.path, "--email", "Uma@Example.com"); err != nil {
		t.Fatal(err)
	}
	if !f.reload(t, u).Disabled {
		t.Error("the user is not disabled")
	}
	if authenticates(onSecret) {
		t.Error("a disabled user's key still authenticates")
	}
	if _, err := f.db.Session(ctx, session.IDHash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the user's session survived the disable: %v", err)
	}
	if ev := f.lastEvent(t); ev.Action != store.ActionUserDisabled || ev.Actor != "cli" || ev.SubjectID != u.ID {
		t.Errorf("audit event %+v", ev)
	}

	if _, _, err := runCmd(t, "", "user", "enable", "--db", f.path, "--email", u.Email); err != nil {
		t.Fatal(err)
	}
	if f.reload(t, u).Disabled {
		t.Error("the user is still disabled")
	}
	if !authenticates(onSecret) {
		t.Error("the key that was enabled did not come back")
	}
	if authenticates(offSecret) {
		t.Error("the key that was disabled came back enabled")
	}
	if ev := f.lastEvent(t); ev.Action != store.ActionUserEnabled || ev.Actor != "cli" || ev.SubjectID != u.ID {
		t.Errorf("audit event %+v", ev)
	}

	t.Run("enabling an enabled user changes nothing", func(t *testing.T) {
		before := f.eventCount(t)
		out, _, err := runCmd(t, "", "user", "enable", "--db", f.path, "--email", u.Email)
		if err != nil || !strings.Contains(out, "already enabled") {
			t.Errorf("out %q, err %v", out, err)
		}
		if after := f.eventCount(t); after != before {
			t.Errorf("%d audit events recorded for no change", after-before)
		}
	})

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no email", []string{"disable"}, 2, "--email is required"},
		{"unknown flag", []string{"enable", "--email", u.Email, "--force"}, 2, "flag provided but not defined"},
		{"unknown email", []string{"disable", "--email", "nobody@example.com"}, 1, "no account with email nobody@example.com"},
		{"the last admin", []string{"disable", "--email", "admin@example.com"}, 1, "last active admin"},
		{"unknown subcommand", []string{"delete", "--email", u.Email}, 2, "usage"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runCmd(t, "", append([]string{"user"}, append(tc.args, "--db", f.path)...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
		})
	}
	admin, err := f.db.UserByEmail(ctx, "admin@example.com")
	if err != nil || admin.Disabled {
		t.Errorf("the last admin was disabled: %+v, %v", admin, err)
	}
}

func TestKeysList(t *testing.T) {
	ctx := context.Background()
	f := newAdminFixture(t)
	zed := f.user(t, "Zed@example.com", store.RoleUser)
	amy := f.user(t, "amy@example.com", store.RoleUser)
	f.user(t, "keyless@example.com", store.RoleUser)
	zedKey, zedSecret := f.key(t, zed, "zed's\tkey")
	amyOld, amyOldSecret := f.key(t, amy, "ci")
	amyNew, amyNewSecret := f.key(t, amy, "laptop")
	if _, err := f.db.SetKeyEnabled(ctx, amy.ID, amyOld.PublicID, false, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}
	used := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	if _, err := f.db.TouchKey(ctx, amyNew.ID, "192.0.2.1", used, used); err != nil {
		t.Fatal(err)
	}
	secrets := []string{zedSecret, amyOldSecret, amyNewSecret}

	// rowsOf splits the table into its cells: tabwriter pads with spaces,
	// so cells are runs separated by two or more.
	rowsOf := func(t *testing.T, out string) [][]string {
		t.Helper()
		var rows [][]string
		for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
			rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
		}
		return rows
	}
	header := []string{"ID", "OWNER", "NAME", "STATUS", "KEY", "LAST USED", "CREATED", "EXPIRES", "SCOPES"}
	// row is a key's expected line; its KEY cell is worked out from the
	// full key, so the test checks the mask, not the store's own Masked.
	row := func(k *store.APIKey, secret, owner, name, status, lastUsed string) []string {
		// Keys made without scopes or expiry, as before contract v2.
		return []string{k.PublicID, owner, name, status, "kdk_…" + secret[len(secret)-4:], lastUsed, k.CreatedAt.Format(time.RFC3339),
			"never", "all"}
	}

	for _, tc := range []struct {
		name string
		args []string
		want [][]string
	}{
		{"every user's keys, by owner email then newest first", nil, [][]string{
			header,
			row(amyNew, amyNewSecret, "amy@example.com", "laptop", "enabled", used.Format(time.RFC3339)),
			row(amyOld, amyOldSecret, "amy@example.com", "ci", "disabled", "never"),
			row(zedKey, zedSecret, "zed@example.com", "zed's key", "enabled", "never"), // stored in canonical form
		}},
		{"one user's keys", []string{"--email", "AMY@example.com"}, [][]string{
			header,
			row(amyNew, amyNewSecret, "amy@example.com", "laptop", "enabled", used.Format(time.RFC3339)),
			row(amyOld, amyOldSecret, "amy@example.com", "ci", "disabled", "never"),
		}},
		{"a user without keys", []string{"--email", "keyless@example.com"}, [][]string{header}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCmd(t, "", append([]string{"keys", "list", "--db", f.path}, tc.args...)...)
			if err != nil {
				t.Fatal(err)
			}
			got := rowsOf(t, out)
			if len(got) != len(tc.want) {
				t.Fatalf("%d rows, want %d:\n%s", len(got), len(tc.want), out)
			}
			for i := range got {
				if strings.Join(got[i], "|") != strings.Join(tc.want[i], "|") {
					t.Errorf("row %d:\n got %q\nwant %q", i, got[i], tc.want[i])
				}
			}
			for _, secret := range secrets {
				if strings.Contains(out, secret) || strings.Contains(out, store.HashKey(secret)) {
					t.Errorf("the output holds a key or its hash:\n%s", out)
				}
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"unknown email", []string{"--email", "nobody@example.com"}, 1, "no account with email nobody@example.com"},
		{"unknown flag", []string{"--all"}, 2, "flag provided but not defined"},
		{"stray argument", []string{"amy@example.com"}, 2, `unexpected argument "amy@example.com"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := runCmd(t, "", append([]string{"keys", "list", "--db", f.path}, tc.args...)...)
			if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
			if out != "" {
				t.Errorf("a failed list printed %q", out)
			}
		})
	}
}

func TestParseKYCStatus(t *testing.T) {
	for in, want := range map[string]store.KYCStatus{
		"verified": store.KYCVerified, " Pending ": store.KYCPending, "NOT_STARTED": store.KYCNotStarted,
		"not-started": store.KYCNotStarted, "Not started": store.KYCNotStarted, "Rejected": store.KYCRejected,
		"": "", "approved": "", "notstarted": "", "not__started": "",
	} {
		got, ok := parseKYCStatus(in)
		if got != want || ok != (want != "") {
			t.Errorf("parseKYCStatus(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
