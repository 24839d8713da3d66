package views

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// inputTag is the first <input …> tag of html.
var inputTag = regexp.MustCompile(`<input\b[^>]*>`)

// A field's input carries exactly the attributes it should: no stray
// "else", and one aria-describedby naming the text shown under it.
func TestFieldAttributes(t *testing.T) {
	for _, c := range []struct {
		name        string
		f           Field
		describedBy string // "" for none
		invalid     bool
	}{
		{"plain", Field{ID: "name", Name: "name", Label: "Name"}, "", false},
		{"hint", Field{ID: "name", Name: "name", Label: "Name", Hint: "Up to 64."}, "name-hint", false},
		{"error", Field{ID: "name", Name: "name", Label: "Name", Error: "Enter a name."}, "name-error", true},
		{"error and hint", Field{ID: "name", Name: "name", Label: "Name", Hint: "Up to 64.", Error: "Enter a name."}, "name-error", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			if err := field(c.f).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			tag := inputTag.FindString(html)
			if tag == "" {
				t.Fatalf("no input in %s", html)
			}
			if regexp.MustCompile(`\selse[\s/>=]`).MatchString(tag) {
				t.Errorf("stray else attribute: %s", tag)
			}
			ids := regexp.MustCompile(`aria-describedby="([^"]*)"`).FindAllStringSubmatch(tag, -1)
			switch {
			case c.describedBy == "" && len(ids) != 0:
				t.Errorf("aria-describedby on a field with nothing to describe it: %s", tag)
			case c.describedBy != "" && (len(ids) != 1 || ids[0][1] != c.describedBy):
				t.Errorf("aria-describedby: got %q, want exactly one, %q: %s", ids, c.describedBy, tag)
			}
			if c.describedBy != "" && !strings.Contains(html, `id="`+c.describedBy+`"`) {
				t.Errorf("aria-describedby names %q, which is not on the page: %s", c.describedBy, html)
			}
			if got := strings.Contains(tag, `aria-invalid="true"`); got != c.invalid {
				t.Errorf("aria-invalid: got %t, want %t: %s", got, c.invalid, tag)
			}
		})
	}
}
