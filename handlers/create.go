package handlers

import (
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// The create flow's expiry and scopes (contract v2): reading them from the
// form, offering them, summing them up for the confirmation and the key
// shown once, and showing each key's expiry and scopes in the table.

const msgExpired = "This key has expired, so it cannot be enabled again. Regenerate it to get a new secret and a new expiry."

// postedTerms are the Expiration and Permissions of a create post. A post
// without any scopes field gets the default scopes (store.KeyTerms); the
// form always sends one, empty, so that ticking no box is told apart.
func postedTerms(c echo.Context) store.KeyTerms {
	_, given := c.Request().PostForm["scopes"]
	return store.KeyTerms{
		ExpiresIn:   text(c, "expires_in"),
		ExpiresOn:   text(c, "expires_on"),
		Scopes:      c.Request().PostForm["scopes"],
		ScopesGiven: given,
	}
}

func isAdmin(u *store.User) bool { return u.Role == store.RoleAdmin }

// termsForm is the form's Expiration and Permissions: what the policy
// offers u, with the choices of terms (the defaults where none were made).
func (s *server) termsForm(terms store.KeyTerms, u *store.User) views.KeyTermsForm {
	p := s.cfg.Policy
	today := s.db.Now().UTC().Truncate(24 * time.Hour)
	f := views.KeyTermsForm{
		ExpiresIn: terms.ExpiresIn, ExpiresOn: terms.ExpiresOn,
		Presets: p.ExpiryPresetsOffered(), NeverOffered: p.NeverOffered(),
		MinDate: today.AddDate(0, 0, 1).Format(time.DateOnly),
	}
	if p.MaxLifetime > 0 {
		f.MaxDate = today.AddDate(0, 0, p.MaxLifetime).Format(time.DateOnly)
	}
	switch {
	case f.ExpiresIn == "":
		f.ExpiresIn = p.DefaultExpiresIn()
	case len(f.ExpiresIn) == len(time.DateOnly) && strings.Count(f.ExpiresIn, "-") == 2:
		f.ExpiresIn, f.ExpiresOn = "custom", f.ExpiresIn // a date, as the command line takes it
	}
	chosen := p.DefaultScopes()
	if terms.ScopesGiven {
		chosen = terms.Scopes
	}
	for _, sc := range p.Offered(isAdmin(u)) {
		f.Scopes = append(f.Scopes, views.ScopeOption{Name: sc.Name, Description: sc.Description,
			AdminOnly: sc.AdminOnly, Checked: slices.Contains(chosen, sc.Name)})
	}
	return f
}

// keySummary is a key's expiry and scopes, as the confirmation and the key
// shown once state them.
func (s *server) keySummary(expiresAt time.Time, scopes []string) views.KeySummary {
	sum := views.KeySummary{Expires: views.NewExpiry(expiresAt, s.db.Now(), store.ExpiresSoon)}
	for _, name := range scopes {
		sc, _ := s.cfg.Policy.Scope(name)
		sum.Scopes = append(sum.Scopes, views.ScopeOption{Name: name, Description: sc.Description, AdminOnly: sc.AdminOnly})
	}
	return sum
}

// usage is the example call shown with a new key: Keydesk's own API, at
// the address the viewer reached this server at (or --public-url), on the
// route the key's scopes allow.
func (s *server) usage(c echo.Context, secret string, scopes []string) views.Usage {
	route, note := "/api/v1/me", ""
	switch {
	case slices.Contains(scopes, store.ScopeProfileRead):
	case slices.Contains(scopes, store.ScopeKeysRead):
		route = "/api/v1/keys"
	default:
		note = "This key has neither " + store.ScopeProfileRead + " nor " + store.ScopeKeysRead +
			", so Keydesk's own API refuses this call (403, insufficient_scope): the key is for your platform's services."
	}
	return views.Usage{Command: `curl -H "Authorization: Bearer ` + secret + `" ` + s.baseURL(c) + route, Note: note}
}

// baseURL is where people reach this server: --public-url when given,
// otherwise the scheme and host of the request (whose host checkHost has
// accepted).
func (s *server) baseURL(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/")
	}
	return c.Scheme() + "://" + c.Request().Host
}

// lifecycleRow fills a row's expiry and scopes, and marks it when it is
// the key just created.
func lifecycleRow(row *views.KeyRow, k *store.APIKey, now time.Time, newID string) {
	row.Expires = views.NewExpiry(k.ExpiresAt, now, store.ExpiresSoon)
	row.Scopes, row.AllScopes = k.Scopes, k.AllScopes()
	row.New = newID != "" && k.PublicID == newID
}

// expiringKeys are the keys that expire within store.ExpiresSoon, soonest
// first, for the notice at the top of the page.
func expiringKeys(keys []*store.APIKey, now time.Time) []views.ExpiringKey {
	var soon []*store.APIKey
	for _, k := range keys {
		if k.ExpiresWithin(now, store.ExpiresSoon) {
			soon = append(soon, k)
		}
	}
	slices.SortStableFunc(soon, func(a, b *store.APIKey) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	var out []views.ExpiringKey
	for _, k := range soon {
		out = append(out, views.ExpiringKey{ID: k.PublicID, Name: k.Name, Expires: views.NewExpiry(k.ExpiresAt, now, store.ExpiresSoon)})
	}
	return out
}
