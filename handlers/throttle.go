package handlers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"

	"keydesk/store"
)

// addressGate bounds how many password hashes one client address may have
// running or waiting at once. The store's hash queue is shared by everyone,
// so without this one client sending hundreds of logins at once would fill
// it and make every other login wait; past the bound a request is told 429
// at once instead.
type addressGate struct {
	limit int
	mu    sync.Mutex
	busy  map[string]int
}

func newAddressGate(limit int) *addressGate {
	return &addressGate{limit: limit, busy: map[string]int{}}
}

// enter takes a place for addr, or reports false when it has none left;
// every true must be followed by one leave.
func (g *addressGate) enter(addr string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[addr] >= g.limit {
		return false
	}
	g.busy[addr]++
	return true
}

func (g *addressGate) leave(addr string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy[addr]--; g.busy[addr] <= 0 {
		delete(g.busy, addr)
	}
}

// A device cookie (OWASP's "device cookies" against online guessing) is set
// by a successful sign-in and names the account, as a hash of its email, and
// a random token. Sign-ins that present one for the account they name are
// counted per token, not against the account or the address: strangers who
// use up those cannot lock the owner out of the browser they normally use.
// It is signed with the session keys (securecookie's MAC covers the cookie's
// name, so a session cookie cannot pass for one), HttpOnly, and holds no
// secret beyond its own token.
const deviceMaxAge = 180 * 24 * time.Hour

type deviceCookies struct {
	codecs []securecookie.Codec
	secure bool
}

func newDeviceCookies(keys [][]byte, secure bool) *deviceCookies {
	codecs := make([]securecookie.Codec, 0, len(keys))
	for _, k := range keys {
		c := securecookie.New(k, nil)
		c.MaxAge(int(deviceMaxAge.Seconds()))
		codecs = append(codecs, c)
	}
	return &deviceCookies{codecs: codecs, secure: secure}
}

func (d *deviceCookies) name() string {
	if d.secure {
		return "__Host-keydesk_device"
	}
	return "keydesk_device"
}

// deviceAccount names an account in a device cookie without its email.
func deviceAccount(email string) string {
	sum := sha256.Sum256([]byte("device-account\x00" + store.NormalizeEmail(email)))
	return hex.EncodeToString(sum[:])
}

// token returns the request's device token when its device cookie is valid
// and names the account of email; "" otherwise.
func (d *deviceCookies) token(r *http.Request, email string) string {
	ck, err := r.Cookie(d.name())
	if err != nil {
		return ""
	}
	var v string
	if err := securecookie.DecodeMulti(d.name(), ck.Value, &v, d.codecs...); err != nil {
		return ""
	}
	account, token, ok := strings.Cut(v, ".")
	if !ok || token == "" || account != deviceAccount(email) {
		return ""
	}
	return token
}

// set gives the browser a new device cookie for the account of email.
func (d *deviceCookies) set(w http.ResponseWriter, email string) error {
	token := make([]byte, 16)
	rand.Read(token)
	v, err := securecookie.EncodeMulti(d.name(), deviceAccount(email)+"."+hex.EncodeToString(token), d.codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: d.name(), Value: v, Path: "/", MaxAge: int(deviceMaxAge.Seconds()),
		HttpOnly: true, Secure: d.secure, SameSite: http.SameSiteLaxMode})
	return nil
}
