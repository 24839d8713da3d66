package views

import (
	"context"
	"io"

	"github.com/a-h/templ"
)

// escaped is a string written as HTML text, escaped, exactly as a `{ s }`
// text expression writes it but without the copy templ makes of each one
// (it formats every text expression through fmt.Sprint). The rows of the
// owner's key table, the inventory and the audit log write it,
// `@escaped(s)`, for their hundreds of values a page: those copies were
// about a fifth of the audit page's allocations.
type escaped string

func (s escaped) Render(_ context.Context, w io.Writer) error {
	_, err := io.WriteString(w, templ.EscapeString(string(s)))
	return err
}
