package store

import (
	"slices"
	"testing"
)

func TestNaturalSortKey(t *testing.T) {
	names := []string{"export 10", "Export 2", "export 1", "backup", "export 1a", "export", "v2.10", "v2.9", "Zeta 007", "zeta 8"}
	slices.SortFunc(names, func(a, b string) int {
		x, y := NaturalSortKey(a), NaturalSortKey(b)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	want := []string{"backup", "export", "export 1", "export 1a", "Export 2", "export 10", "v2.9", "v2.10", "Zeta 007", "zeta 8"}
	if !slices.Equal(names, want) {
		t.Errorf("sorted %q\nwant   %q", names, want)
	}
	if NaturalSortKey("v01") != NaturalSortKey("v1") {
		t.Errorf("leading zeros are padding: %q, %q", NaturalSortKey("v01"), NaturalSortKey("v1"))
	}
}
