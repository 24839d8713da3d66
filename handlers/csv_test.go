package handlers

import (
	"context"
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"keydesk/store"
)

// TestSafeCells is OWASP's CSV-injection guidance as a table: a cell a
// spreadsheet could read as a formula (= + - @ TAB CR LF first, or after
// leading separators, quotes or spaces) gets a leading apostrophe; any
// other cell is kept exactly.
func TestSafeCells(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"=1+1", "'=1+1"},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"\n=1", "'\n=1"},
		{"\x00=1", "'\x00=1"},
		{";=1+1", "';=1+1"},
		{",=1+1", "',=1+1"},
		{";;=1", "';;=1"},
		{"; ,-1", "'; ,-1"},
		{" =1", "' =1"},
		{"  @x", "'  @x"},
		{`"=1`, `'"=1`},
		{`'=1`, `''=1`},
		{`";+1`, `'";+1`},
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"", ""},
		{"ok", "ok"},
		{"Deploy bot", "Deploy bot"},
		{"uma@example.com", "uma@example.com"},
		{"a=1", "a=1"},
		{"a;=1", "a;=1"}, // quoted, the separator inside does not start a cell
		{";x", ";x"},
		{" ", " "},
		{"kdk_…abcd", "kdk_…abcd"},
		{"2026-12-02T09:00:00Z", "2026-12-02T09:00:00Z"},
	} {
		if got := safeCells(tc.in)[0]; got != tc.want {
			t.Errorf("safeCells(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestExportQuotesEveryField: every field of the export is quoted, quotes
// doubled, lines ended CRLF (RFC 4180), so a spreadsheet that splits on ";"
// instead of "," still sees each field whole; read that way, as a comma
// reader, no cell of a hostile key name starts a formula.
func TestExportQuotesEveryField(t *testing.T) {
	f := newAdminFixture(t)
	for _, name := range []string{";=1+1", ",=2+2", "x;=3+3", `";=4+4`, "Plain name"} {
		if _, _, err := f.ts.db.CreateKey(context.Background(), f.owner.ID, store.NewKey{Name: name, Description: "d"}, store.AuditEvent{}); err != nil {
			t.Fatal(err)
		}
	}
	res := f.admin.get("/admin/api-keys/export")
	assertStatus(t, res, http.StatusOK)
	if !strings.HasSuffix(res.body, "\r\n") {
		t.Error("the export does not end its lines with CRLF")
	}
	quoted := regexp.MustCompile(`^"([^"]|"")*"(,"([^"]|"")*")*$`)
	lines := strings.Split(strings.TrimSuffix(res.body, "\r\n"), "\r\n")
	if len(lines) != 1+8 {
		t.Fatalf("%d lines, want a header and 8 keys:\n%s", len(lines), res.body)
	}
	for _, line := range lines {
		if !quoted.MatchString(line) {
			t.Errorf("a line with a field not quoted: %s", line)
		}
	}
	for _, comma := range []rune{',', ';'} {
		r := csv.NewReader(strings.NewReader(res.body))
		r.Comma, r.LazyQuotes, r.FieldsPerRecord = comma, true, -1
		records, err := r.ReadAll()
		if err != nil {
			t.Fatalf("read with %q: %v", comma, err)
		}
		for _, rec := range records[1:] {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r\n", rune(cell[0])) {
					t.Errorf("read with %q, the cell %q would run as a formula", comma, cell)
				}
			}
		}
	}
	assertContains(t, res, `"';=1+1"`, `"',=2+2"`, `"x;=3+3"`, `"'"";=4+4"`, `"Plain name"`)
}
