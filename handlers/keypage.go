package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// useChartDays is how many UTC days the key page's chart shows, today
// included: the whole of store.UseRetention.
const useChartDays = int(store.UseRetention / (24 * time.Hour))

// useResults are the recorded results as the key page names them.
var useResults = map[string]string{
	store.UseOK:                "OK",
	store.UseDisabled:          "Disabled",
	store.UseExpired:           "Expired",
	store.UseOverlapEnded:      "Old key after overlap",
	store.UseInsufficientScope: "Missing scope",
	store.UseOwnerDisabled:     "Owner disabled",
}

// keyPage is GET /settings/api-keys/{id}: one of the user's keys and its
// recent use. Another user's key is not found (404), as everywhere.
func (s *server) keyPage(c echo.Context) error {
	u := currentUser(c)
	k, err := s.db.KeyForUser(c.Request().Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	v, err := s.keyPageView(c, k, u)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.KeyPage(v))
}

// adminKeyPage is GET /admin/api-keys/{id}: the same page for any user's
// key, with its owner, for an admin (hideAdmin answers 404 to anyone else).
func (s *server) adminKeyPage(c echo.Context) error {
	ctx := c.Request().Context()
	page, err := s.db.KeyInventory(ctx, store.InventoryFilter{IDs: []string{c.Param("id")}, Limit: 1})
	if err != nil {
		return err
	}
	if len(page.Rows) != 1 {
		return store.ErrNotFound
	}
	row := page.Rows[0]
	owner, err := s.db.UserByID(ctx, row.OwnerID)
	if err != nil {
		return err
	}
	v, err := s.keyPageView(c, &row.Key, owner)
	if err != nil {
		return err
	}
	v.Owner = &views.KeyOwner{Name: owner.Name, Email: owner.Email, UserID: owner.PublicID, Disabled: owner.Disabled}
	return render(c, http.StatusOK, views.KeyPage(v))
}

// keyPageView reads the key's recent use and lays out the page.
func (s *server) keyPageView(c echo.Context, k *store.APIKey, owner *store.User) (views.KeyPageView, error) {
	ctx := c.Request().Context()
	now := s.db.Now()
	uses, err := s.db.RecentKeyUses(ctx, k.ID)
	if err != nil {
		return views.KeyPageView{}, err
	}
	days, err := s.db.KeyUseDays(ctx, k.ID, now.AddDate(0, 0, 1-useChartDays), now)
	if err != nil {
		return views.KeyPageView{}, err
	}
	v := views.KeyPageView{Page: s.page(c, k.Name), Key: s.keyDetails(k, owner, now)}
	v.Description = keyPageDescription(k.Name)
	for _, u := range uses {
		label := useResults[u.Result]
		if label == "" {
			label = u.Result
		}
		v.Uses = append(v.Uses, views.KeyUseRow{At: views.NewTime(u.At, now), ClientIP: u.ClientIP,
			UserAgent: u.UserAgent, Route: u.Route, Result: label, OK: u.OK()})
	}
	for _, d := range days {
		v.Chart.Days = append(v.Chart.Days, views.ChartDay{Day: d.Day, OK: d.OK, Refused: d.Refused})
	}
	return v, nil
}

// keyDetails are the key as its page describes it.
func (s *server) keyDetails(k *store.APIKey, owner *store.User, now time.Time) views.KeyDetails {
	d := views.KeyDetails{ID: k.PublicID, Name: k.Name, Description: k.Description, Masked: k.Masked(),
		Created: views.NewTime(k.CreatedAt, now), LastUsedIP: k.LastUsedIP, AllScopes: k.AllScopes()}
	d.Status = keyStatusView(store.EffectiveState(k, owner != nil && owner.Disabled, now))
	if !k.LastUsedAt.IsZero() {
		t := views.NewTime(k.LastUsedAt, now)
		d.LastUsed = &t
	}
	if !k.ExpiresAt.IsZero() {
		t := views.NewTime(k.ExpiresAt, now)
		d.Expires, d.Expired, d.ExpiresIn = &t, k.Expired(now), views.FromNow(k.ExpiresAt, now)
	}
	for _, name := range s.keyScopes(k, owner) {
		sc, _ := s.cfg.Policy.Scope(name)
		d.Scopes = append(d.Scopes, views.ScopeView{Name: name, Description: sc.Description})
	}
	if k.PrevLast4 != "" {
		p := &views.PreviousSecret{Masked: store.MaskKey(k.PrevLast4), Until: views.NewTime(k.PrevUntil, now),
			UntilIn: views.FromNow(k.PrevUntil, now), Working: k.InOverlap(now)}
		if !k.PrevLastUsedAt.IsZero() {
			t := views.NewTime(k.PrevLastUsedAt, now)
			p.LastUsed = &t
		}
		d.Previous = p
	}
	return d
}
