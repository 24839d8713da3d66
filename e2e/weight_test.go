package e2e

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// pageBudget is the most a page may weigh over the wire on a cold load:
// its HTML, CSS and JavaScript together, gzipped, headers not counted.
const pageBudget = 40 * 1024

// TestPageWeightAndOrigin loads every page cold, each in a browser context
// of its own (an empty cache), and watches the network: no request may
// leave the test server's origin; the page's HTML, CSS and JavaScript come
// gzipped and weigh at most pageBudget together; the static assets carry a
// content version in their URL and are cached for a year.
func TestPageWeightAndOrigin(t *testing.T) {
	base, db := startApp(t)
	admin := mustCreateUser(t, db, walkAdmin)
	owner := mustCreateUser(t, db, walkOwner)
	for _, name := range []string{walkSeedKey, "Nightly backup", "Grafana metrics exporter"} {
		mustCreateKey(t, db, admin, name)
		mustCreateKey(t, db, owner, name)
	}
	origin, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	session := signedInCookies(t, base, walkAdmin)

	for _, p := range []struct {
		name, path, ready string
		signedIn          bool
		status            int64
	}{
		{"login", "/login", button("Log in"), false, 200},
		{"sign-up", "/signup", button("Sign up"), false, 200},
		{"404, signed out", "/settings/no-such-page", `//h1`, false, 404},
		{"Personal Details", "/settings/profile", heading("Personal Details"), true, 200},
		{"API Auth Key", "/settings/api-keys", keyRow(walkSeedKey), true, 200},
		{"API Auth Key, create form (plain page)", "/settings/api-keys/new", control("Key name"), true, 200},
		{"admin key inventory", "/admin/api-keys", heading("Key inventory"), true, 200},
		{"admin users", "/admin/users", heading("Users"), true, 200},
		{"admin audit log", "/admin/audit", heading("Audit log"), true, 200},
		{"404", "/settings/no-such-page", `//h1`, true, 404},
	} {
		ctx := newTab(t, tabTimeout)
		if p.signedIn {
			if _, err := chromedp.Call(ctx, network.SetCookies, network.SetCookiesParams{Cookies: session}); err != nil {
				t.Fatalf("%s: hand the session to the new browser context: %v", p.name, err)
			}
		}
		rec := recordNetwork(t, ctx)
		watchCSP(t, ctx)
		run(t, ctx, p.name+": load it cold", chromedp.Navigate(base+p.path), chromedp.WaitVisible(p.ready), pageReady())
		requests := rec.settled(t, ctx)
		checkWeight(t, p.name, origin, p.status, requests)
		checkCSP(t, ctx, p.name)
	}
}

// signedInCookies signs in as a in a tab of its own and returns its
// cookies, to set in the fresh browser contexts that load the pages cold.
func signedInCookies(t *testing.T, base string, a Account) []*network.CookieParam {
	t.Helper()
	ctx := newTab(t, tabTimeout)
	signInAs(t, ctx, base, a)
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base}})
	if err != nil {
		t.Fatalf("read the session cookie: %v", err)
	}
	if len(cookies.Cookies) == 0 {
		t.Fatal("signed in, but the browser holds no cookie")
	}
	var out []*network.CookieParam
	for _, c := range cookies.Cookies {
		out = append(out, &network.CookieParam{
			Name: c.Name, Value: c.Value, URL: base, Path: c.Path,
			Secure: c.Secure, HTTPOnly: c.HTTPOnly, SameSite: c.SameSite,
		})
	}
	return out
}

// watchCSP records, in every document the tab loads from now on, what the
// Content-Security-Policy blocks: a load from another host that the policy
// stopped never reaches the Network domain.
func watchCSP(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__cspViolations = [];
			document.addEventListener("securitypolicyviolation", e =>
				window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "(inline)") +
					(e.sourceFile ? " at " + e.sourceFile + ":" + e.lineNumber : "")));`,
	}); err != nil {
		t.Fatalf("watch the Content-Security-Policy: %v", err)
	}
}

// checkCSP fails page on everything its Content-Security-Policy blocked.
func checkCSP(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	blocked, err := read(ctx, chromedp.Evaluate[[]string](`window.__cspViolations || []`))
	if err != nil {
		t.Fatalf("%s: read the policy's violations: %v", page, err)
	}
	for _, b := range blocked {
		t.Errorf("%s: the Content-Security-Policy had to block something: %s", page, b)
	}
}

// netRequest is one request of a page load, as the Network domain told it.
type netRequest struct {
	id           network.RequestID
	url          string
	kind         network.ResourceType
	status       int64
	headers      network.Headers
	fromCache    bool
	headerBytes  float64 // the response's status line and headers
	bodyBytes    float64 // the body as it came over the wire
	finished     bool
	failed       string
	responseSeen bool
}

// header is the response header name, whatever its case.
func (r *netRequest) header(name string) string {
	for k, v := range r.headers {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
}

// netRecorder collects the requests of a tab from the moment it starts.
type netRecorder struct {
	mu       sync.Mutex
	requests map[network.RequestID]*netRequest
	order    []network.RequestID
	changed  chan struct{}
}

// recordNetwork enables the Network domain in ctx's tab and records every
// request from now on.
func recordNetwork(t *testing.T, ctx context.Context) *netRecorder {
	t.Helper()
	rec := &netRecorder{requests: map[network.RequestID]*netRequest{}, changed: make(chan struct{}, 1)}
	if err := chromedp.Listen(ctx, rec.event); err != nil {
		t.Fatalf("listen to the network: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable the Network domain: %v", err)
	}
	return rec
}

// event runs in chromedp's read loop: it only records, under the lock.
func (rec *netRecorder) event(ev any) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	get := func(id network.RequestID) *netRequest {
		r := rec.requests[id]
		if r == nil {
			r = &netRequest{id: id}
			rec.requests[id] = r
			rec.order = append(rec.order, id)
		}
		return r
	}
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		r := get(ev.RequestID)
		r.url, r.kind = ev.Request.URL, ev.Type
	case *network.EventResponseReceived:
		r := get(ev.RequestID)
		r.responseSeen = true
		r.kind = ev.Type
		r.status, r.headers = ev.Response.Status, ev.Response.Headers
		r.fromCache = ev.Response.FromDiskCache || ev.Response.FromServiceWorker || ev.Response.FromPrefetchCache
		r.headerBytes = ev.Response.EncodedDataLength
	case *network.EventLoadingFinished:
		r := get(ev.RequestID)
		r.finished = true
		r.bodyBytes = ev.EncodedBodyLength
		if r.bodyBytes == 0 && ev.EncodedDataLength > r.headerBytes {
			r.bodyBytes = ev.EncodedDataLength - r.headerBytes
		}
	case *network.EventLoadingFailed:
		r := get(ev.RequestID)
		r.finished, r.failed = true, ev.ErrorText
	default:
		return
	}
	select {
	case rec.changed <- struct{}{}:
	default:
	}
}

// settled waits until every request seen has finished or failed, and
// returns them in the order they started.
func (rec *netRecorder) settled(t *testing.T, ctx context.Context) []netRequest {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	for {
		rec.mu.Lock()
		var out []netRequest
		open := 0
		for _, id := range rec.order {
			r := rec.requests[id]
			out = append(out, *r)
			if !r.finished {
				open++
			}
		}
		rec.mu.Unlock()
		if open == 0 {
			return out
		}
		select {
		case <-rec.changed:
		case <-ctx.Done():
			t.Fatalf("%d requests still loading: %v", open, ctx.Err())
		}
	}
}

// checkWeight checks one page load's requests.
// The page's own document must answer status, everything else 200.
func checkWeight(t *testing.T, page string, origin *url.URL, status int64, requests []netRequest) {
	t.Helper()
	var total float64
	var parts []string
	for _, r := range requests {
		u, err := url.Parse(r.url)
		if err != nil {
			t.Errorf("%s: a request to an unreadable URL %q", page, r.url)
			continue
		}
		switch {
		case slices.Contains([]string{"data", "blob", "about"}, u.Scheme):
			continue
		case u.Scheme != origin.Scheme || u.Host != origin.Host:
			t.Errorf("%s: a request (%s) leaves the origin %s: %s", page, r.kind, origin.Host, r.url)
			continue
		}
		if r.failed != "" {
			t.Errorf("%s: %s failed: %s", page, u.RequestURI(), r.failed)
			continue
		}
		if strings.HasPrefix(u.Path, "/static/") {
			cc := r.header("Cache-Control")
			if u.Query().Get("v") == "" || !strings.Contains(cc, "max-age=31536000") || !strings.Contains(cc, "immutable") {
				t.Errorf("%s: %s is not a content-versioned URL cached for a year (Cache-Control %q)", page, u.RequestURI(), cc)
			}
		}
		if r.kind != network.ResourceTypeDocument && r.kind != network.ResourceTypeStylesheet && r.kind != network.ResourceTypeScript {
			continue
		}
		want := int64(200)
		if r.kind == network.ResourceTypeDocument {
			want = status
		}
		if r.fromCache || r.status != want {
			t.Errorf("%s: %s came with status %d (from a cache: %v); want a cold load, %d from the server",
				page, u.RequestURI(), r.status, r.fromCache, want)
		}
		if enc := r.header("Content-Encoding"); enc != "gzip" && r.bodyBytes >= 1024 {
			t.Errorf("%s: %s (%s) came as %.0f bytes with Content-Encoding %q; want gzip", page, u.RequestURI(), r.kind, r.bodyBytes, enc)
		}
		total += r.bodyBytes
		parts = append(parts, fmt.Sprintf("%s %.1f KB", u.Path, r.bodyBytes/1024))
	}
	if total > pageBudget {
		t.Errorf("%s weighs %.1f KB of gzipped HTML, CSS and JavaScript, over the %d KB budget: %s",
			page, total/1024, pageBudget/1024, strings.Join(parts, ", "))
	} else {
		t.Logf("%s: %.1f KB (%s)", page, total/1024, strings.Join(parts, ", "))
	}
}
