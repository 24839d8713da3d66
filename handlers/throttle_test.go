package handlers

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"keydesk/store"
)

// reply is what a concurrent request got; err is a transport failure.
type reply struct {
	status     int
	retryAfter string
	body       string
	err        error
}

// postFrom posts form to path as a browser at addr would (the test server
// must trust loopback as a proxy), with ctx as the request's context and
// no cookies. Safe to call from any goroutine.
func postFrom(ctx context.Context, ts *testServer, addr, path string, form url.Values, cookies ...*http.Cookie) reply {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return reply{err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", addr)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, retryAfter: res.Header.Get("Retry-After"), body: string(b), err: err}
}

func loginForm(email, password string) url.Values {
	return url.Values{"email": {email}, "password": {password}}
}

// waitFor polls cond until it holds, failing the test at the deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The case: 30 wrong passwords for one account sent at once, each
// from its own address. The attempt is claimed before the hash, so exactly
// the limit are checked and the rest answered 429. The owner's browser,
// which signed in before and holds a device cookie, still gets in; any
// other browser waits out the window.
func TestParallelGuessesCostAtMostTheLimit(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8") })
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	owner := ts.client(t)
	res := owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"),
		map[string]string{"X-Forwarded-For": "192.0.2.10"})
	assertStatus(t, res, http.StatusSeeOther)
	assertStatus(t, owner.post("/logout", nil), http.StatusSeeOther)

	before := ts.db.PasswordHashes()
	const guesses = 30
	answers := make(chan reply, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers <- postFrom(context.Background(), ts, fmt.Sprintf("203.0.113.%d", i+1), "/login",
				loginForm("uma@example.com", "wrong-password"))
		}()
	}
	wg.Wait()
	close(answers)
	counts := map[int]int{}
	for a := range answers {
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.status == http.StatusTooManyRequests && a.retryAfter == "" {
			t.Error("429 without Retry-After")
		}
		counts[a.status]++
	}
	if counts[http.StatusUnauthorized] != loginMaxAccount || counts[http.StatusTooManyRequests] != guesses-loginMaxAccount {
		t.Errorf("answers %v; want %d × 401 and the rest 429", counts, loginMaxAccount)
	}
	if n := ts.db.PasswordHashes() - before; n != loginMaxAccount {
		t.Errorf("%d passwords hashed for %d parallel guesses; want the limit, %d", n, guesses, loginMaxAccount)
	}

	// The right password from a browser that never signed in: locked out.
	stranger := postFrom(context.Background(), ts, "198.51.100.1", "/login", loginForm("uma@example.com", "uma-password"))
	if stranger.status != http.StatusTooManyRequests {
		t.Errorf("untrusted browser, right password, account locked: %d, want 429", stranger.status)
	}
	// The owner's browser, from its usual address: in.
	res = owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"),
		map[string]string{"X-Forwarded-For": "192.0.2.10"})
	assertStatus(t, res, http.StatusSeeOther)

	// Its success forgot the account's failures: another browser is served
	// again (a wrong guess is checked, not refused).
	again := postFrom(context.Background(), ts, "198.51.100.2", "/login", loginForm("uma@example.com", "wrong-password"))
	if again.status != http.StatusUnauthorized {
		t.Errorf("after the owner's success: %d, want 401", again.status)
	}
}

// Strangers who use up the account's and the address's attempts do not
// lock out the owner's browser, even from the same address (a shared NAT);
// the device has a limit of its own, and a forged device cookie is none.
func TestDeviceCookieKeepsTheOwnerIn(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8") })
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	const office = "192.0.2.20"
	from := map[string]string{"X-Forwarded-For": office}
	owner := ts.client(t)
	assertStatus(t, owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"), from), http.StatusSeeOther)
	assertStatus(t, owner.post("/logout", nil), http.StatusSeeOther)

	for i := range loginMaxIP {
		email := "uma@example.com"
		if i >= loginMaxAccount {
			email = fmt.Sprintf("guess%d@example.com", i)
		}
		a := postFrom(context.Background(), ts, office, "/login", loginForm(email, "wrong-password"))
		if a.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, a.status)
		}
	}
	if a := postFrom(context.Background(), ts, office, "/login", loginForm("uma@example.com", "uma-password")); a.status != http.StatusTooManyRequests {
		t.Fatalf("stranger at the office: %d, want 429", a.status)
	}

	// A forged or foreign device cookie counts for nothing.
	forged := ts.client(t)
	u, _ := url.Parse(ts.URL)
	forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: "keydesk_device", Value: "forged", Path: "/"}})
	assertStatus(t, forged.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"), from), http.StatusTooManyRequests)

	assertStatus(t, owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"), from), http.StatusSeeOther)
	assertStatus(t, owner.post("/logout", nil), http.StatusSeeOther)

	// The device's own limit: a stolen device cookie buys few guesses.
	for range loginMaxDevice {
		assertStatus(t, owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "wrong-password"), from), http.StatusUnauthorized)
	}
	assertStatus(t, owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"), from), http.StatusTooManyRequests)
	ts.clock.Advance(loginWindow + time.Second)
	assertStatus(t, owner.do(http.MethodPost, "/login", loginForm("uma@example.com", "uma-password"), from), http.StatusSeeOther)
}

// The password change checks the current password the same way: a stolen
// session sending guesses at once gets the limit's worth checked, and 429
// for the rest.
func TestParallelCurrentPasswordGuesses(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8") })
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	owner := ts.client(t)
	owner.login("uma@example.com", "uma-password")
	stolen := owner.sessionCookie()

	before := ts.db.PasswordHashes()
	const guesses = 20
	replies := make(chan reply, guesses)
	for i := range guesses {
		go func() {
			replies <- postFrom(context.Background(), ts, fmt.Sprintf("203.0.113.%d", i+1), "/settings/password",
				passwordForm("guess-guess", "new-password-1", "new-password-1"), stolen)
		}()
	}
	counts := map[int]int{}
	for range guesses {
		counts[(<-replies).status]++
	}
	if counts[http.StatusUnprocessableEntity] != loginMaxAccount || counts[http.StatusTooManyRequests] != guesses-loginMaxAccount {
		t.Errorf("answers %v; want %d × 422 and the rest 429", counts, loginMaxAccount)
	}
	if n := ts.db.PasswordHashes() - before; n != loginMaxAccount {
		t.Errorf("%d current passwords hashed for %d parallel guesses; want %d", n, guesses, loginMaxAccount)
	}
}

// A good login forgets its own account's failures and no other's.
func TestGoodLoginClearsOnlyItsOwnAccount(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8") })
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	ts.createUser(t, "Bob", "bob@example.com", "bob-password", store.RoleUser)
	for i := range loginMaxAccount - 1 {
		for _, email := range []string{"uma@example.com", "bob@example.com"} {
			a := postFrom(context.Background(), ts, fmt.Sprintf("198.51.100.%d", i+1), "/login", loginForm(email, "wrong-password"))
			if a.status != http.StatusUnauthorized {
				t.Fatalf("%s guess %d: %d, want 401", email, i, a.status)
			}
		}
	}
	if a := postFrom(context.Background(), ts, "198.51.100.50", "/login", loginForm("uma@example.com", "uma-password")); a.status != http.StatusSeeOther {
		t.Fatalf("Uma's login: %d, want 303", a.status)
	}
	// Bob's four failures still stand: one more is the fifth, then locked.
	if a := postFrom(context.Background(), ts, "198.51.100.51", "/login", loginForm("bob@example.com", "wrong-password")); a.status != http.StatusUnauthorized {
		t.Fatalf("Bob's fifth guess: %d, want 401", a.status)
	}
	if a := postFrom(context.Background(), ts, "198.51.100.52", "/login", loginForm("bob@example.com", "bob-password")); a.status != http.StatusTooManyRequests {
		t.Errorf("Bob after five failures: %d, want 429 (Uma's login cleared Bob's count)", a.status)
	}
}

// Every login path costs exactly one argon2id check, an unknown email
// included; the count comes from the store, not from a clock.
func TestEveryLoginCostsOneHash(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	for _, tc := range []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", "uma-password"},
		{"wrong password", "uma@example.com", "wrong-password"},
		{"right password", "uma@example.com", "uma-password"},
	} {
		before := ts.db.PasswordHashes()
		ts.client(t).post("/login", loginForm(tc.email, tc.password))
		if n := ts.db.PasswordHashes() - before; n != 1 {
			t.Errorf("%s: %d hashes, want 1", tc.name, n)
		}
	}
}

// With the hash queue held up (its running place taken, two logins
// waiting behind it): a request cancelled while it waits leaves the queue
// at once and is not counted; one address sending 30 logins gets a few
// places and 429 at once for the rest, while another address still gets
// in; and when the queue is full the next login is told 503 at once, not
// at its deadline. Once the queue moves again, everyone who waited is
// served.
func TestHashQueueUnderABurst(t *testing.T) {
	ts := newTestServer(t, func(c *Config) { c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8") })
	ctx := context.Background()
	ts.createUser(t, "Sam", "sam@example.com", "sam-password", store.RoleUser)
	ts.createUser(t, "Bob", "bob@example.com", "bob-password", store.RoleUser)

	// Nothing is hashed until release: the test does not race a slow hash.
	release := ts.db.HoldPasswordHashes()
	defer release()
	held := make(chan reply, 2)
	for i := range 2 {
		go func() {
			held <- postFrom(ctx, ts, fmt.Sprintf("192.0.2.%d", i+1), "/login", loginForm("sam@example.com", "sam-password"))
		}()
		waitFor(t, "the login to queue", func() bool { return ts.db.PasswordHashesWaiting() == i+1 })
	}
	const w0 = 2
	hashes := ts.db.PasswordHashes()

	// A waiter whose request ends leaves at once and is not counted.
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan reply, 1)
	go func() {
		gone <- postFrom(cctx, ts, "192.0.2.9", "/login", loginForm("bob@example.com", "wrong-password"))
	}()
	waitFor(t, "the login to queue", func() bool { return ts.db.PasswordHashesWaiting() == w0+1 })
	cancel()
	waitFor(t, "the cancelled login to leave the queue", func() bool { return ts.db.PasswordHashesWaiting() == w0 })
	if a := <-gone; a.err == nil {
		t.Errorf("the cancelled request was answered: %d", a.status)
	}
	// The attempt was claimed before the queue, and the handler takes it
	// back once it has left the queue, which may be after the client has
	// stopped waiting for it.
	waitFor(t, "the attempt of the check that never ran to be taken back", func() bool {
		acct, ip, err := ts.db.LoginFailures(ctx, "bob@example.com", "192.0.2.9", ts.db.Now().Add(-loginWindow))
		if err != nil {
			t.Fatal(err)
		}
		return acct == 0 && ip == 0
	})

	// One address, 30 logins at once: a few places, 429 at once for the rest.
	const burst = 30
	crowd := make(chan reply, burst)
	for i := range burst {
		go func() {
			crowd <- postFrom(ctx, ts, "203.0.113.66", "/login", loginForm(fmt.Sprintf("guess%d@example.com", i), "wrong-password"))
		}()
	}
	for range burst - hashesPerIP {
		a := <-crowd
		if a.status != http.StatusTooManyRequests || a.retryAfter == "" {
			t.Fatalf("a login past the address's places: %d, Retry-After %q; want 429 with Retry-After", a.status, a.retryAfter)
		}
	}
	waitFor(t, "the address's places to queue", func() bool { return ts.db.PasswordHashesWaiting() == w0+hashesPerIP })

	// Another address still gets a place.
	bob := make(chan reply, 1)
	go func() {
		bob <- postFrom(ctx, ts, "198.51.100.5", "/login", loginForm("bob@example.com", "bob-password"))
	}()
	waitFor(t, "Bob's login to queue", func() bool { return ts.db.PasswordHashesWaiting() == w0+hashesPerIP+1 })

	// Fill the rest of the queue from many addresses; the next is told 503
	// at once.
	filler := make(chan reply, 64)
	n := 0
	for i := 0; ; i++ {
		waiting := ts.db.PasswordHashesWaiting()
		go func() {
			filler <- postFrom(ctx, ts, fmt.Sprintf("198.51.100.%d", 100+i), "/login", loginForm(fmt.Sprintf("filler%d@example.com", i), "wrong-password"))
		}()
		n++
		var full reply
		waitFor(t, "the filler to queue or be refused", func() bool {
			if ts.db.PasswordHashesWaiting() > waiting {
				return true
			}
			select {
			case full = <-filler:
				n--
				return true
			default:
				return false
			}
		})
		if full.status != 0 {
			if full.status != http.StatusServiceUnavailable || full.retryAfter == "" || !strings.Contains(full.body, msgLoginBusy) {
				t.Fatalf("a login past a full queue: %d, Retry-After %q; want 503 with Retry-After and %q",
					full.status, full.retryAfter, msgLoginBusy)
			}
			break
		}
		if i > 64 {
			t.Fatal("the hash queue never filled")
		}
	}
	if n := ts.db.PasswordHashes() - hashes; n != 0 {
		t.Fatalf("%d hashes ran while the queue was held; want 0", n)
	}

	// Everyone who waited is served once the queue moves.
	release()
	for range 2 {
		if a := <-held; a.status != http.StatusSeeOther {
			t.Errorf("a login held in the queue: %d, want 303", a.status)
		}
	}
	if a := <-bob; a.status != http.StatusSeeOther {
		t.Errorf("Bob, from another address during the burst: %d, want 303", a.status)
	}
	for range hashesPerIP {
		if a := <-crowd; a.status != http.StatusUnauthorized {
			t.Errorf("a queued guess: %d, want 401", a.status)
		}
	}
	for range n {
		if a := <-filler; a.status != http.StatusUnauthorized {
			t.Errorf("a queued filler: %d, want 401", a.status)
		}
	}
}

// Sign-up spends the address's attempts before any work, so learning which
// emails have accounts costs what guessing passwords costs; a taken email
// is answered without hashing.
func TestSignupSpendsTheAddressAttempts(t *testing.T) {
	ts := newTestServer(t, func(c *Config) {
		c.Signup = true
		c.TrustedProxies = mustCIDRs(t, "127.0.0.0/8")
	})
	ts.createUser(t, "Uma", "uma@example.com", "uma-password", store.RoleUser)
	const addr = "203.0.113.77"
	before := ts.db.PasswordHashes()
	form := url.Values{"name": {"Eve"}, "email": {"uma@example.com"}, "password": {"long-enough-password"}}
	for i := range loginMaxIP {
		a := postFrom(context.Background(), ts, addr, "/signup", form)
		if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "already exists") {
			t.Fatalf("sign-up %d with a taken email: %d, want 422", i, a.status)
		}
	}
	if n := ts.db.PasswordHashes() - before; n != 0 {
		t.Errorf("%d hashes for sign-ups with a taken email; want 0", n)
	}
	a := postFrom(context.Background(), ts, addr, "/signup", form)
	if a.status != http.StatusTooManyRequests || a.retryAfter == "" || strings.Contains(a.body, "already exists") {
		t.Errorf("sign-up past the address's attempts: %d, Retry-After %q; want 429 that tells nothing", a.status, a.retryAfter)
	}
	if a := postFrom(context.Background(), ts, addr, "/login", loginForm("uma@example.com", "uma-password")); a.status != http.StatusTooManyRequests {
		t.Errorf("login from the same address, its attempts spent on sign-ups: %d, want 429", a.status)
	}

	// Another address signs up, and is signed in, with one hash.
	before = ts.db.PasswordHashes()
	ok := postFrom(context.Background(), ts, "198.51.100.77", "/signup",
		url.Values{"name": {"Ann"}, "email": {"ann@example.com"}, "password": {"long-enough-password"}})
	if ok.status != http.StatusSeeOther {
		t.Errorf("a fresh sign-up: %d, want 303", ok.status)
	}
	if n := ts.db.PasswordHashes() - before; n != 1 {
		t.Errorf("a sign-up hashed %d times; want 1", n)
	}
}
