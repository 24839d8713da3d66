package store

import "strings"

// naturalDigits is how wide NaturalSortKey pads a run of digits: any
// number up to 20 digits (every uint64) sorts by its value.
const naturalDigits = 20

// NaturalSortKey is the text a key name sorts by, so that names sort as
// people read them: "export 1", "export 2", "export 10". It is the name in
// lower case with each run of ASCII digits zero-padded to 20 digits (a
// longer run is kept as it is), compared byte by byte. Leading zeros are
// padding too, so "v01" and "v1" sort together (their ids break the tie).
// The store keeps it beside the name (api_keys.name_sort), indexed.
func NaturalSortKey(name string) string {
	lower := strings.ToLower(name)
	var b strings.Builder
	b.Grow(len(lower) + naturalDigits)
	for i := 0; i < len(lower); {
		c := lower[i]
		if c < '0' || c > '9' {
			b.WriteByte(c)
			i++
			continue
		}
		j := i
		for j < len(lower) && lower[j] >= '0' && lower[j] <= '9' {
			j++
		}
		run := strings.TrimLeft(lower[i:j], "0")
		if len(run) < naturalDigits {
			b.WriteString(strings.Repeat("0", naturalDigits-len(run)))
		}
		b.WriteString(run)
		i = j
	}
	return b.String()
}
