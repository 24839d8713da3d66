package handlers

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// Regenerate gives a key a new secret without an outage: the old secret
// keeps working for the overlap its owner chooses, then stops by itself
// (or at once, with End overlap now). The key keeps its id, name,
// description and scopes; the store does the swap.

const msgChooseOverlap = "Choose how long the old key keeps working."

// defaultOverlap is the preselected overlap: a day is enough to roll a new
// secret out to most deployments, and short enough to forget nothing.
const defaultOverlap = "24h"

// regenerateInput is the Regenerate confirmation as posted.
type regenerateInput struct {
	Overlap, ExpiresIn, ExpiresOn string
}

// regenerateKeyForm opens the Regenerate confirmation in the key's row.
func (s *server) regenerateKeyForm(c echo.Context) error {
	k, err := s.db.KeyForUser(c.Request().Context(), currentUser(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	in := regenerateInput{Overlap: defaultOverlap, ExpiresIn: s.cfg.Policy.DefaultExpiresIn()}
	return s.answerKeys(c, http.StatusOK, views.KeysSection{
		Regenerating: k.PublicID, Regen: s.regenerateForm(k, s.db.Now(), in, nil),
	}, "")
}

// regenerateKey gives the key its new secret and shows it once, as
// creation does: for htmx in the create panel, with the table out of band;
// otherwise on the whole page. Bad input is answered with the confirmation
// again, its errors beside the fields (422), and changes nothing.
func (s *server) regenerateKey(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	u := currentUser(c)
	ctx := c.Request().Context()
	k, err := s.db.KeyForUser(ctx, u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	in := regenerateInput{Overlap: text(c, "overlap"), ExpiresIn: text(c, "expires_in"), ExpiresOn: text(c, "expires_on")}
	now := s.db.Now()
	f := &form{}
	overlap, ok := store.ParseOverlap(in.Overlap)
	f.check(ok, "overlap", msgChooseOverlap)
	// Scopes are kept: the terms ask for none, and the scopes Resolve
	// returns are not used.
	expiresAt, _, errs := store.KeyTerms{ExpiresIn: in.ExpiresIn, ExpiresOn: in.ExpiresOn}.Resolve(s.cfg.Policy, now, u.IsAdmin())
	f.checkAll(errs)
	if !f.valid() {
		if isHTMX(c) {
			// The form posts to the create panel, where the new key
			// appears; its errors belong in the row.
			c.Response().Header().Set("HX-Retarget", "#keys")
			c.Response().Header().Set("HX-Reswap", "outerHTML")
		}
		return s.answerKeys(c, http.StatusUnprocessableEntity, views.KeysSection{
			Regenerating: k.PublicID, Regen: s.regenerateForm(k, now, in, f.FieldErrors),
		}, "")
	}

	ev := s.event(c, u, store.ActionKeyRegenerated, "")
	ev.Detail = regenerateDetail(k, now, in.Overlap, overlap, expiresAt)
	k, secret, err := s.db.RegenerateKey(ctx, u.ID, k.PublicID, overlap, expiresAt, ev)
	if err != nil {
		return err
	}
	now = s.db.Now()
	panel := views.CreatePanel{Step: views.PanelCreated, Created: views.CreatedKey{
		ID: k.PublicID, Secret: secret, Name: k.Name, Enabled: k.Enabled, Created: views.NewTime(k.CreatedAt, now),
		Summary: s.keySummary(k.ExpiresAt, k.Scopes), Usage: s.usage(c, secret, k.Scopes),
	}}
	section := views.KeysSection{Notice: regeneratedNotice(k, now)}
	if !isHTMX(c) {
		return s.renderKeys(c, http.StatusOK, panel, section)
	}
	section, err = s.keysSection(c, section)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.CreatePanelFragment(panel), views.KeysSectionFragment(section, true))
}

// endOverlap stops the key's old secret now. An overlap that has already
// ended (by time, or in another tab) changes nothing and says so.
func (s *server) endOverlap(c echo.Context) error {
	u := currentUser(c)
	ctx := c.Request().Context()
	k, err := s.db.KeyForUser(ctx, u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	ev := s.event(c, u, store.ActionKeyOverlapEnd, "")
	ev.Detail = "old secret " + store.MaskKey(k.PrevLast4) + " stopped; it was to work until " + exactUTC(k.PrevUntil)
	_, err = s.db.EndOverlap(ctx, u.ID, k.PublicID, ev)
	var notice string
	switch {
	case errors.Is(err, store.ErrNoOverlap):
		notice = "The old key of “" + k.Name + "” had already stopped working."
	case err != nil:
		return err
	default:
		notice = "The old key of “" + k.Name + "” stopped working. Only its new key works now."
	}
	return s.answerKeys(c, http.StatusOK, views.KeysSection{Notice: notice}, notice)
}

// regenerateForm is the confirmation for k as seen at now, with the input
// so far and its errors.
func (s *server) regenerateForm(k *store.APIKey, now time.Time, in regenerateInput, errs map[string]string) views.RegenerateForm {
	p := s.cfg.Policy
	f := views.RegenerateForm{
		Overlap: in.Overlap, ExpiresIn: in.ExpiresIn, ExpiresOn: in.ExpiresOn, Errors: errs,
		Expired: k.Expired(now), Enabled: k.Enabled, DisabledByAdmin: k.DisabledByAdmin,
	}
	if f.ExpiresIn == "" {
		f.ExpiresIn = p.DefaultExpiresIn()
	}
	for _, o := range store.Overlaps {
		f.Overlaps = append(f.Overlaps, views.Choice{Value: o.Value, Label: o.Label})
	}
	for _, d := range p.ExpiryPresetsOffered() {
		label := strconv.Itoa(d) + " days"
		if d == 365 {
			label = "1 year"
		}
		f.Expiry = append(f.Expiry, views.Choice{Value: strconv.Itoa(d), Label: label})
	}
	if p.NeverOffered() {
		f.Expiry = append(f.Expiry, views.Choice{Value: "never", Label: "No expiration"})
	}
	f.Expiry = append(f.Expiry, views.Choice{Value: "custom", Label: "Custom date"})
	today := now.UTC().Truncate(24 * time.Hour)
	f.MinDate = today.AddDate(0, 0, 1).Format(time.DateOnly)
	if p.MaxLifetime > 0 {
		f.MaxDate = today.AddDate(0, 0, p.MaxLifetime).Format(time.DateOnly)
	}
	if !k.ExpiresAt.IsZero() {
		t := views.NewTime(k.ExpiresAt, now)
		f.ExpiresAt = &t
	}
	if k.InOverlap(now) {
		f.StillWorking = store.MaskKey(k.PrevLast4)
	}
	return f
}

// overlapView is what the key's row shows of its previous secret while it
// works, or nil. The secret never outlives the key's own expiry.
func overlapView(k *store.APIKey, now time.Time) *views.Overlap {
	until := k.PrevUntil
	if !k.ExpiresAt.IsZero() && k.ExpiresAt.Before(until) {
		until = k.ExpiresAt
	}
	if !k.InOverlap(now) || !now.Before(until) {
		return nil
	}
	o := &views.Overlap{Masked: store.MaskKey(k.PrevLast4), Until: views.NewDeadline(until, now)}
	if !k.PrevLastUsedAt.IsZero() {
		t := views.NewTime(k.PrevLastUsedAt, now)
		o.LastUsed = &t
	}
	return o
}

// regeneratedNotice tells what became of the old secret.
func regeneratedNotice(k *store.APIKey, now time.Time) string {
	notice := "Key “" + k.Name + "” regenerated. "
	if o := overlapView(k, now); o != nil {
		return notice + "The old key " + o.Masked + " works until " + o.Until.Exact + "."
	}
	return notice + "The old key stopped working."
}

// regenerateDetail is the audit event's account of a regeneration: the
// overlap chosen and what it gives, and the new expiry. Never a secret.
func regenerateDetail(k *store.APIKey, now time.Time, value string, overlap time.Duration, expiresAt time.Time) string {
	label := value
	for _, o := range store.Overlaps {
		if o.Value == value {
			label = o.Label
		}
	}
	until := now.Add(overlap)
	if !k.ExpiresAt.IsZero() && k.ExpiresAt.Before(until) {
		until = k.ExpiresAt
	}
	var detail string
	switch {
	case k.Expired(now):
		detail = "overlap: none, the old secret had expired"
	case overlap == 0:
		detail = "overlap: none, the old secret stopped at once"
	default:
		detail = "overlap: " + label + ", the old secret works until " + exactUTC(until)
	}
	if expiresAt.IsZero() {
		return detail + "; expires: never"
	}
	return detail + "; expires: " + exactUTC(expiresAt)
}

// exactUTC is a time as the audit log's details give it.
func exactUTC(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04:05 MST") }
