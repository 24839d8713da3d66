package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"keydesk/store/pgtest"
	"keydesk/store/sqlstore"
)

// browser is the one Chromium the package's tests share; each test opens
// its own tab in a fresh browser context (its own cookies). It is nil when
// no Chromium was found, and the browser tests skip.
var browser context.Context

// banner frames a message no one running the tests should miss.
func banner(lines ...string) string {
	rule := strings.Repeat("*", 72)
	return "\n" + rule + "\n" + strings.Join(lines, "\n") + "\n" + rule + "\n"
}

// TestMain starts one Chromium for the whole package. Without one the
// browser tests skip, loudly, except under CI=true, where they fail. With
// KEYDESK_TEST_STORE=postgres the server under test runs on PostgreSQL, one
// throw-away server for the package and a database per test (store/pgtest,
// whose Run starts and stops it and skips or fails the same way).
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	flag.Parse()
	chrome := FindChrome()
	if chrome == "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprint(os.Stderr, banner(
				"BROWSER TESTS FAILED: no Chromium found, and CI=true requires them",
				"(install the chromium package or set KEYDESK_CHROME)"))
			return 1
		}
		shout(banner(
			"BROWSER TESTS SKIPPED: no Chromium found",
			"(install the chromium package or set KEYDESK_CHROME)",
			"The account flows were NOT checked in a real browser."))
		return m.Run()
	}

	tmp, err := os.MkdirTemp("", "keydesk-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	allocCtx, cancelAlloc := NewAllocator(context.Background(), chrome, tmp)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := chromedp.Do(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: start %s: %v\n", chrome, err)
		return 1
	}
	browser = ctx
	return pgtest.Run(m)
}

// shout writes msg to stderr and, unless the tests run with -v, to the
// terminal too: `go test ./...` shows a passing package's output only with
// -v, and a skipped browser suite must not pass unnoticed.
func shout(msg string) {
	fmt.Fprint(os.Stderr, msg)
	if testing.Verbose() {
		return
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		fmt.Fprint(tty, msg)
		tty.Close()
	}
}

// newTab opens a tab for t in a browser context of its own, so tests share
// no cookies. Everything the test does in it must finish within timeout.
func newTab(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if browser == nil {
		t.Skip("no Chromium found (install the chromium package or set KEYDESK_CHROME)")
	}
	deadline, cancelDeadline := context.WithTimeout(browser, timeout)
	ctx, cancel := chromedp.NewContext(deadline, chromedp.WithNewBrowserContext())
	t.Cleanup(func() {
		cancel()
		cancelDeadline()
	})
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	return ctx
}

// startApp serves a fresh Keydesk for t, on a database of its own, with
// the store options given.
func startApp(t *testing.T, opts ...sqlstore.Option) (baseURL string, db *sqlstore.DB) {
	t.Helper()
	baseURL, db, stop, err := StartApp(t.Context(), pgtest.StoreDSN(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return baseURL, db
}

// newNoScriptTab is newTab with JavaScript off, for the plain-form
// fallbacks.
func newNoScriptTab(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx := newTab(t, timeout)
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("disable JavaScript: %v", err)
	}
	return ctx
}
