package handlers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"keydesk/store"
)

// TestHEADAnswersAsGET sends HEAD to every GET route in the router, signed
// out and as an admin (who may open them all): the status and headers are
// those of GET, the body is empty, and nothing changes. A POST-only route
// answers HEAD with 405, as it answers GET.
func TestHEADAnswersAsGET(t *testing.T) {
	f := newAdminFixture(t)
	ctx := context.Background()
	admin, err := f.ts.db.UserByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	own, _, err := f.ts.db.CreateKey(ctx, admin.ID, store.NewKey{Name: "Admin's own", Description: "d"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, f.ts)

	gets, postOnly := map[string]bool{}, map[string]bool{}
	for _, r := range f.ts.echo.Routes() {
		p := strings.NewReplacer(":id", own.PublicID, "*", "app.css").Replace(r.Path)
		switch r.Method {
		case http.MethodGet:
			gets[p] = true
		case http.MethodPost:
			postOnly[p] = true
		}
	}
	for p := range gets {
		delete(postOnly, p)
	}
	if len(gets) < 15 || len(postOnly) < 5 {
		t.Fatalf("found %d GET and %d POST-only routes; is the router empty?", len(gets), len(postOnly))
	}
	gets["/no/such/page"], gets["/static/nope.css"], gets["/login?next=%2Fadmin"] = true, true, true

	// gzip is asked for explicitly: Go's client asks for it on GET only.
	headers := map[string]string{"Accept-Encoding": "gzip"}
	for who, c := range map[string]*client{"signed out": f.ts.client(t), "admin": f.admin} {
		for p := range gets {
			t.Run(who+" "+p, func(t *testing.T) {
				get := c.do(http.MethodGet, p, nil, headers)
				head := c.do(http.MethodHead, p, nil, headers)
				if head.StatusCode != get.StatusCode {
					t.Errorf("HEAD %s: status %d, GET %d", p, head.StatusCode, get.StatusCode)
				}
				g, h := comparable(get.Header), comparable(head.Header)
				if _, ok := h["Content-Length"]; !ok {
					// net/http counts a HEAD's length only from a body
					// written (and dropped); for an empty one it cannot
					// tell, and RFC 9110 lets HEAD omit it.
					g.Del("Content-Length")
				}
				if !reflect.DeepEqual(g, h) {
					t.Errorf("HEAD %s: headers differ from GET's\nGET  %v\nHEAD %v", p, g, h)
				}
				if head.body != "" {
					t.Errorf("HEAD %s: a body of %d bytes", p, len(head.body))
				}
			})
		}
		for p := range postOnly {
			want := http.StatusMethodNotAllowed
			if who == "signed out" && strings.HasPrefix(p, "/admin/") {
				want = http.StatusNotFound // hideAdmin: no admin route exists for them
			}
			if res := c.do(http.MethodHead, p, nil, nil); res.StatusCode != want {
				t.Errorf("%s: HEAD %s (POST only): status %d, want %d", who, p, res.StatusCode, want)
			}
		}
	}

	if after := stateOf(t, f.ts); after != before {
		t.Errorf("HEAD requests changed the store:\nbefore %s\nafter  %s", before, after)
	}
	assertStatus(t, f.admin.get("/settings/profile"), http.StatusOK)
	if !strings.Contains(f.ts.logs.String(), `"method":"HEAD"`) {
		t.Error("the log does not name HEAD requests as HEAD")
	}
}

// comparable is a response's headers less those that differ by request.
func comparable(h http.Header) http.Header {
	h = h.Clone()
	h.Del("Date")
	h.Del("X-Request-Id")
	return h
}

// stateOf describes every key and audit event, to tell whether anything
// changed.
func stateOf(t *testing.T, ts *testServer) string {
	t.Helper()
	ctx := context.Background()
	keys, err := ts.db.AllKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	audit, err := ts.db.AuditLog(ctx, store.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("keys %+v; %d audit events", keys, len(audit.Events))
}

// TestHEADSendsNoBody reads the bytes on the wire: a HEAD of a page and
// then a GET on the same connection. Had the page's body been sent after
// the HEAD's headers, the second answer would not parse.
func TestHEADSendsNoBody(t *testing.T) {
	ts := newTestServer(t)
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "HEAD /login HTTP/1.1\r\nHost: keydesk.test\r\n\r\n"+
		"GET /healthz HTTP/1.1\r\nHost: keydesk.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	head, err := http.ReadResponse(r, &http.Request{Method: http.MethodHead})
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != http.StatusOK {
		t.Errorf("HEAD /login: status %d", head.StatusCode)
	}
	next, err := http.ReadResponse(r, &http.Request{Method: http.MethodGet})
	if err != nil {
		t.Fatalf("the answer after HEAD does not parse (a body was sent?): %v", err)
	}
	defer next.Body.Close()
	if b, _ := io.ReadAll(next.Body); next.StatusCode != http.StatusOK || string(b) != "ok\n" {
		t.Errorf("GET /healthz after HEAD: status %d, body %q", next.StatusCode, b)
	}
}
