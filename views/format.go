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

func enabledLabel(enabled bool) string {
	if enabled {
		return "Enabled"
	}
	return "Disabled"
}

func lastUsedFrom(ip string) string {
	if ip == "" {
		return ""
	}
	return " from " + ip
}
