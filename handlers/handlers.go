// Package handlers is Keydesk's HTTP layer: the routes, the middleware, and
// one handler per page and action. A handler decodes and validates the
// request, calls the store, and renders a view; it holds no SQL and the
// views hold no logic beyond presentation.
package handlers

import (
	"errors"
	"log/slog"
	"net"
	"net/http"

	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
)

// Config is everything the HTTP layer needs from its caller.
type Config struct {
	Store  Store
	Logger *slog.Logger

	// SessionKeys sign session cookies, newest first; the first signs, all
	// verify, so keys can be rotated without signing anyone out.
	SessionKeys [][]byte
	// SecureCookies marks cookies Secure (the server is behind HTTPS).
	SecureCookies bool
	// Signup lets visitors create their own accounts at /signup.
	Signup bool
	// TrustedProxies are the networks whose X-Forwarded-For is believed.
	// Empty: the client's address is the connection's, whatever it says.
	TrustedProxies []*net.IPNet
	// AllowedHosts are the host names (or IP addresses) requests may be
	// addressed to, whatever the port; any other Host header gets a plain
	// 421, so that a name an attacker points at this server (DNS
	// rebinding) reaches nothing. /healthz and /readyz answer every host,
	// for load balancers that address an instance by its IP. Empty: every
	// host is answered (keydesk serve always names them).
	AllowedHosts []string
	// PublicURL is the URL people reach Keydesk at (--public-url), for the
	// usage example shown with a new key; empty: the request's own scheme
	// and host.
	PublicURL string
	// Version is shown in the footer.
	Version string

	// Policy is what keys may be: the scopes offered and the longest
	// lifetime. No scopes: Keydesk's own (store.BuiltinScopes).
	Policy store.KeyPolicy
	// Uses records each API call's key use; the caller runs and flushes
	// it (see UseRecorder).
	Uses *UseRecorder
}

// Tunables with production defaults; tests shorten some.
const (
	sessionIdle     = 24 * time.Hour
	sessionAbsolute = 7 * 24 * time.Hour
	sessionTouch    = time.Minute // last-seen is written at most this often per session

	loginWindow     = 15 * time.Minute
	loginMaxAccount = 5  // attempts per account in the window, from browsers it has not signed in from
	loginMaxIP      = 20 // attempts per client IP in the window, sign-ups included, the same
	loginMaxDevice  = 5  // attempts per trusted device cookie in the window
	hashesPerIP     = 4  // password checks one client address may have running or waiting

	requestTimeout = 15 * time.Second
	bodyLimit      = "64K"
)

// server holds the dependencies every handler shares.
type server struct {
	db       Store
	log      *slog.Logger
	sessions *sessionStore
	devices  *deviceCookies
	hashGate *addressGate
	uses     *UseRecorder
	pages    *pageCache
	lastUsed *lastUsedPicks
	cfg      Config
}

// New builds the whole application as an http.Handler.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("handlers: no store")
	}
	if len(cfg.SessionKeys) == 0 {
		return nil, errors.New("handlers: no session keys")
	}
	if cfg.Uses == nil {
		return nil, errors.New("handlers: no use recorder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if len(cfg.Policy.Scopes) == 0 {
		cfg.Policy.Scopes = store.BuiltinScopes
	}
	s := &server{
		db:       cfg.Store,
		log:      cfg.Logger,
		sessions: newSessionStore(cfg.Store, cfg.SessionKeys, cfg.SecureCookies, sessionIdle, sessionAbsolute),
		devices:  newDeviceCookies(cfg.SessionKeys, cfg.SecureCookies),
		hashGate: newAddressGate(hashesPerIP),
		uses:     cfg.Uses,
		pages:    newPageCache(),
		lastUsed: newLastUsedPicks(store.LastUsedEvery),
		cfg:      cfg,
	}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = echo.ExtractIPDirect()
	if len(cfg.TrustedProxies) > 0 {
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range cfg.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}
	s.routes(e)
	return e, nil
}
