// Package views renders Keydesk's pages and the htmx fragments inside them,
// as templ components. Components take plain view models, never a request
// or a store, and each fragment an action swaps in is the same component the
// full page uses, so the page with and without JavaScript is one markup.
package views

import (
	"strconv"
	"time"
)

// Viewer is the signed-in user, as the header shows them.
type Viewer struct {
	Name    string
	Email   string
	IsAdmin bool
}

// Page is what every page's frame needs.
type Page struct {
	Title       string
	Description string  // the page's <meta name="description">: a sentence about it
	Viewer      *Viewer // nil when signed out
	Flash       string  // a one-time notice, such as "Password changed."
	Version     string
}

// Time is a moment shown relative to now ("3 minutes ago") with the exact
// time on hover and in the datetime attribute.
type Time struct {
	Relative string
	Date     string // e.g. "29 Nov 2026"
	Exact    string // e.g. "29 Nov 2026, 14:05 UTC"
	ISO      string // RFC 3339
}

// NewTime formats t for display as seen at now.
func NewTime(t, now time.Time) Time {
	t = t.UTC()
	return Time{Relative: relative(t, now), Date: t.Format("2 Jan 2006"), Exact: t.Format("2 Jan 2006, 15:04:05 MST"),
		ISO: t.Format(time.RFC3339)}
}

func relative(t, now time.Time) string {
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit + " ago"
		}
		return strconv.Itoa(n) + " " + unit + "s ago"
	}
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return plural(int(d/time.Minute), "minute")
	case d < 24*time.Hour:
		return plural(int(d/time.Hour), "hour")
	case d < 30*24*time.Hour:
		return plural(int(d/(24*time.Hour)), "day")
	case d < 365*24*time.Hour:
		return plural(int(d/(30*24*time.Hour)), "month")
	default:
		return plural(int(d/(365*24*time.Hour)), "year")
	}
}

// LoginView is the login form.
type LoginView struct {
	Page
	Email  string
	Next   string
	Error  string // one message for the whole form
	Signup bool   // link to sign-up
}

// SignupView is the sign-up form.
type SignupView struct {
	Page
	Name   string
	Email  string
	Errors map[string]string
}

// ProfileView is the Personal Details page.
type ProfileView struct {
	Page
	UserID   string
	Email    string
	KALPID   string
	KYC      KYC
	NameForm NameForm
	Password PasswordForm
	Sessions SessionsView
}

// KYC is a KYC status: its label, and the tone of its badge.
type KYC struct {
	Label string
	Tone  string // success, warning, neutral, danger
}

// NameForm is the editable Name.
type NameForm struct {
	Name  string
	Error string
	Saved bool
}

// PasswordForm is Change password. Passwords are never echoed back.
type PasswordForm struct {
	Errors map[string]string
	Open   bool // show the form rather than the button
	Done   bool // the password was just changed
}

// SessionsView lists the user's active sessions.
type SessionsView struct {
	Sessions   []SessionRow
	Notice     string
	Confirming string // the handle of the session whose sign-out is being confirmed
}

// SessionRow is one signed-in browser.
type SessionRow struct {
	// Handle names the session in the page and its URLs, for signing it out
	// on its own: an opaque value, never the session id. "" for the
	// current session, which ends with Log out.
	Handle   string
	Device   string
	IP       string
	SignedIn Time
	LastSeen Time
	Current  bool
}

// AuditView is the admin audit log.
type AuditView struct {
	Page
	Filter   AuditFilterView
	Actions  []AuditAction // the actions to filter by
	Events   []AuditRow
	FirstURL string
	NextURL  string
	Error    string // a filter that could not be read
	// KeyLabel names the key whose history this is (Filter.Key), as its
	// events last named it, or its id when none does.
	KeyLabel string
}

// AuditAction is an action to filter by: its code and what it reads as.
type AuditAction struct {
	Code  string
	Label string
}

// AuditFilterView is the audit log's filters as the URL carries them.
type AuditFilterView struct {
	Actor  string
	Action string
	Key    string // a key's id: that key's history
	From   string // YYYY-MM-DD
	Until  string // YYYY-MM-DD, inclusive
}

// AuditRow is one audit event: a sentence, and on expansion everything the
// event holds.
type AuditRow struct {
	At       Time
	Sentence []Phrase
	Action   string // the raw code, e.g. key.disabled
	Facts    []AuditFact
	IP       string
}

// Phrase is a piece of a sentence: plain text, a name (shown strong) or a
// masked key (shown as code). Every piece is text, escaped when rendered.
type Phrase struct {
	Text string
	Kind PhraseKind
}

// PhraseKind is how a Phrase is shown.
type PhraseKind int

const (
	PhraseText PhraseKind = iota
	PhraseName
	PhraseCode
)

// AuditFact is one line of an event's full detail; Link, when set, is a
// page about it (a key's history).
type AuditFact struct {
	Label string
	Value string
	Code  bool // the value is an id or code, shown as code
	Link  string
}

// ErrorView is an error page.
type ErrorView struct {
	Status  int
	Title   string
	Message string
}

// KeysView is the API Auth Key page.
type KeysView struct {
	Page
	Panel CreatePanel
	Keys  KeysSection
}

// KeysSection is the table of keys, with at most one row being edited or
// awaiting delete confirmation.
type KeysSection struct {
	Rows     []KeyRow
	Editing  string  // id of the row shown as an edit form
	Edit     KeyForm // that form's values and errors
	Deleting string  // id of the row asking to confirm its deletion
	Notice   string  // announced after an action, e.g. "Key disabled."
	Error    string  // why the last action was refused; it changed nothing
	Max      int

	// Regenerating is the id of the row asking to confirm a regeneration.
	Regenerating string
	Regen        RegenerateForm
	NewID        string        // the key just created, marked in its row
	FocusNew     bool          // the page opens with focus on that row (after Done)
	APIBase      string        // where the API is reached, for the empty table's example call
	Expiring     []ExpiringKey // keys that expire within 7 days, for the notice
}

// KeyStatus is whether a key works, as store.EffectiveState decides it:
// Code is the state's code ("enabled", "disabled", "disabled_by_admin",
// "expired", "owner_disabled"), Label its words on the page.
type KeyStatus struct {
	Code  string
	Label string
	Works bool
}

// KeyRow is one key as the table shows it.
type KeyRow struct {
	Status      KeyStatus
	ID          string
	Name        string
	Description string
	Masked      string
	Enabled     bool
	// DisabledByAdmin: only an admin can enable the key again, so its
	// owner's switch is shown but cannot be flipped.
	DisabledByAdmin bool
	OwnerDisabled   bool  // the key's owner is disabled: it does not work, enabled or not
	LastUsed        *Time // nil: never used
	LastUsedIP      string
	Created         Time
	Overlap         *Overlap // the previous secret while it still works; nil: none
	Expires         Expiry
	Scopes          []string // the key's scopes; see AllScopes
	AllScopes       bool     // made before scopes existed: it holds every one
	New             bool     // just created
	Focus           bool     // its name has focus as the page opens
}

// KeyForm is the name and description of a key being created or edited.
type KeyForm struct {
	Name        string
	Description string
	Errors      map[string]string // by field name; "form" for the form as a whole
}

// Create panel steps.
const (
	PanelClosed  = ""
	PanelForm    = "form"
	PanelConfirm = "confirm"
	PanelCreated = "created"
)

// CreatePanel is the create flow: form, confirmation, then the key shown once.
type CreatePanel struct {
	Step    string
	Form    KeyForm
	Terms   KeyTermsForm // the form's Expiration and Permissions, also carried through the confirmation
	Summary KeySummary   // the confirmation: what will be created
	Created CreatedKey
}

// CreatedKey is a new key, in full, on the one page that ever shows it.
type CreatedKey struct {
	ID      string
	Secret  string
	Name    string
	Enabled bool
	Created Time
	Summary KeySummary
	Usage   Usage
}

// AdminKeysView is the admin key inventory.
type AdminKeysView struct {
	Page
	Filter    InventoryFilterView
	Rows      []InventoryRowView
	PrevURL   string // "" on the first page
	NextURL   string // "" on the last page
	ExportURL string
	ReturnTo  string // this page's URL, for plain-post actions to come back to
	// Scopes are the scope filter's choices: the operator's policy.
	Scopes []KYCOption
	// Count says how many keys match: "1 key", "1,234 keys", "10,000+ keys".
	Count string
	// The sortable column headers.
	SortName, SortLastUsed, SortCreated SortHeader
}

// SortHeader is a column header that sorts the list by its column.
type SortHeader struct {
	URL string // the list sorted by this column: the other way round when it is sorted by it already
	// Sort is "ascending" or "descending" when the list is sorted by this
	// column (its aria-sort), "" otherwise.
	Sort string
	// Then is what following URL sorts by: "ascending" or "descending".
	Then string
}

// InventoryFilterView is the inventory's filters as the URL carries them.
type InventoryFilterView struct {
	Query  string
	Status string
	Risk   string
	Sort   string
	Dir    string
	Expiry string // "", "soon", "expired", "never"
	Scope  string // a scope name, or ""
}

// InventoryRowView is one key in the inventory.
type InventoryRowView struct {
	Status          KeyStatus
	ID              string
	Name            string
	Masked          string
	Enabled         bool
	DisabledByAdmin bool
	OwnerName       string
	OwnerEmail      string
	OwnerDisabled   bool
	LastUsed        *Time
	Created         Time
	Expires         Expiry
	Scopes          []string // the key's scopes, unless AllScopes
	AllScopes       bool     // made before scopes existed: it holds every one
	Error           string   // why the last action on this row was refused
}

// BulkDisableView confirms disabling the selected keys.
type BulkDisableView struct {
	Page
	Rows     []InventoryRowView
	ReturnTo string
}

// AdminUsersView is the admin user list.
type AdminUsersView struct {
	Page
	Query    string
	Rows     []AdminUserRow
	FirstURL string
	NextURL  string
	ReturnTo string
}

// AdminUserRow is one account in the admin list.
type AdminUserRow struct {
	ID       string // the public User ID
	Name     string
	Email    string
	KYC      string // stored status, e.g. "not_started"
	KYCLabel string
	IsAdmin  bool
	Disabled bool
	IsSelf   bool
	Keys     int
	Created  Time
	Error    string // why the last action on this row was refused
}

// UserConfirmView asks an admin to confirm a change to an account: in its
// row for htmx, as a page of its own for a plain post.
type UserConfirmView struct {
	Page
	ID       string // the account's public id, naming its row
	Action   string // where the confirmed form posts
	Field    string // the posted field and its value ("disabled", "true")
	Value    string
	Question string // "Disable Dana Demo (dana@example.com)?"
	Effect   string // what follows, in words
	Button   string // the confirming button's label
	Danger   bool   // the change takes something away
	ReturnTo string // the Users page it came from, where Cancel leads
}

// KYCOption is a choice in the KYC status select.
type KYCOption struct {
	Value string
	Label string
}
