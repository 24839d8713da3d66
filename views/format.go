package views

import (
	"strconv"
	"unicode"
)

// initial is the first letter of a name, for the avatar.
func initial(name string) string {
	for _, r := range name {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func lastUsedFrom(ip string) string {
	if ip == "" {
		return ""
	}
	return " from " + ip
}

// countOf is n and the noun that fits it, n with thousands separators:
// "1 key", "1,234 keys".
func countOf(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return Thousands(n) + " " + many
}

// Thousands is n with a comma between each three digits: 12,345.
func Thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + Thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
