package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"keydesk/store"
)

// Each event keeps the facts of its moment: the key's name and last 4, the
// actor's and owner's names, each change before and after. They stay true
// after the key is renamed and deleted, and never hold the key.
func testAuditFactsRoundTrip(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	ada, err := db.CreateUser(ctx, store.NewUser{Name: "Ada Admin", Email: "ada@example.com", PasswordHash: "x", Role: store.RoleAdmin}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	dana := mustCreateUser(t, db, "Dana Demo", "dana@example.com")
	byDana := store.AuditEvent{Actor: dana.Email, ActorID: dana.ID, SubjectID: dana.ID}
	byAda := store.AuditEvent{Actor: ada.Email, ActorID: ada.ID}
	act := func(ev store.AuditEvent, action string) store.AuditEvent { ev.Action = action; return ev }

	k, secret, err := db.CreateKey(ctx, dana.ID, store.NewKey{Name: "CI deploy"}, act(byDana, store.ActionKeyCreated))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.AdminSetKeyEnabled(ctx, k.PublicID, false, act(byAda, store.ActionKeyDisabled)); err != nil {
		t.Fatal(err)
	}
	newName := "CI deploy (old)"
	if _, err := db.UpdateKey(ctx, dana.ID, k.PublicID, store.KeyUpdate{Name: &newName}, act(byDana, store.ActionKeyEdited)); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteKey(ctx, dana.ID, k.PublicID, act(byDana, store.ActionKeyDeleted)); err != nil {
		t.Fatal(err)
	}
	kyc := store.KYCVerified
	adaOn := func(action string) store.AuditEvent { ev := act(byAda, action); ev.SubjectID = dana.ID; return ev }
	if _, err := db.UpdateUser(ctx, dana.ID, store.UserUpdate{KYCStatus: &kyc}, adaOn(store.ActionKYCChanged)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserRole(ctx, dana.ID, store.RoleAdmin, adaOn(store.ActionRoleChanged)); err != nil {
		t.Fatal(err)
	}
	if err := db.SetUserDisabled(ctx, dana.ID, true, adaOn(store.ActionUserDisabled)); err != nil {
		t.Fatal(err)
	}
	name := "Dana D."
	if _, err := db.UpdateUser(ctx, dana.ID, store.UserUpdate{Name: &name}, act(byDana, store.ActionNameChanged)); err != nil {
		t.Fatal(err)
	}

	page, err := db.AuditLog(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.AuditEvent{}
	for _, e := range page.Events {
		if e.Facts == nil {
			t.Fatalf("event %s was read back without facts", e.Action)
		}
		got[e.Action] = e
	}
	keyOf := func(e store.AuditEvent) string { return e.Facts.KeyName + " …" + e.Facts.KeyLast4 }
	for _, c := range []struct {
		action, actor, subject, key string
		changes                     []store.AuditChange
	}{
		{store.ActionKeyCreated, "Dana Demo", "Dana Demo", "CI deploy …" + k.Last4, nil},
		{store.ActionKeyDisabled, "Ada Admin", "Dana Demo", "CI deploy …" + k.Last4,
			[]store.AuditChange{change(store.FieldStatus, store.FactEnabled, store.FactDisabledByAdmin)}},
		{store.ActionKeyEdited, "Dana Demo", "Dana Demo", newName + " …" + k.Last4,
			[]store.AuditChange{change(store.FieldName, "CI deploy", newName)}},
		{store.ActionKeyDeleted, "Dana Demo", "Dana Demo", newName + " …" + k.Last4, nil},
		{store.ActionKYCChanged, "Ada Admin", "Dana Demo", " …",
			[]store.AuditChange{change(store.FieldKYC, string(store.KYCNotStarted), string(store.KYCVerified))}},
		{store.ActionRoleChanged, "Ada Admin", "Dana Demo", " …",
			[]store.AuditChange{change(store.FieldRole, string(store.RoleUser), string(store.RoleAdmin))}},
		{store.ActionUserDisabled, "Ada Admin", "Dana Demo", " …",
			[]store.AuditChange{change(store.FieldStatus, store.FactEnabled, store.FactDisabled)}},
		// Names are read after the change: the new one.
		{store.ActionNameChanged, "Dana D.", "Dana D.", " …",
			[]store.AuditChange{change(store.FieldName, "Dana Demo", "Dana D.")}},
	} {
		e, ok := got[c.action]
		if !ok {
			t.Errorf("no %s event", c.action)
			continue
		}
		if e.Facts.ActorName != c.actor || e.Facts.SubjectName != c.subject || keyOf(e) != c.key ||
			!slices.Equal(e.Facts.Changes, c.changes) || e.Facts.SubjectEmail != "dana@example.com" {
			t.Errorf("%s facts = %+v\nwant actor %q, subject %q, key %q, changes %+v", c.action, *e.Facts, c.actor, c.subject, c.key, c.changes)
		}
	}
	// Today the key is gone and Dana has another name; the events still
	// say what was true, and only Current says what is.
	if e := got[store.ActionKeyCreated]; e.Current.KeyName != "" || e.Current.SubjectName != "Dana D." {
		t.Errorf("key.created Current = %+v, want no key (deleted) and the subject's name today", e.Current)
	}

	var leaked int
	if err := peek(t, db, `SELECT count(*) FROM audit_events WHERE facts LIKE ? OR facts LIKE ?`,
		"%"+secret+"%", "%"+secret[4:20]+"%").Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("%d events hold the key in their facts (%v)", leaked, err)
	}
}

// An event written before facts were kept reads back without them, and
// with what its rows say today.
func testAuditEventWithoutFacts(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	dana := mustCreateUser(t, db, "Dana Demo", "dana@example.com")
	k, _, err := db.CreateKey(ctx, dana.ID, store.NewKey{Name: "Nightly"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	write, _ := db.Pools()
	if _, err := write.ExecContext(ctx, db.Rebind(`INSERT INTO audit_events (at, actor_id, actor, action, subject_id, target)
		VALUES (?, ?, ?, ?, ?, ?)`), db.Now().UnixMilli(), dana.ID, dana.Email, store.ActionKeyDisabled, dana.ID, k.PublicID); err != nil {
		t.Fatal(err)
	}
	page, err := db.AuditLog(ctx, store.AuditFilter{Key: k.PublicID})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("AuditLog = %+v, %v", page, err)
	}
	e := page.Events[0]
	want := store.AuditFacts{ActorName: "Dana Demo", SubjectName: "Dana Demo", SubjectEmail: "dana@example.com", KeyName: "Nightly", KeyLast4: k.Last4}
	if e.Facts != nil || !equalFacts(e.Current, want) {
		t.Errorf("an event without facts: Facts %+v, Current %+v; want no facts and Current %+v", e.Facts, e.Current, want)
	}
}

func equalFacts(a, b store.AuditFacts) bool {
	return a.ActorName == b.ActorName && a.SubjectName == b.SubjectName && a.SubjectEmail == b.SubjectEmail &&
		a.KeyName == b.KeyName && a.KeyLast4 == b.KeyLast4 && slices.Equal(a.Changes, b.Changes)
}

// The key filter lists only that key's events, newest first, paged by the
// log's cursor with nothing repeated or missed; an unknown key lists none.
func testAuditKeyFilterPages(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	dana := mustCreateUser(t, db, "Dana Demo", "dana@example.com")
	ev := func(action string) store.AuditEvent {
		return store.AuditEvent{Actor: dana.Email, ActorID: dana.ID, SubjectID: dana.ID, Action: action}
	}
	mine, _, err := db.CreateKey(ctx, dana.ID, store.NewKey{Name: "Mine"}, ev(store.ActionKeyCreated))
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := db.CreateKey(ctx, dana.ID, store.NewKey{Name: "Other"}, ev(store.ActionKeyCreated))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		for _, k := range []*store.APIKey{mine, other} {
			action := map[bool]string{true: store.ActionKeyEnabled, false: store.ActionKeyDisabled}[i%2 == 1]
			if _, err := db.SetKeyEnabled(ctx, dana.ID, k.PublicID, i%2 == 1, ev(action)); err != nil {
				t.Fatal(err)
			}
		}
	}
	f := store.AuditFilter{Key: mine.PublicID, Limit: 3}
	var ids []int64
	var sizes []int
	for {
		page, err := db.AuditLog(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(page.Events))
		for _, e := range page.Events {
			if e.Target != mine.PublicID {
				t.Errorf("event %d of %s in the history of %s", e.ID, e.Target, mine.PublicID)
			}
			if n := len(ids); n > 0 && e.ID >= ids[n-1] {
				t.Errorf("event %d after %d: not newest first", e.ID, ids[n-1])
			}
			ids = append(ids, e.ID)
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	if !slices.Equal(sizes, []int{3, 3, 1}) {
		t.Errorf("pages of %v events, want [3 3 1] (7 events: created and 6 toggles)", sizes)
	}
	for _, unknown := range []string{"key_0000000000000000", "dana@example.com", strings.Repeat("x", 300)} {
		page, err := db.AuditLog(ctx, store.AuditFilter{Key: unknown})
		if err != nil || len(page.Events) != 0 || page.Next != "" {
			t.Errorf("history of %.20q = %d events, next %q, %v; want none", unknown, len(page.Events), page.Next, err)
		}
	}
}

func change(field, before, after string) store.AuditChange {
	return store.AuditChange{Field: field, Before: before, After: after}
}
