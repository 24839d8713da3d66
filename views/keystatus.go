package views

import (
	"strings"
	"unicode/utf8"
)

// A key's effective state on the pages: the badge of its page, the note
// beside its switch, and the muted row of a key that does not work.

// statusTone is the badge tone of a key's state: green only for a key
// that works, grey for one its owner switched off, red for the rest,
// which its owner's switch cannot bring back.
func statusTone(s KeyStatus) string {
	switch {
	case s.Works:
		return "success"
	case s.Code == "disabled":
		return "neutral"
	}
	return "danger"
}

// switchNote is what a key's switch says instead of Enabled or Disabled
// when its own position would mislead: why a key does not work although
// its switch is on, or why it cannot be switched back on. "" when the
// switch's position is the whole truth.
func switchNote(s KeyStatus) string {
	if s.Works || s.Code == "disabled" || s.Code == "" {
		return ""
	}
	return s.Label
}

// mutedRow: the row of a key that does not work reads as muted beside
// the working ones; its status badge says why in words.
func mutedRow(s KeyStatus) bool { return !s.Works && s.Code != "" }

// descriptionClamp is how long a description may be and still be shown
// whole in its two clamped lines at every width; a longer one (or one of
// several lines) gets a Show more toggle.
const descriptionClamp = 72

func longDescription(d string) bool {
	return utf8.RuneCountInString(d) > descriptionClamp || strings.ContainsRune(d, '\n')
}

// rowClass is the classes of a key's row in its owner's table, "" for
// none: a row of literals, as the table renders 50 of them.
func (r *KeyRow) rowClass() string {
	var c []string
	if r.Overlap != nil {
		c = append(c, "key-row--overlap")
	}
	if r.New {
		c = append(c, "key-row--new")
	}
	if mutedRow(r.Status) {
		c = append(c, "key-row--off")
	}
	switch len(c) {
	case 0:
		return ""
	case 1:
		return c[0]
	}
	return strings.Join(c, " ")
}

// path is the key's page, or one of its actions with a suffix such as
// "/edit".
func (r *KeyRow) path(suffix string) string {
	return "/settings/api-keys/" + r.ID + suffix
}
