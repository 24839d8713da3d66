package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
)

const ctxAPIKey = "keydesk.apikey"

// apiError is the body of every API refusal.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// requireAPIKey authenticates /api/ requests by API key, from
// "Authorization: Bearer <key>" or "X-API-Key: <key>", and by nothing else:
// session cookies are never read here, and a key in the URL is refused,
// since URLs end up in logs, histories and Referer headers. A malformed key
// is refused before any query; a store failure is 503, never 401.
func (s *server) requireAPIKey(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if keyInQuery(r.URL.RawQuery) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
			return c.JSON(http.StatusBadRequest, apiError{"invalid_request",
				"API keys are not accepted in the URL. Send the key in the Authorization header."})
		}
		key := presentedKey(r)
		if key == "" {
			c.Response().Header().Set("WWW-Authenticate", "Bearer")
			return c.JSON(http.StatusUnauthorized, apiError{Error: "unauthorized"})
		}
		invalid := func() error {
			c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			return c.JSON(http.StatusUnauthorized, apiError{Error: "invalid_token"})
		}
		if store.ParseKey(key) != nil {
			return invalid()
		}
		m, err := s.db.FindKey(r.Context(), store.HashKey(key))
		if errors.Is(err, store.ErrNotFound) {
			return invalid()
		}
		if err != nil {
			s.log.Error("find key", "err", err, "request_id", c.Response().Header().Get(echo.HeaderXRequestID))
			return c.JSON(http.StatusServiceUnavailable, apiError{Error: "unavailable"})
		}
		need := routeScopes[c.Path()]
		now := s.db.Now()
		verdict, result := m.Check(now, need...)
		s.uses.Record(store.KeyUse{KeyID: m.Key.ID, At: now, ClientIP: c.RealIP(), UserAgent: r.UserAgent(),
			Route: r.Method + " " + c.Path(), Result: result, Previous: m.Previous, PrevLast4: m.PrevLast4(),
			SetsLastUsed: s.setsLastUsed(m, verdict, now)})
		switch verdict {
		case store.VerdictValid:
		case store.VerdictInsufficientScope:
			missing := need[0]
			for _, sc := range need {
				if !m.Key.HasScope(sc, m.Owner) {
					missing = sc
					break
				}
			}
			c.Response().Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="`+missing+`"`)
			return c.JSON(http.StatusForbidden, scopeError{Error: "insufficient_scope", Scope: missing})
		default:
			return invalid()
		}
		c.Set(ctxAPIKey, m.Key)
		c.Set(ctxUser, m.Owner)
		return next(c)
	}
}

// routeScopes are the scopes each of Keydesk's own API routes needs, by
// route path.
var routeScopes = map[string][]string{
	"/api/v1/me":          {store.ScopeProfileRead},
	"/api/v1/keys":        {store.ScopeKeysRead},
	"/api/v1/keys/verify": {store.ScopeKeysVerify},
}

// scopeError is the body of a 403 for a missing scope (RFC 6750 3.1).
type scopeError struct {
	Error string `json:"error"`
	Scope string `json:"scope"`
}

// presentedKey is the key the request carries, if any.
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

// keyInQuery reports a query that carries, or tries to carry, a key: under
// a name that means one, or anywhere else in it, whatever the parameter's
// name (?q=kdk_…), as a name of its own (?kdk_…) or percent-encoded. It
// reads the raw query rather than url.ParseQuery's result, which silently
// drops a pair holding a ';' (?x;q=kdk_…): that key still travels in the URL,
// into proxies' logs and browser histories.
func keyInQuery(rawQuery string) bool {
	isSeparator := func(r rune) bool { return r == '&' || r == ';' }
	for _, pair := range strings.FieldsFunc(rawQuery, isSeparator) {
		name, value, _ := strings.Cut(pair, "=")
		name, value = unescapeQuery(name), unescapeQuery(value)
		if strings.Contains(name, store.KeyPrefix) || strings.Contains(value, store.KeyPrefix) {
			return true
		}
		switch strings.ToLower(name) {
		case "api_key", "apikey", "key", "token", "access_token":
			return true
		}
	}
	return false
}

// unescapeQuery decodes one query name or value, or keeps it as sent when
// it is not valid percent-encoding.
func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// setsLastUsed reports whether a call at now with the key m matched, which
// got verdict, becomes the key's Last Used: a valid call of its current
// secret does, at most one per key per store.LastUsedEvery. The stored
// time answers most calls; within this process lastUsedPicks picks one of
// many concurrent calls; across instances the batch's UPDATE keeps its own
// condition. The call is written with the next batch of recent
// use, so no call waits on a write.
func (s *server) setsLastUsed(m store.KeyMatch, verdict string, now time.Time) bool {
	k := m.Key
	if verdict != store.VerdictValid || m.Previous {
		return false
	}
	if !k.LastUsedAt.IsZero() && now.Sub(k.LastUsedAt) < store.LastUsedEvery {
		return false
	}
	return s.lastUsed.pick(k.ID, now)
}

// meResponse is GET /api/v1/me.
type meResponse struct {
	UserID    string   `json:"user_id"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	KALPID    string   `json:"kalp_id"`
	KYCStatus string   `json:"kyc_status"`
	Key       keyBrief `json:"key"`
}

type keyBrief struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// keyScopes are the scopes a key holds, as the API lists them: a key made
// before scopes existed holds every one the operator offers (but an
// admin-only scope only while its owner is an admin).
func (s *server) keyScopes(k *store.APIKey, owner *store.User) []string {
	out := []string{}
	if !k.AllScopes() {
		return append(out, k.Scopes...)
	}
	for _, sc := range s.cfg.Policy.Scopes {
		if k.HasScope(sc.Name, owner) {
			out = append(out, sc.Name)
		}
	}
	return out
}

// optionalTime is t for JSON: null when zero.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *server) apiMe(c echo.Context) error {
	u := currentUser(c)
	k, _ := c.Get(ctxAPIKey).(*store.APIKey)
	return c.JSON(http.StatusOK, meResponse{
		UserID: u.PublicID, Name: u.Name, Email: u.Email, KALPID: u.KALPID, KYCStatus: string(u.KYCStatus),
		Key: keyBrief{ID: k.PublicID, Name: k.Name, Scopes: s.keyScopes(k, u), ExpiresAt: optionalTime(k.ExpiresAt)},
	})
}

// keyJSON is a key's metadata in the API: never the key itself.
type keyJSON struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	MaskedKey   string     `json:"masked_key"`
	Last4       string     `json:"last4"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	// Status is the key's switch; an enabled key works unless Expired.
	// EffectiveStatus says whether it works, and if not why
	// (store.EffectiveState): enabled, disabled, disabled_by_admin,
	// expired.
	Scopes          []string   `json:"scopes"`
	ExpiresAt       *time.Time `json:"expires_at"`
	Expired         bool       `json:"expired"`
	EffectiveStatus string     `json:"effective_status"`
}

func (s *server) apiKeys(c echo.Context) error {
	keys, err := s.db.KeysForUser(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return err
	}
	out := struct {
		Keys []keyJSON `json:"keys"`
	}{Keys: make([]keyJSON, 0, len(keys))}
	now := s.db.Now()
	for _, k := range keys {
		j := keyJSON{ID: k.PublicID, Name: k.Name, Description: k.Description, Status: keyStatus(k.Enabled),
			MaskedKey: k.Masked(), Last4: k.Last4, CreatedAt: k.CreatedAt,
			Scopes: s.keyScopes(k, currentUser(c)), ExpiresAt: optionalTime(k.ExpiresAt), Expired: k.Expired(now),
			EffectiveStatus: string(store.EffectiveState(k, currentUser(c).Disabled, now))}
		if !k.LastUsedAt.IsZero() {
			used := k.LastUsedAt
			j.LastUsedAt = &used
		}
		out.Keys = append(out.Keys, j)
	}
	return c.JSON(http.StatusOK, out)
}

func keyStatus(enabled bool) string {
	if enabled {
		return "enabled"
	}
	return "disabled"
}
