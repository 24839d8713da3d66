package views

import (
	"html"
	"strings"
	"unicode/utf8"
)

// The admin inventory's share of the key lifecycle: each key's expiry and
// scopes in its row, and the filters by them.

// breakableScope is a scope's name as HTML, escaped, with a <wbr> after
// each colon but a last one.
func breakableScope(name string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(name, ':')
		if i < 0 || i == len(name)-1 {
			b.WriteString(html.EscapeString(name))
			return b.String()
		}
		b.WriteString(html.EscapeString(name[:i+1]) + "<wbr>")
		name = name[i+1:]
	}
}

// breaks reports whether a scope's name has a colon breakableScope would
// break after; most have none, and are written as they are.
func breaks(name string) bool {
	i := strings.IndexByte(name, ':')
	return i >= 0 && i < len(name)-1
}

// scopesInline is how many scopes a row lists in full; a key with more
// shows their count, which opens the list.
const scopesInline = 1

// An inventory row shows a key's name and its owner's email on one line
// each, cut with an ellipsis past about this many characters (app.css);
// a longer one carries itself whole as the element's title, shown on
// hover.
const (
	nameFits  = 16
	emailFits = 20
)

// cutShort reports whether s is longer than fits characters.
func cutShort(s string, fits int) bool {
	return len(s) > fits && utf8.RuneCountInString(s) > fits
}
