package handlers

import (
	"strings"
	"time"

	"keydesk/views"
)

// exportNameMax bounds the CSV's file name before ".csv": a long search
// must not make a name some file systems refuse.
const exportNameMax = 100

// exportFileName is the inventory CSV's file name: its date and the
// filters it was cut with, so that two downloads never look alike, e.g.
// keydesk-keys-2026-12-02-status-disabled-q-deploy.csv. Only [a-z0-9-]
// reaches it: the header needs no quoting or escaping, and a search term
// cannot smuggle a path, a quote or a control character into it.
func exportFileName(now time.Time, v views.InventoryFilterView) string {
	parts := []string{"keydesk-keys", now.UTC().Format("2006-01-02")}
	for _, p := range [][2]string{
		{"status", v.Status}, {"risk", v.Risk}, {"expiry", v.Expiry}, {"scope", v.Scope}, {"q", v.Query},
	} {
		if s := fileNamePart(p[1]); s != "" {
			parts = append(parts, p[0], s)
		}
	}
	name := strings.Join(parts, "-")
	if len(name) > exportNameMax {
		name = strings.TrimRight(name[:exportNameMax], "-")
	}
	return name + ".csv"
}

// fileNamePart is s lower-cased with every run of other characters than
// a-z and 0-9 made one "-", and none at either end.
func fileNamePart(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}
