package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// The admin inventory's share of the key lifecycle: the filters by expiry
// and scope, the export's expiry and scopes, and the refusal to enable an
// expired key.

// scopeOptions are the scope filter's choices: every scope of the policy,
// the admin-only ones included, by name.
func (s *server) scopeOptions() []views.KYCOption {
	var out []views.KYCOption
	for _, sc := range s.cfg.Policy.Scopes {
		out = append(out, views.KYCOption{Value: sc.Name, Label: sc.Name})
	}
	return out
}

// refuseExpiredEnable answers an admin's enable of an expired key, which
// the store refused and which changed nothing: beside the key's switch
// (422, which htmx swaps in), or in a notice back on the inventory for a
// plain post. Only the owner's regeneration brings such a key back.
func (s *server) refuseExpiredEnable(c echo.Context) error {
	page, err := s.db.KeyInventory(c.Request().Context(), store.InventoryFilter{IDs: []string{c.Param("id")}, Listing: true})
	if err != nil {
		return err
	}
	if len(page.Rows) != 1 {
		return store.ErrNotFound
	}
	row := inventoryRowView(page.Rows[0], s.db.Now())
	if !isHTMX(c) {
		return s.redirectWithFlash(c, adminReturn(c, "/admin/api-keys"),
			"“"+row.Name+"” has expired, so it cannot be enabled. Only its owner can bring it back, by regenerating it.")
	}
	// Beside the switch, in a narrow column: the row names the key.
	row.Error = "Expired: it cannot be enabled. Only its owner can regenerate it."
	return render(c, http.StatusUnprocessableEntity, views.AdminKeyRow(row, postValue(c, "return")))
}

// csvExpiry is a key's expiry in the export: RFC 3339, or empty for a key
// that never expires.
func csvExpiry(k store.APIKey) string {
	if k.ExpiresAt.IsZero() {
		return ""
	}
	return k.ExpiresAt.UTC().Format(time.RFC3339)
}

// csvScopes are a key's scopes in the export, space-separated as OAuth's
// scope parameter is (a name holds no space); "*" for a key made before
// scopes, which holds every one ("*" cannot be a scope's name, "all" could).
func csvScopes(k store.APIKey) string {
	if k.AllScopes() {
		return "*"
	}
	return strings.Join(k.Scopes, " ")
}
