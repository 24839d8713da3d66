package pgtest

import "testing"

// KEYDESK_TEST_STORE picks SQLite unless it names PostgreSQL, and a value
// it does not know is an error rather than a quiet SQLite run.
func TestParseStore(t *testing.T) {
	for _, tc := range []struct {
		value   string
		onPG    bool
		wantErr bool
	}{
		{"", false, false},
		{"sqlite", false, false},
		{"SQLite", false, false},
		{"postgres", true, false},
		{" Postgres ", true, false},
		{"postgresql", true, false},
		{"postgress", false, true},
		{"pg", false, true},
	} {
		onPG, err := parseStore(tc.value)
		if onPG != tc.onPG || (err != nil) != tc.wantErr {
			t.Errorf("parseStore(%q) = %v, %v; want %v, error %v", tc.value, onPG, err, tc.onPG, tc.wantErr)
		}
	}
}
