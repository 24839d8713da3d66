package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Config is what the gateway needs.
type Config struct {
	Keydesk     *url.URL // Keydesk's base URL
	VerifierKey string   // an admin's key holding keys:verify
	Upstream    *url.URL // where verified calls go
	Routes      []Route
	Logger      *slog.Logger
	// Client calls Keydesk; http.DefaultClient's transport with a 5 s
	// timeout when nil.
	Client *http.Client
}

// Route is a rule: calls whose method (any when empty) and path prefix
// match need every scope listed.
type Route struct {
	Method string
	Prefix string
	Scopes []string
}

var scopeName = regexp.MustCompile(`^[a-z][a-z0-9_.:-]{0,63}$`)

// ParseRoutes reads "[METHOD ]PREFIX=SCOPE[+SCOPE…]" rules, comma-separated.
func ParseRoutes(spec string) ([]Route, error) {
	var out []Route
	for rule := range strings.SplitSeq(spec, ",") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		lhs, rhs, ok := strings.Cut(rule, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want [METHOD ]PREFIX=SCOPE", rule)
		}
		var r Route
		if m, p, hasMethod := strings.Cut(strings.TrimSpace(lhs), " "); hasMethod {
			r.Method, r.Prefix = strings.ToUpper(m), strings.TrimSpace(p)
		} else {
			r.Prefix = m
		}
		if !strings.HasPrefix(r.Prefix, "/") {
			return nil, fmt.Errorf("%q: the path prefix must start with /", rule)
		}
		for s := range strings.SplitSeq(rhs, "+") {
			if s = strings.TrimSpace(s); !scopeName.MatchString(s) {
				return nil, fmt.Errorf("%q: %q is not a scope name", rule, s)
			}
			r.Scopes = append(r.Scopes, s)
		}
		out = append(out, r)
	}
	return out, nil
}

// scopesFor are the scopes a call needs: the longest matching prefix's,
// a rule with the call's method before one for any method.
func scopesFor(routes []Route, method, path string) []string {
	best, bestLen, bestMethod := []string(nil), -1, false
	for _, r := range routes {
		if (r.Method != "" && r.Method != method) || !strings.HasPrefix(path, r.Prefix) {
			continue
		}
		if n := len(r.Prefix); n > bestLen || (n == bestLen && r.Method != "" && !bestMethod) {
			best, bestLen, bestMethod = r.Scopes, n, r.Method != ""
		}
	}
	return best
}

// The headers the gateway sets on a verified call, for the platform's API
// to trust: any a caller sends under these names is removed first.
const (
	HeaderUserID    = "X-Keydesk-User-Id"
	HeaderEmail     = "X-Keydesk-Email"
	HeaderKALPID    = "X-Keydesk-Kalp-Id"
	HeaderKYCStatus = "X-Keydesk-Kyc-Status"
	HeaderKeyID     = "X-Keydesk-Key-Id"
	HeaderScopes    = "X-Keydesk-Scopes"
)

type verifyRequest struct {
	Key       string   `json:"key"`
	Scopes    []string `json:"scopes,omitempty"`
	ClientIP  string   `json:"client_ip,omitempty"`
	UserAgent string   `json:"user_agent,omitempty"`
	Route     string   `json:"route,omitempty"`
}

type verifyResponse struct {
	Valid bool   `json:"valid"`
	Code  string `json:"code"`
	Key   struct {
		ID     string   `json:"id"`
		Scopes []string `json:"scopes"`
	} `json:"key"`
	Owner struct {
		UserID    string `json:"user_id"`
		Email     string `json:"email"`
		KALPID    string `json:"kalp_id"`
		KYCStatus string `json:"kyc_status"`
	} `json:"owner"`
}

// New builds the gateway.
func New(cfg Config) (http.Handler, error) {
	if cfg.Keydesk == nil || cfg.Upstream == nil {
		return nil, errors.New("gateway: Keydesk and Upstream are required")
	}
	if cfg.VerifierKey == "" {
		return nil, errors.New("gateway: KEYDESK_VERIFY_KEY is not set: give an admin's key with the scope keys:verify")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 5 * time.Second}
	}
	g := &gateway{cfg: cfg, verifyURL: cfg.Keydesk.JoinPath("/api/v1/keys/verify").String()}
	g.proxy = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(cfg.Upstream)
			r.SetXForwarded()
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			cfg.Logger.Warn("upstream", "err", err, "path", r.URL.Path)
			writeError(w, http.StatusBadGateway, "upstream_unavailable", "")
		},
	}
	return g, nil
}

type gateway struct {
	cfg       Config
	verifyURL string
	proxy     *httputil.ReverseProxy
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := presentedKey(r)
	if key == "" {
		w.Header().Set("WWW-Authenticate", `Bearer`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "")
		return
	}
	need := scopesFor(g.cfg.Routes, r.Method, r.URL.Path)
	v, err := g.verify(r.Context(), verifyRequest{Key: key, Scopes: need, ClientIP: clientIP(r),
		UserAgent: r.UserAgent(), Route: r.Method + " " + r.URL.Path})
	if err != nil {
		// Keydesk could not say: the caller should retry, and must not be
		// told its key is bad.
		g.cfg.Logger.Warn("verify", "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "")
		return
	}
	switch {
	case v.Valid:
	case v.Code == "INSUFFICIENT_SCOPE":
		missing := strings.Join(need, " ")
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope=%q`, missing))
		writeError(w, http.StatusForbidden, "insufficient_scope", missing)
		return
	default:
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "")
		return
	}
	out := r.Clone(r.Context())
	for name := range out.Header {
		if strings.HasPrefix(http.CanonicalHeaderKey(name), "X-Keydesk-") {
			out.Header.Del(name)
		}
	}
	// The key stays here: the platform's API gets who called, not the
	// secret to call as them.
	out.Header.Del("Authorization")
	out.Header.Del("X-Api-Key")
	out.Header.Set(HeaderUserID, v.Owner.UserID)
	out.Header.Set(HeaderEmail, v.Owner.Email)
	out.Header.Set(HeaderKALPID, v.Owner.KALPID)
	out.Header.Set(HeaderKYCStatus, v.Owner.KYCStatus)
	out.Header.Set(HeaderKeyID, v.Key.ID)
	out.Header.Set(HeaderScopes, strings.Join(v.Key.Scopes, " "))
	g.proxy.ServeHTTP(w, out)
}

// verify asks Keydesk. Any answer but a verdict is an error.
func (g *gateway) verify(ctx context.Context, body verifyRequest) (verifyResponse, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.verifyURL, bytes.NewReader(b))
	if err != nil {
		return verifyResponse{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.cfg.VerifierKey)
	res, err := g.cfg.Client.Do(req)
	if err != nil {
		return verifyResponse{}, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(res.Body, 4<<10))
		return verifyResponse{}, fmt.Errorf("keydesk answered %s (is the verifier key an admin's, with keys:verify?)", res.Status)
	}
	var v verifyResponse
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(&v); err != nil {
		return verifyResponse{}, fmt.Errorf("keydesk's answer: %w", err)
	}
	if !v.Valid && v.Code == "" {
		return verifyResponse{}, errors.New("keydesk's answer has no code")
	}
	return v, nil
}

// presentedKey is the caller's key, from Authorization: Bearer or
// X-API-Key.
func presentedKey(r *http.Request) string {
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, token, ok := strings.Cut(auth, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token)
		}
		return ""
	}
	return strings.TrimSpace(r.Header.Get("X-API-Key"))
}

// clientIP is the connection's address: this example trusts no
// X-Forwarded-For (put the gateway first, or extend this).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeError(w http.ResponseWriter, status int, code, scope string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	body := map[string]string{"error": code}
	if scope != "" {
		body["scope"] = scope
	}
	json.NewEncoder(w).Encode(body)
}
