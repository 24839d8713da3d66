package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"keydesk/store"
)

// accountState is what a Users-page action may change: the account's
// disabled flag and role, its KYC status, and the audit log's length.
type accountState struct {
	disabled bool
	role     store.Role
	kyc      store.KYCStatus
	events   int
}

func (f *adminFixture) accountState(t *testing.T, u *store.User) accountState {
	t.Helper()
	ctx := context.Background()
	got, err := f.ts.db.UserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := f.ts.db.AuditLog(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return accountState{disabled: got.Disabled, role: got.Role, kyc: got.KYCStatus, events: len(page.Events)}
}

// announced is the message an htmx answer asks the page to announce, "" for none.
func announced(t *testing.T, res response) string {
	t.Helper()
	h := res.Header.Get("HX-Trigger-After-Settle")
	if h == "" {
		return ""
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(h), &m); err != nil {
		t.Fatalf("HX-Trigger-After-Settle %q: %v", h, err)
	}
	return m["keydesk:announce"]
}

// TestAdminUserActionsAskFirst: disabling, enabling, making admin and
// revoking admin each answer first with a confirmation that names the
// account and the effect, with Cancel focused, and change nothing (no
// audit event either); only the post with confirm=yes changes the account,
// and then says so (announced for htmx, a flash after a plain post).
func TestAdminUserActionsAskFirst(t *testing.T) {
	f := newAdminFixture(t)
	// One key disabled: the disable question counts the 2 that work.
	f.user.post("/settings/api-keys/"+f.keys[1].PublicID+"/status", url.Values{"enabled": {"false"}})
	uid := f.owner.PublicID
	const who = "Uma User (uma@example.com)"
	steps := []struct {
		name, path, field, value string
		question, effect, button string
		danger                   bool
		changed                  func(accountState) bool
		notice                   string
	}{
		{name: "disable", path: "/disabled", field: "disabled", value: "true",
			question: "Disable " + who + "?",
			effect:   "They are signed out everywhere and cannot sign in, and all 2 of their working keys stop answering, until you enable them again.",
			button:   "Disable account", danger: true,
			changed: func(s accountState) bool { return s.disabled },
			notice:  who + " is disabled: signed out everywhere, and their keys stopped answering."},
		{name: "enable", path: "/disabled", field: "disabled", value: "false",
			question: "Enable " + who + "?", effect: "They can sign in again, and each of their keys goes back to its own status",
			button:  "Enable account",
			changed: func(s accountState) bool { return !s.disabled },
			notice:  who + " is enabled."},
		{name: "make admin", path: "/role", field: "role", value: "admin",
			question: "Make " + who + " an admin?", effect: "They can review every user&#39;s keys and the audit log",
			button:  "Make admin",
			changed: func(s accountState) bool { return s.role == store.RoleAdmin },
			notice:  who + " is now an admin."},
		{name: "revoke admin", path: "/role", field: "role", value: "user",
			question: "Revoke admin from " + who + "?", effect: "They lose the Admin pages at once",
			button: "Revoke admin", danger: true,
			changed: func(s accountState) bool { return s.role == store.RoleUser },
			notice:  who + " is no longer an admin."},
	}
	htmx := map[string]string{"HX-Request": "true"}
	for i, st := range steps {
		// Alternate: htmx for one step, plain posts for the next, and the
		// other way round for the other half, so each path does each kind.
		for _, viaHTMX := range []bool{i%2 == 0, i%2 != 0} {
			path := "/admin/users/" + uid + st.path
			mode := map[bool]string{true: "htmx", false: "plain"}[viaHTMX]
			t.Run(st.name+" via "+mode, func(t *testing.T) {
				before := f.accountState(t, f.owner)
				if st.changed(before) {
					// The other path already made this change: undo it, confirmed.
					undo := map[string]string{"true": "false", "false": "true", "admin": "user", "user": "admin"}[st.value]
					assertStatus(t, f.admin.post(path, url.Values{st.field: {undo}, "confirm": {"yes"}}), http.StatusSeeOther)
					before = f.accountState(t, f.owner)
				}
				var headers map[string]string
				if viaHTMX {
					headers = htmx
				}
				form := url.Values{st.field: {st.value}, "return": {"/admin/users?q=uma"}}
				ask := f.admin.do("POST", path, form, headers)
				assertStatus(t, ask, http.StatusOK)
				assertContains(t, ask, st.question, st.effect, ">"+st.button+"</button>",
					`name="confirm" value="yes"`, `name="`+st.field+`" value="`+st.value+`"`, `data-cancel autofocus`,
					`href="/admin/users?q=uma"`)
				if st.danger != strings.Contains(ask.body, "button--danger") {
					t.Errorf("the confirming button is red: %v, want %v", !st.danger, st.danger)
				}
				if viaHTMX {
					assertContains(t, ask, `<tr id="user-`+uid+`" class="row-form`, `hx-select="#user-`+uid+`"`)
					assertLacks(t, ask, "<html")
				} else {
					assertContains(t, ask, "<html", `<h1 id="confirm-heading"`)
				}
				if got := announced(t, ask); got != "" {
					t.Errorf("the question announces %q, a change that did not happen", got)
				}
				if after := f.accountState(t, f.owner); after != before {
					t.Fatalf("asking changed the account: %+v, then %+v", before, after)
				}

				form.Set("confirm", "yes")
				done := f.admin.do("POST", path, form, headers)
				after := f.accountState(t, f.owner)
				if !st.changed(after) || after.events != before.events+1 {
					t.Errorf("confirmed, the account is %+v (before %+v), want the change and one audit event", after, before)
				}
				if viaHTMX {
					assertStatus(t, done, http.StatusOK)
					assertContains(t, done, `<tr id="user-`+uid+`">`)
					if got := announced(t, done); got != st.notice {
						t.Errorf("announced %q, want %q", got, st.notice)
					}
				} else {
					assertStatus(t, done, http.StatusSeeOther)
					if loc := done.Header.Get("Location"); loc != "/admin/users?q=uma" {
						t.Errorf("back to %q, want the page it came from", loc)
					}
					assertContains(t, f.admin.get("/admin/users?q=uma"), `<div class="flash" role="status">`+st.notice+`</div>`)
				}
			})
		}
	}

	t.Run("not an admin: 404 asking and confirming, and nothing changes", func(t *testing.T) {
		f.user.login("uma@example.com", "uma-password") // the steps above disabled her, ending her session
		other := f.ts.createUser(t, "Olga Other", "olga@example.com", "olga-password", store.RoleUser)
		before := f.accountState(t, other)
		for _, p := range []struct{ path, field, value string }{
			{"/disabled", "disabled", "true"}, {"/role", "role", "admin"}, {"/kyc", "status", "rejected"},
		} {
			for _, confirm := range []string{"", "yes"} {
				for _, headers := range []map[string]string{nil, htmx} {
					res := f.user.do("POST", "/admin/users/"+other.PublicID+p.path,
						url.Values{p.field: {p.value}, "confirm": {confirm}}, headers)
					assertStatus(t, res, http.StatusNotFound)
					assertLacks(t, res, "Olga Other")
				}
			}
		}
		if after := f.accountState(t, other); after != before {
			t.Errorf("a non-admin's posts changed the account: %+v, then %+v", before, after)
		}
	})

	t.Run("a bad value is refused before any question", func(t *testing.T) {
		res := f.admin.do("POST", "/admin/users/"+uid+"/disabled", url.Values{"disabled": {"maybe"}}, htmx)
		assertStatus(t, res, http.StatusUnprocessableEntity)
		assertContains(t, res, "Choose one of the listed values.")
		assertLacks(t, res, "Disable account")
	})
}

// TestAdminDisableQuestionCountsKeys: the question says how many of the
// account's keys stop answering, and speaks to the admin about their own
// account.
func TestAdminDisableQuestionCountsKeys(t *testing.T) {
	for _, tc := range []struct {
		working int
		self    bool
		want    string
	}{
		{0, false, "They are signed out everywhere and cannot sign in until you enable them again."},
		{1, false, "They are signed out everywhere and cannot sign in, and their 1 working key stops answering, until you enable them again."},
		{3, false, "They are signed out everywhere and cannot sign in, and all 3 of their working keys stop answering, until you enable them again."},
		{2, true, "You are signed out everywhere and cannot sign in, and all 2 of your working keys stop answering, until another admin enables you again."},
	} {
		if got := disableEffect(tc.working, tc.self); got != tc.want {
			t.Errorf("disableEffect(%d, %v) = %q, want %q", tc.working, tc.self, got, tc.want)
		}
	}
}

// TestAdminSetKYCAnnounces: KYC status is set at once (no question), and
// the answer announces the account, the new status and the old; setting
// the status it already has says so and records nothing.
func TestAdminSetKYCAnnounces(t *testing.T) {
	f := newAdminFixture(t)
	uid := f.owner.PublicID
	htmx := map[string]string{"HX-Request": "true"}
	before := f.accountState(t, f.owner)
	res := f.admin.do("POST", "/admin/users/"+uid+"/kyc", url.Values{"status": {"pending"}}, htmx)
	assertStatus(t, res, http.StatusOK)
	assertContains(t, res, `id="kyc-set-`+uid+`"`, `<option value="pending" selected>`)
	want := "KYC status of Uma User (uma@example.com) set to Pending (was " + before.kyc.Label() + ")."
	if got := announced(t, res); got != want {
		t.Errorf("announced %q, want %q", got, want)
	}
	after := f.accountState(t, f.owner)
	if after.kyc != store.KYCPending || after.events != before.events+1 {
		t.Errorf("after Set: %+v, want Pending and one event (before %+v)", after, before)
	}

	res = f.admin.do("POST", "/admin/users/"+uid+"/kyc", url.Values{"status": {"pending"}}, htmx)
	if got, want := announced(t, res), "KYC status of Uma User (uma@example.com) is already Pending."; got != want {
		t.Errorf("announced %q, want %q", got, want)
	}
	if again := f.accountState(t, f.owner); again != after {
		t.Errorf("setting the same status changed %+v to %+v", after, again)
	}

	res = f.admin.post("/admin/users/"+uid+"/kyc", url.Values{"status": {"verified"}, "return": {"/admin/users"}})
	assertStatus(t, res, http.StatusSeeOther)
	assertContains(t, f.admin.get("/admin/users"), "KYC status of Uma User (uma@example.com) set to Verified (was Pending).")
}
