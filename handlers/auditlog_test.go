package handlers

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"keydesk/store"
)

// summaryRe finds each event's sentence on the audit log.
var summaryRe = regexp.MustCompile(`(?s)<summary>(.*?)</summary>`)

// auditSentences are the sentences of an audit log page, as text, newest
// first.
func auditSentences(body string) []string {
	tags := regexp.MustCompile(`<[^>]*>`)
	var out []string
	for _, m := range summaryRe.FindAllStringSubmatch(body, -1) {
		out = append(out, strings.Join(strings.Fields(html.UnescapeString(tags.ReplaceAllString(m[1], ""))), " "))
	}
	return out
}

// Each action the code records reads as a sentence on the audit log:
// do it through HTTP (or the store, for the CLI), then find its sentence.
func TestAuditLogSentences(t *testing.T) {
	f := newAdminFixture(t)
	ctx := context.Background()
	uma, admin := f.owner, f.admin
	bob := f.ts.createUser(t, "Bob Builder", "bob@example.com", "bob-password", store.RoleUser)
	deploy, analytics := f.keys[0], f.keys[2]
	mask := func(k *store.APIKey) string { return store.MaskKey(k.Last4) }
	var captured string // what a scenario reads before it acts

	for _, sc := range []struct {
		name string
		act  func(t *testing.T)
		want func() string // read after act: some facts (a new key's last 4) exist only then
	}{
		{"sign-in", func(t *testing.T) {
			f.ts.client(t).login("bob@example.com", "bob-password")
		}, func() string { return "Bob Builder signed in" }},
		{"failed sign-in, known account", func(t *testing.T) {
			f.ts.client(t).post("/login", url.Values{"email": {"bob@example.com"}, "password": {"wrong-password"}})
		}, func() string { return "Someone failed to sign in as Bob Builder" }},
		{"failed sign-in, unknown account", func(t *testing.T) {
			f.ts.client(t).post("/login", url.Values{"email": {"nobody@example.com"}, "password": {"wrong-password"}})
		}, func() string { return "Someone failed to sign in to an unknown account" }},
		{"owner disables a key", func(t *testing.T) {
			f.user.post("/settings/api-keys/"+analytics.PublicID+"/status", url.Values{"enabled": {"false"}})
		}, func() string { return "Uma User disabled key “Analytics” (" + mask(analytics) + ")" }},
		{"admin disables a key", func(t *testing.T) {
			admin.post("/admin/api-keys/"+deploy.PublicID+"/status", url.Values{"enabled": {"false"}})
		}, func() string { return "Ada Admin disabled key “Deploy bot” (" + mask(deploy) + ") of Uma User" }},
		{"admin enables a key", func(t *testing.T) {
			admin.post("/admin/api-keys/"+deploy.PublicID+"/status", url.Values{"enabled": {"true"}})
		}, func() string { return "Ada Admin enabled key “Deploy bot” (" + mask(deploy) + ") of Uma User" }},
		{"bulk disable", func(t *testing.T) {
			admin.post("/admin/api-keys/disable", url.Values{"id": {deploy.PublicID}, "confirm": {"yes"}})
		}, func() string { return "Ada Admin disabled key “Deploy bot” (" + mask(deploy) + ") of Uma User" }},
		{"owner renames a key", func(t *testing.T) {
			f.user.post("/settings/api-keys/"+analytics.PublicID+"/edit", url.Values{"name": {"Metrics"}, "description": {"d"}})
		}, func() string {
			return "Uma User renamed key “Analytics” (" + mask(analytics) + ") to “Metrics”"
		}},
		{"owner changes a description", func(t *testing.T) {
			f.user.post("/settings/api-keys/"+analytics.PublicID+"/edit", url.Values{"name": {"Metrics"}, "description": {"new"}})
		}, func() string {
			return "Uma User changed the description of key “Metrics” (" + mask(analytics) + ")"
		}},
		{"owner creates a key", func(t *testing.T) {
			f.user.post("/settings/api-keys", url.Values{"name": {"CI deploy"}, "description": {"d"}, "action": {"confirm"}})
		}, func() string {
			return "Uma User created key “CI deploy” (" + mask(f.keyNamed(t, "CI deploy")) + ")"
		}},
		{"the CLI creates a key", func(t *testing.T) {
			if _, _, err := f.ts.db.CreateKey(ctx, uma.ID, store.NewKey{Name: "From CLI"},
				store.AuditEvent{Actor: "cli", Action: store.ActionKeyCreated, SubjectID: uma.ID}); err != nil {
				t.Fatal(err)
			}
		}, func() string {
			return "The CLI created key “From CLI” (" + mask(f.keyNamed(t, "From CLI")) + ") for Uma User"
		}},
		{"owner regenerates a key", func(t *testing.T) {
			k := f.keyNamed(t, "CI deploy")
			captured = k.Last4
			f.user.post("/settings/api-keys/"+k.PublicID+"/regenerate", url.Values{"overlap": {"24h"}, "expires_in": {"30"}})
		}, func() string {
			return "Uma User regenerated key “CI deploy”: kdk_…" + captured + " → " + mask(f.keyNamed(t, "CI deploy"))
		}},
		{"owner stops the old secret", func(t *testing.T) {
			f.user.post("/settings/api-keys/"+f.keyNamed(t, "CI deploy").PublicID+"/end-overlap", nil)
		}, func() string {
			return "Uma User stopped the old secret of key “CI deploy” (" + mask(f.keyNamed(t, "CI deploy")) + ")"
		}},
		{"owner deletes a key", func(t *testing.T) {
			captured = mask(f.keyNamed(t, "CI deploy"))
			f.user.post("/settings/api-keys/"+f.keyNamed(t, "CI deploy").PublicID+"/delete", nil)
		}, func() string { return "Uma User deleted key “CI deploy” (" + captured + ")" }},
		{"admin sets KYC", func(t *testing.T) {
			admin.post("/admin/users/"+uma.PublicID+"/kyc", url.Values{"status": {"pending"}})
		}, func() string { return "Ada Admin changed Uma User's KYC status from Verified to Pending" }},
		{"the CLI sets KYC", func(t *testing.T) {
			kyc := store.KYCRejected
			if _, err := f.ts.db.UpdateUser(ctx, bob.ID, store.UserUpdate{KYCStatus: &kyc},
				store.AuditEvent{Actor: "cli", Action: store.ActionKYCChanged, SubjectID: bob.ID, Target: bob.Email}); err != nil {
				t.Fatal(err)
			}
		}, func() string { return "The CLI changed Bob Builder's KYC status from Verified to Rejected" }},
		{"admin grants the admin role", func(t *testing.T) {
			admin.post("/admin/users/"+bob.PublicID+"/role", url.Values{"role": {"admin"}, "confirm": {"yes"}})
		}, func() string { return "Ada Admin made Bob Builder an admin" }},
		{"admin revokes the admin role", func(t *testing.T) {
			admin.post("/admin/users/"+bob.PublicID+"/role", url.Values{"role": {"user"}, "confirm": {"yes"}})
		}, func() string { return "Ada Admin revoked Bob Builder's admin role" }},
		{"admin disables an account", func(t *testing.T) {
			admin.post("/admin/users/"+bob.PublicID+"/disabled", url.Values{"disabled": {"true"}, "confirm": {"yes"}})
		}, func() string { return "Ada Admin disabled Bob Builder's account" }},
		{"admin enables an account", func(t *testing.T) {
			admin.post("/admin/users/"+bob.PublicID+"/disabled", url.Values{"disabled": {"false"}, "confirm": {"yes"}})
		}, func() string { return "Ada Admin enabled Bob Builder's account" }},
		{"user renames themselves", func(t *testing.T) {
			f.user.post("/settings/profile", url.Values{"name": {"Uma Ulm"}})
		}, func() string { return "Uma Ulm changed their name from “Uma User” to “Uma Ulm”" }},
		{"user signs out other sessions", func(t *testing.T) {
			f.user.post("/settings/sessions/revoke-others", nil)
		}, func() string { return "Uma Ulm signed out their other sessions" }},
		{"user changes their password", func(t *testing.T) {
			f.user.post("/settings/password", url.Values{"current_password": {"uma-password"},
				"new_password": {"brand-new-secret"}, "confirm_password": {"brand-new-secret"}})
		}, func() string { return "Uma Ulm changed their password" }},
		{"user signs out", func(t *testing.T) {
			f.user.post("/logout", nil)
		}, func() string { return "Uma Ulm signed out" }},
		{"the CLI creates an account", func(t *testing.T) {
			if _, err := f.ts.db.CreateUser(ctx, store.NewUser{Name: "Cleo CLI", Email: "cleo@example.com", PasswordHash: "x"},
				store.AuditEvent{Actor: "cli", Action: store.ActionUserCreated, Target: "cleo@example.com"}); err != nil {
				t.Fatal(err)
			}
		}, func() string { return "The CLI created the account of Cleo CLI" }},
		{"the email migration keeps an address", func(t *testing.T) {
			if err := f.ts.db.RecordAudit(ctx, store.AuditEvent{Actor: "migration", Action: store.ActionEmailKept,
				SubjectID: bob.ID, Target: bob.PublicID}); err != nil {
				t.Fatal(err)
			}
		}, func() string { return "A migration kept Bob Builder's email as it was stored" }},
	} {
		t.Run(sc.name, func(t *testing.T) {
			sc.act(t)
			want := sc.want()
			res := admin.get("/admin/audit")
			assertStatus(t, res, http.StatusOK)
			got := auditSentences(res.body)
			if len(got) == 0 || got[0] != want {
				t.Errorf("newest sentence is %q, want %q\n(all: %q)", first(got), want, got)
			}
		})
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// keyNamed is the owner's key of that name, read now.
func (f *adminFixture) keyNamed(t *testing.T, name string) *store.APIKey {
	t.Helper()
	keys, err := f.ts.db.KeysForUser(context.Background(), f.owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k *store.APIKey) bool { return k.Name == name })
	if i < 0 {
		t.Fatalf("no key named %q", name)
	}
	return keys[i]
}

// /admin/audit?key= is that key's history: its events only, newest first,
// paged with the log's cursor, named by the key; an unknown or malformed
// id is an empty history, and others than admins get 404.
func TestAuditKeyHistory(t *testing.T) {
	f := newAdminFixture(t)
	deploy, other := f.keys[0], f.keys[2]
	for i := range 60 {
		for _, k := range []*store.APIKey{deploy, other} {
			f.admin.post("/admin/api-keys/"+k.PublicID+"/status", url.Values{"enabled": {map[bool]string{true: "true", false: "false"}[i%2 == 1]}})
		}
	}
	history := "/admin/audit?key=" + deploy.PublicID
	res := f.admin.get(history)
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, "History of key “Deploy bot” ("+store.MaskKey(deploy.Last4)+")", "Next page",
		`<input type="hidden" name="key" value="`+deploy.PublicID+`"`)
	seen := 0
	for page := res; ; {
		for _, s := range auditSentences(page.body) {
			if !strings.Contains(s, "“Deploy bot”") {
				t.Errorf("the history of Deploy bot holds %q", s)
			}
			seen++
		}
		i := strings.Index(page.body, `href="/admin/audit?after=`)
		if i < 0 {
			break
		}
		next := page.body[i+len(`href="`):]
		next = strings.ReplaceAll(next[:strings.IndexByte(next, '"')], "&amp;", "&")
		if !strings.Contains(next, "key="+deploy.PublicID) {
			t.Fatalf("the next page %q lost the key", next)
		}
		page = f.admin.get(next)
		assertStatus(t, page, http.StatusOK)
	}
	if seen != 60 {
		t.Errorf("the history paged through %d events, want the key's 60", seen)
	}

	for _, id := range []string{"key_0000000000000000", "uma@example.com", "<script>", strings.Repeat("k", 2000)} {
		res := f.admin.get("/admin/audit?key=" + url.QueryEscape(id))
		assertStatus(t, res, http.StatusOK)
		assertContains(t, res, "No events of this key match.")
		assertLacks(t, res, "<script>")
	}
	assertStatus(t, f.user.get(history), http.StatusNotFound)
	assertStatus(t, f.ts.client(t).get(history), http.StatusNotFound)

	// The key's admin page and its inventory row link to the history.
	assertContains(t, f.admin.get("/admin/api-keys/"+deploy.PublicID), `href="`+history+`"`)
	assertContains(t, f.admin.get("/admin/api-keys"), `href="`+history+`"`)
}

// Names are people's text: a key or account named with HTML shows as that
// text, in the sentence and the detail, and no page of the log holds a key.
func TestAuditLogEscapesNames(t *testing.T) {
	f := newAdminFixture(t)
	evil := `<img src=x onerror=alert(1)>`
	f.user.post("/settings/profile", url.Values{"name": {"Uma " + evil}})
	f.user.post("/settings/api-keys/"+f.keys[0].PublicID+"/edit", url.Values{"name": {"k" + evil}, "description": {evil}})
	f.admin.post("/admin/api-keys/"+f.keys[0].PublicID+"/status", url.Values{"enabled": {"false"}})
	res := f.admin.get("/admin/audit")
	assertStatus(t, res, http.StatusOK)
	assertLacks(t, res, evil)
	assertContains(t, res, html.EscapeString(evil))
	if got := first(auditSentences(res.body)); !strings.Contains(got, "disabled key “k"+evil+"”") {
		t.Errorf("newest sentence %q, want the key's name as text", got)
	}
	for _, s := range f.secrets {
		assertLacks(t, res, s, s[len(s)-12:])
	}
}

// An event written before events kept facts still reads as a sentence,
// from what its rows say today, and says that it does.
func TestAuditLogEventWithoutFacts(t *testing.T) {
	f := newAdminFixture(t)
	k := f.keys[0]
	if _, err := f.ts.raw(t).Exec(f.ts.db.Rebind(`INSERT INTO audit_events (at, actor_id, actor, action, subject_id, target, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`), f.ts.db.Now().UnixMilli()+1000, f.owner.ID, f.owner.Email, store.ActionKeyDisabled, f.owner.ID, k.PublicID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ts.raw(t).Exec(f.ts.db.Rebind(`INSERT INTO audit_events (at, actor, action, subject_id, target, detail)
		VALUES (?, ?, ?, ?, ?, ?)`), f.ts.db.Now().UnixMilli()+2000, "cli", store.ActionRoleChanged, f.owner.ID, f.owner.Email, "role: user → admin"); err != nil {
		t.Fatal(err)
	}
	res := f.admin.get("/admin/audit")
	got := auditSentences(res.body)
	want := []string{"The CLI made Uma User an admin", "Uma User disabled key “Deploy bot” (" + store.MaskKey(k.Last4) + ")"}
	if len(got) < 2 || !slices.Equal(got[:2], want) {
		t.Errorf("sentences %q, want first %q", got, want)
	}
	assertContains(t, res, "names are today")
}

// A sign-up reads as its new account's; two people of one name on a page
// are told apart by their emails, and a name no one else has stands alone.
func TestAuditLogNamesPeopleApart(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.Signup = true })
	ts.createUser(t, "Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin)
	admin := ts.client(t)
	admin.login("admin@example.com", "admin-password")
	assertStatus(t, ts.client(t).post("/signup", url.Values{"name": {"Sam Lee"}, "email": {"sam@example.com"}, "password": {"sam-password-1"}}), 303)
	got := auditSentences(admin.get("/admin/audit").body)
	if want := []string{"Sam Lee signed in", "Sam Lee signed up"}; len(got) < 2 || !slices.Equal(got[:2], want) {
		t.Errorf("sentences %q, want first %q", got, want)
	}
	other := ts.createUser(t, "Sam Lee", "sam.lee@example.org", "sam-password-2", store.RoleUser)
	ts.client(t).login(other.Email, "sam-password-2")
	got = auditSentences(admin.get("/admin/audit").body)
	for _, want := range []string{"Sam Lee (sam.lee@example.org) signed in", "Sam Lee (sam@example.com) signed up", "Ada Admin signed in"} {
		if !slices.Contains(got, want) {
			t.Errorf("no sentence %q among %q", want, got)
		}
	}
}
