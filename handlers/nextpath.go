package handlers

import (
	"net/url"
	"strings"
)

// defaultNext is where a login goes when it was given nowhere to go, or
// nowhere safe.
const defaultNext = "/settings/profile"

// localPath keeps a destination that arrives in a URL or a form (the page a
// login returns to, the admin page an action goes back to) on this site.
//
// Checking the text is not enough: browsers read a URL their own way
// (WHATWG), dropping TABs and line breaks anywhere, reading "\" as "/",
// and skipping any number of slashes before a host, so "/\t/evil.example"
// and "/\evil.example" both lead to evil.example. So the candidate is read
// the way a browser reads it, resolved against a fixed origin, and accepted
// only when the result is a path on that origin. What is sent back is that
// result, re-encoded, never the text as given: the browser must read in the
// Location header exactly the path that was checked.
func localPath(raw string) string {
	u, ok := resolveHere(raw)
	if !ok {
		return defaultNext
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + escapeQuery(u.RawQuery)
	}
	// The browser parses the answer again: it must still mean this path.
	if again, ok := resolveHere(out); !ok || again.EscapedPath() != u.EscapedPath() {
		return defaultNext
	}
	return out
}

// resolveHere reads raw as a browser reads a link on one of our pages, and
// answers the URL it leads to when that stays on this origin.
func resolveHere(raw string) (*url.URL, bool) {
	s := browserClean(raw)
	// A path, and only that: one slash first. Two, in any mix of "/" and
	// "\" (already made "/"), begin a host, and browsers skip any further
	// slashes where Go's parser would see an empty host: "///evil.example"
	// is evil.example to a browser.
	if len(s) == 0 || s[0] != '/' || (len(s) > 1 && s[1] == '/') {
		return nil, false
	}
	ref, err := url.Parse(s)
	if err != nil {
		return nil, false
	}
	base := &url.URL{Scheme: "http", Host: "keydesk.invalid", Path: "/"}
	u := base.ResolveReference(ref)
	if u.Scheme != base.Scheme || u.Host != base.Host || u.User != nil || u.Opaque != "" {
		return nil, false
	}
	// Decoded, with its dot segments resolved (browsers read "%2e" as "."),
	// the path must not begin like a host either ("/%2F/evil", "/%5Cevil",
	// "/%2e//evil"): it is sent encoded, so a browser stays here, but a
	// proxy or a later hop that decodes it would not.
	decoded := base.ResolveReference(&url.URL{Path: strings.ReplaceAll(u.Path, `\`, "/")}).Path
	if !strings.HasPrefix(decoded, "/") || strings.HasPrefix(decoded, "//") {
		return nil, false
	}
	return u, true
}

// browserClean does to raw what a browser's URL parser does before it reads
// it: trims C0 controls and spaces from both ends, drops every TAB, LF and
// CR wherever they are, and reads "\" as "/" before the query (as it does
// for http and https URLs). Bytes are kept as they are otherwise.
func browserClean(raw string) string {
	s := strings.TrimFunc(raw, func(r rune) bool { return r <= ' ' })
	var b strings.Builder
	inPath := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '?' || c == '#':
			inPath = false
		case c == '\\' && inPath:
			c = '/'
		}
		b.WriteByte(c)
	}
	return b.String()
}

// escapeQuery re-encodes a query for the Location header: what is valid in
// a query (RFC 3986) stays as it is, and anything else (a space, a quote,
// non-ASCII, a "%" that starts no escape) is percent-encoded.
func escapeQuery(q string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '%' && i+2 < len(q) && isHex(q[i+1]) && isHex(q[i+2]):
			b.WriteByte(c)
		case c != '%' && isQueryChar(c):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
	}
	return b.String()
}

// isQueryChar reports the characters RFC 3986 allows unencoded in a query:
// unreserved, sub-delims, ":", "@", "/" and "?".
func isQueryChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/?", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
