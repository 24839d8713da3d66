package handlers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"keydesk/store"
	"keydesk/views"
)

// auditActionLabels are the audit log's actions as its filter names them.
var auditActionLabels = map[string]string{
	store.ActionLogin:           "Signed in",
	store.ActionLoginFailed:     "Sign-in failed",
	store.ActionLogout:          "Signed out",
	store.ActionSignup:          "Signed up",
	store.ActionUserCreated:     "Account created",
	store.ActionNameChanged:     "Name changed",
	store.ActionPasswordChanged: "Password changed",
	store.ActionSessionsRevoked: "Other sessions signed out",
	store.ActionKYCChanged:      "KYC status changed",
	store.ActionUserDisabled:    "Account disabled",
	store.ActionUserEnabled:     "Account enabled",
	store.ActionRoleChanged:     "Admin role granted or revoked",
	store.ActionKeyCreated:      "Key created",
	store.ActionKeyEnabled:      "Key enabled",
	store.ActionKeyDisabled:     "Key disabled",
	store.ActionKeyEdited:       "Key edited",
	store.ActionKeyDeleted:      "Key deleted",
	store.ActionKeyRegenerated:  "Key regenerated",
	store.ActionKeyOverlapEnd:   "Key's old secret stopped",
}

// auditActionOptions are auditActions with their labels.
func auditActionOptions() []views.AuditAction {
	out := make([]views.AuditAction, len(auditActions))
	for i, a := range auditActions {
		out[i] = views.AuditAction{Code: a, Label: auditActionLabels[a]}
	}
	return out
}

// auditRows are a page of events as the log shows them. A name that two
// people on the page share is followed by the email, so each reads as one
// person.
func auditRows(events []store.AuditEvent, now time.Time) []views.AuditRow {
	emails := map[string]map[string]bool{}
	note := func(p person) {
		if p.name == "" || p.email == "" {
			return
		}
		if emails[p.name] == nil {
			emails[p.name] = map[string]bool{}
		}
		emails[p.name][p.email] = true
	}
	// Each event's entry is made once, for both passes.
	entries := make([]auditEntry, len(events))
	for i := range events {
		entries[i].init(&events[i])
		note(entries[i].actor)
		note(entries[i].subject)
	}
	ambiguous := func(name string) bool { return len(emails[name]) > 1 }
	rows := make([]views.AuditRow, len(events))
	for i := range entries {
		ae, e := &entries[i], &events[i]
		ae.ambiguous = ambiguous
		rows[i] = views.AuditRow{
			At: views.NewTime(e.At, now), Sentence: ae.sentence(), Action: e.Action, Facts: ae.details(), IP: orDefault(e.IP, "—"),
		}
	}
	return rows
}

// person is an actor or subject as an event knows them.
type person struct {
	id          int64
	name, email string
	// as is what a non-user actor is shown as ("The CLI").
	as string
}

// auditEntry is one event with its facts, or, for an event written
// before facts were kept, what the rows say today.
type auditEntry struct {
	e               store.AuditEvent
	facts           store.AuditFacts
	actor, subject  person
	keyName, last4  string
	ambiguous       func(name string) bool
	fromTodaysNames bool
}

func newAuditEntry(e store.AuditEvent) *auditEntry {
	a := &auditEntry{}
	a.init(&e)
	return a
}

// noneAmbiguous is an entry's ambiguous until auditRows knows the page.
func noneAmbiguous(string) bool { return false }

// init fills a in from e.
func (a *auditEntry) init(ep *store.AuditEvent) {
	e := *ep
	*a = auditEntry{e: e, facts: e.Current, ambiguous: noneAmbiguous}
	if e.Facts != nil {
		a.facts = *e.Facts
		// A fact the event lacks (a subject it was written without) is
		// taken from today's rows.
		orNow := func(dst *string, now string) {
			if *dst == "" {
				*dst = now
			}
		}
		orNow(&a.facts.ActorName, e.Current.ActorName)
		orNow(&a.facts.SubjectName, e.Current.SubjectName)
		orNow(&a.facts.SubjectEmail, e.Current.SubjectEmail)
	} else {
		a.fromTodaysNames = true
	}
	a.actor = person{id: e.ActorID, name: a.facts.ActorName}
	if e.ActorID != 0 {
		a.actor.email = e.Actor
	} else {
		a.actor.as = nonUserActor(e.Actor)
	}
	a.subject = person{id: e.SubjectID, name: a.facts.SubjectName, email: a.facts.SubjectEmail}
	if a.subject.email == "" && strings.Contains(e.Target, "@") {
		a.subject.email = e.Target // an account event's target is its email
	}
	if e.Action == store.ActionSignup && a.subject.email == "" {
		a.subject.email = e.Actor
	}
	a.keyName, a.last4 = a.facts.KeyName, a.facts.KeyLast4
}

// nonUserActor is how an actor that is not an account reads.
func nonUserActor(actor string) string {
	switch actor {
	case "cli":
		return "The CLI"
	case "demo seed":
		return "The demo seed"
	case "migration":
		return "A migration"
	case "":
		return "Someone"
	}
	return actor
}

// label is how p reads in a sentence: the name, with the email when the
// name is missing or shared on the page.
func (a *auditEntry) label(p person) string {
	switch {
	case p.as != "":
		return p.as
	case p.name == "" && p.email == "":
		return "someone"
	case p.name == "":
		return p.email
	case a.ambiguous(p.name) && p.email != "":
		return p.name + " (" + p.email + ")"
	}
	return p.name
}

// self reports whether the actor acted on their own account or key.
func (a *auditEntry) self() bool {
	return a.actor.id != 0 && a.actor.id == a.subject.id
}

// words builds a sentence.
type words []views.Phrase

func (w *words) text(s string) *words {
	*w = append(*w, views.Phrase{Text: s})
	return w
}

func (w *words) name(s string) *words {
	*w = append(*w, views.Phrase{Text: s, Kind: views.PhraseName})
	return w
}

func (w *words) code(s string) *words {
	*w = append(*w, views.Phrase{Text: s, Kind: views.PhraseCode})
	return w
}

// whose is "their" when the actor acts on themselves, else the subject's
// name with 's.
func (a *auditEntry) whose(w *words) *words {
	if a.self() {
		return w.text(" their")
	}
	return w.text(" ").name(a.label(a.subject)).text("'s")
}

// key is `key “name” (kdk_…abcd)`, the name the key had per the event; a
// key the event does not name is shown by its id.
func (a *auditEntry) key(w *words, name, last4 string) *words {
	if name == "" {
		return w.text(" key ").code(a.e.Target)
	}
	w.text(" key “").name(name).text("”")
	if last4 != "" {
		w.text(" (").code(store.MaskKey(last4)).text(")")
	}
	return w
}

// ofOwner is " of <owner>" for a key event by someone else than its owner.
func (a *auditEntry) ofOwner(w *words, prep string) *words {
	if a.self() || (a.subject.name == "" && a.subject.email == "") {
		return w
	}
	return w.text(" " + prep + " ").name(a.label(a.subject))
}

// change is the event's change of field: from its facts, or for an event
// without them from its detail ("kyc: Pending → Verified").
func (a *auditEntry) change(field, detailPrefix string) (store.AuditChange, bool) {
	if c, ok := a.facts.Change(field); ok {
		return c, true
	}
	if detailPrefix == "" {
		return store.AuditChange{}, false
	}
	rest, ok := strings.CutPrefix(a.e.Detail, detailPrefix+": ")
	if !ok {
		return store.AuditChange{}, false
	}
	before, after, ok := strings.Cut(rest, " → ")
	return store.AuditChange{Field: field, Before: before, After: after}, ok
}

// sentence is what happened, in words.
func (a *auditEntry) sentence() []views.Phrase {
	ws := make(words, 0, 8) // most sentences have up to 8 pieces
	w := &ws
	w.name(a.label(a.actor))
	e := a.e
	switch e.Action {
	case store.ActionLogin:
		w.text(" signed in")
	case store.ActionLoginFailed:
		*w = nil
		if e.ActorID == 0 {
			w.text("Someone failed to sign in to an unknown account")
		} else {
			w.text("Someone failed to sign in as ").name(a.label(a.actor))
		}
	case store.ActionLogout:
		w.text(" signed out")
	case store.ActionSignup:
		*w = nil
		w.name(a.label(a.subject)).text(" signed up")
	case store.ActionUserCreated:
		w.text(" created the account of ").name(a.label(a.subject))
	case store.ActionNameChanged:
		a.whose(w.text(" changed")).text(" name")
		if c, ok := a.change(store.FieldName, ""); ok {
			w.text(" from “").name(c.Before).text("” to “").name(c.After).text("”")
		}
	case store.ActionPasswordChanged:
		a.whose(w.text(" changed")).text(" password")
	case store.ActionSessionsRevoked:
		a.whose(w.text(" signed out")).text(" other sessions")
	case store.ActionKYCChanged:
		a.whose(w.text(" changed")).text(" KYC status")
		if c, ok := a.change(store.FieldKYC, "kyc"); ok {
			w.text(" from ").name(kycLabel(c.Before)).text(" to ").name(kycLabel(c.After))
		}
	case store.ActionUserDisabled, store.ActionUserEnabled:
		verb := " enabled"
		if e.Action == store.ActionUserDisabled {
			verb = " disabled"
		}
		a.whose(w.text(verb)).text(" account")
	case store.ActionRoleChanged:
		c, ok := a.change(store.FieldRole, "role")
		switch {
		case ok && c.After == string(store.RoleAdmin):
			w.text(" made ").name(a.label(a.subject)).text(" an admin")
		case ok && c.After == string(store.RoleUser):
			a.whose(w.text(" revoked")).text(" admin role")
		default:
			a.whose(w.text(" changed")).text(" role")
		}
	case store.ActionEmailKept:
		a.whose(w.text(" kept")).text(" email as it was stored")
	case store.ActionKeyCreated:
		a.ofOwner(a.key(w.text(" created"), a.keyName, a.last4), "for")
	case store.ActionKeyEnabled, store.ActionKeyDisabled, store.ActionKeyDeleted:
		verb := " enabled"
		switch e.Action {
		case store.ActionKeyDisabled:
			verb = " disabled"
		case store.ActionKeyDeleted:
			verb = " deleted"
		}
		a.ofOwner(a.key(w.text(verb), a.keyName, a.last4), "of")
	case store.ActionKeyEdited:
		name, renamed := a.facts.Change(store.FieldName)
		_, described := a.facts.Change(store.FieldDescription)
		switch {
		case renamed:
			a.ofOwner(a.key(w.text(" renamed"), name.Before, a.last4), "of").text(" to “").name(name.After).text("”")
			if described {
				w.text(" and changed its description")
			}
		case described:
			a.ofOwner(a.key(w.text(" changed the description of"), a.keyName, a.last4), "of")
		default:
			a.ofOwner(a.key(w.text(" edited"), a.keyName, a.last4), "of")
		}
	case store.ActionKeyRegenerated:
		a.ofOwner(a.key(w.text(" regenerated"), a.keyName, ""), "of")
		if c, ok := a.facts.Change(store.FieldSecret); ok {
			w.text(": ").code(store.MaskKey(c.Before)).text(" → ").code(store.MaskKey(c.After))
		} else if a.last4 != "" {
			w.text(": now ").code(store.MaskKey(a.last4))
		}
	case store.ActionKeyOverlapEnd:
		a.ofOwner(a.key(w.text(" stopped the old secret of"), a.keyName, a.last4), "of")
	default:
		w.text(" did ").code(e.Action)
		if e.Target != "" {
			w.text(" on ").code(e.Target)
		}
	}
	return *w
}

// details are everything the event holds, for its expansion.
func (a *auditEntry) details() []views.AuditFact {
	e := a.e
	var out []views.AuditFact
	add := func(label, value string, code bool) {
		if value != "" {
			out = append(out, views.AuditFact{Label: label, Value: value, Code: code})
		}
	}
	add("When", exactUTC(e.At), false)
	add("Actor", describePerson(a.actor, e.Actor), false)
	if e.SubjectID != 0 || a.subject.email != "" {
		add("Subject", describePerson(a.subject, ""), false)
	}
	if strings.HasPrefix(e.Target, "key_") {
		key := e.Target
		if a.keyName != "" {
			key = "“" + a.keyName + "” (" + store.MaskKey(a.last4) + "), " + e.Target
		}
		out = append(out, views.AuditFact{Label: "Key", Value: key, Link: "/admin/audit?key=" + e.Target})
	} else {
		add("Target", e.Target, true)
	}
	for _, c := range a.facts.Changes {
		add(changeLabel(c.Field), changeValue(c.Field, c.Before)+" → "+changeValue(c.Field, c.After), false)
	}
	add("Detail", e.Detail, false)
	add("IP", e.IP, true)
	add("Device", deviceOf(e.UserAgent), false)
	add("Event", strconv.FormatInt(e.ID, 10), true)
	if a.fromTodaysNames {
		add("Note", "Written before events kept their facts: names are today's.", false)
	}
	return out
}

// describePerson is a person in full: name, email, and their id.
func describePerson(p person, actor string) string {
	var parts []string
	if p.name != "" {
		parts = append(parts, p.name)
	}
	if p.email != "" {
		parts = append(parts, "<"+p.email+">")
	}
	if p.id == 0 && actor != "" {
		parts = append(parts, actor)
	}
	if p.id != 0 {
		parts = append(parts, "(user "+strconv.FormatInt(p.id, 10)+")")
	}
	return strings.Join(parts, " ")
}

func changeLabel(field string) string {
	switch field {
	case store.FieldName:
		return "Name"
	case store.FieldKYC:
		return "KYC status"
	case store.FieldRole:
		return "Role"
	case store.FieldStatus:
		return "Status"
	case store.FieldDescription:
		return "Description"
	case store.FieldSecret:
		return "Secret"
	case store.FieldExpires:
		return "Expires"
	}
	return field
}

// changeValue is a value of a change as people read it.
func changeValue(field, v string) string {
	switch field {
	case store.FieldKYC:
		return kycLabel(v)
	case store.FieldRole:
		return map[string]string{string(store.RoleAdmin): "Admin", string(store.RoleUser): "User"}[v]
	case store.FieldStatus:
		return map[string]string{store.FactEnabled: "Enabled", store.FactDisabled: "Disabled",
			store.FactDisabledByAdmin: "Disabled by an admin", store.FactExpired: "Expired"}[v]
	case store.FieldSecret:
		return store.MaskKey(v)
	case store.FieldExpires:
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return exactUTC(t)
		}
		return "Never"
	}
	if v == "" {
		return "(none)"
	}
	return "“" + v + "”"
}

// kycLabel is a KYC status's label; an event without facts already holds
// labels, which are kept.
func kycLabel(v string) string {
	switch s := store.KYCStatus(v); s {
	case store.KYCVerified, store.KYCPending, store.KYCNotStarted, store.KYCRejected:
		return s.Label()
	}
	return v
}

// historyLabel names the key of a history by its newest event's facts:
// “CI deploy” (kdk_…abcd), or its id when no event names it.
func historyLabel(keyID string, events []store.AuditEvent) string {
	for _, e := range events {
		a := newAuditEntry(e)
		if a.keyName != "" {
			return fmt.Sprintf("key “%s” (%s)", a.keyName, store.MaskKey(a.last4))
		}
	}
	return "key " + keyID
}
