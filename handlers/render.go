package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"
)

// render writes the components, one after the other, as the response,
// always with status. The page is rendered whole into a buffer first and
// written in one piece: rendered straight into the response, templ flushes
// it after each top-level component, and every flush forces the gzip stream
// to end a block and the connection to send a packet. A component that
// fails leaves nothing half-sent, so the error page can still be written.
func render(c echo.Context, status int, components ...templ.Component) error {
	buf := pages.get()
	defer putPage(buf)
	ctx := c.Request().Context()
	for _, component := range components {
		if err := component.Render(ctx, buf); err != nil {
			return err
		}
	}
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(buf.Bytes())
	return err
}

// pages holds the buffers pages are rendered, recorded and compressed
// into, reused across requests: four a core, each at most 256 KB
// (putPage) and most about 100 KB.
var pages = newFreeList(4*runtime.GOMAXPROCS(0), func() *bytes.Buffer { return new(bytes.Buffer) })

// putPage returns buf to pages unless an unusually large page grew it: a
// list of such buffers would hold their memory for the few pages that need
// it.
func putPage(buf *bytes.Buffer) {
	if buf.Cap() > 256<<10 {
		return
	}
	buf.Reset()
	pages.put(buf)
}

// announce asks the page to read message to screen readers once the htmx
// swap has settled (app.js listens for keydesk:announce). After settling,
// not on arrival (HX-Trigger): an event on arrival runs before the swap,
// and what the swap announces would then overwrite it. Header values
// travel as Latin-1, so every character past ASCII is sent as a JSON \u
// escape.
func announce(c echo.Context, message string) {
	b, _ := json.Marshal(map[string]string{"keydesk:announce": message})
	var out strings.Builder
	for _, r := range string(b) {
		switch {
		case r < utf8.RuneSelf:
			out.WriteRune(r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(&out, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(&out, `\u%04x`, r)
		}
	}
	c.Response().Header().Set("HX-Trigger-After-Settle", out.String())
}

// seeOther ends a successful plain form post: the browser follows with a
// GET, so a reload does not post again.
func seeOther(c echo.Context, to string) error {
	return c.Redirect(http.StatusSeeOther, to)
}

// form collects the errors of one submitted form, by field name, so the
// page can show each beside its field.
type form struct {
	FieldErrors map[string]string
}

// check records msg against field unless ok; the first error a field gets
// is the one shown.
func (f *form) check(ok bool, field, msg string) {
	if ok {
		return
	}
	if f.FieldErrors == nil {
		f.FieldErrors = map[string]string{}
	}
	if _, seen := f.FieldErrors[field]; !seen {
		f.FieldErrors[field] = msg
	}
}

// checkAll records the errors of a shared input rule (store.*Input.Validate).
func (f *form) checkAll(errs map[string]string) {
	for field, msg := range errs {
		f.check(false, field, msg)
	}
}

func (f *form) valid() bool { return len(f.FieldErrors) == 0 }

// parseForm reads the posted form, answering 413 for a body over the
// limit and 400 for one that cannot be parsed.
func parseForm(c echo.Context) error {
	if err := c.Request().ParseForm(); err != nil {
		var he *echo.HTTPError
		if errors.As(err, &he) {
			return he
		}
		return echo.NewHTTPError(http.StatusBadRequest, "malformed form").SetInternal(err)
	}
	return nil
}

// postValue is a value of the posted form, never of the URL's query: a
// password or a choice must come in the body, where it is neither logged
// nor kept in a history.
func postValue(c echo.Context, name string) string {
	return c.Request().PostFormValue(name)
}

// text is a form value as typed, with surrounding white space removed and
// line breaks as "\n": a browser posts a textarea's breaks as "\r\n", and
// a break must count as one character and be stored the same way whichever
// way the form was sent.
func text(c echo.Context, name string) string {
	return strings.TrimSpace(strings.ReplaceAll(postValue(c, name), "\r\n", "\n"))
}

// length counts characters, not bytes.
func length(s string) int { return utf8.RuneCountInString(s) }
