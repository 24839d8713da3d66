package handlers

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

const (
	msgKeyLimit  = "You have 50 keys, the most an account can hold. Delete a key you no longer use to create another."
	msgNameTaken = "You already have a key with this name. Choose another."
	msgAdminOff  = "An admin disabled this key, so only an admin can enable it again. Ask your admin, or create a new key."
)

// keysPage is the API Auth Key page.
func (s *server) keysPage(c echo.Context) error {
	// ?new= is where Done on the shown-once key leads: focus goes to that
	// key's row rather than to the top of the page.
	return s.renderKeys(c, http.StatusOK, views.CreatePanel{}, views.KeysSection{NewID: c.QueryParam("new"), FocusNew: true})
}

// newKeyForm opens the create form: a fragment for htmx, the page otherwise.
func (s *server) newKeyForm(c echo.Context) error {
	panel := views.CreatePanel{Step: views.PanelForm, Terms: s.termsForm(store.KeyTerms{}, currentUser(c))}
	if isHTMX(c) {
		return render(c, http.StatusOK, views.CreatePanelFragment(panel))
	}
	return s.renderKeys(c, http.StatusOK, panel, views.KeysSection{})
}

// createKey is every step of the create flow, told apart by the button
// pressed: none (the form) leads to the confirmation, "confirm" creates the
// key and shows it once, "edit" goes back to the form with the input kept,
// "cancel" creates nothing. The expiry and scopes are checked by
// store.KeyTerms.Resolve, as the command line checks them.
func (s *server) createKey(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	action := postValue(c, "action")
	if action == "cancel" {
		if isHTMX(c) {
			return render(c, http.StatusOK, views.CreatePanelFragment(views.CreatePanel{}))
		}
		return seeOther(c, "/settings/api-keys")
	}

	u := currentUser(c)
	form, err := s.checkKeyForm(c, u, "")
	if err != nil {
		return err
	}
	terms := postedTerms(c)
	expiresAt, scopes, termErrs := terms.Resolve(s.cfg.Policy, s.db.Now(), isAdmin(u))
	form.checkAll(termErrs)
	if action == "edit" {
		return s.answerPanel(c, http.StatusOK, views.CreatePanel{Step: views.PanelForm,
			Form: views.KeyForm{Name: text(c, "name"), Description: text(c, "description")}, Terms: s.termsForm(terms, u)}, false)
	}
	if !form.valid() || action != "confirm" {
		panel := views.CreatePanel{Step: views.PanelConfirm, Form: keyFormView(c, form), Terms: s.termsForm(terms, u),
			Summary: s.keySummary(expiresAt, scopes)}
		status := http.StatusOK
		if !form.valid() {
			panel.Step, status = views.PanelForm, http.StatusUnprocessableEntity
		}
		return s.answerPanel(c, status, panel, false)
	}

	k, secret, err := s.db.CreateKey(c.Request().Context(), u.ID, store.NewKey{Name: text(c, "name"), Description: text(c, "description"),
		Scopes: scopes, ExpiresAt: expiresAt}, s.event(c, u, store.ActionKeyCreated, ""))
	switch {
	case errors.Is(err, store.ErrConflict):
		form.check(false, "name", msgNameTaken)
	case errors.Is(err, store.ErrLimit):
		form.check(false, "form", msgKeyLimit)
	case err != nil:
		return err
	}
	if !form.valid() {
		return s.answerPanel(c, http.StatusUnprocessableEntity,
			views.CreatePanel{Step: views.PanelForm, Form: keyFormView(c, form), Terms: s.termsForm(terms, u)}, false)
	}
	return s.answerPanel(c, http.StatusOK, views.CreatePanel{Step: views.PanelCreated, Created: views.CreatedKey{
		ID: k.PublicID, Secret: secret, Name: k.Name, Enabled: k.Enabled, Created: views.NewTime(k.CreatedAt, s.db.Now()),
		Summary: s.keySummary(k.ExpiresAt, k.Scopes), Usage: s.usage(c, secret, k.Scopes),
	}}, true)
}

// answerPanel answers a create step: for htmx the panel (and, once a key
// exists, the table out of band); otherwise the whole page.
func (s *server) answerPanel(c echo.Context, status int, panel views.CreatePanel, keysChanged bool) error {
	if !isHTMX(c) {
		return s.renderKeys(c, status, panel, views.KeysSection{NewID: panel.Created.ID})
	}
	if !keysChanged {
		return render(c, status, views.CreatePanelFragment(panel))
	}
	section, err := s.keysSection(c, views.KeysSection{Notice: "Key created.", NewID: panel.Created.ID})
	if err != nil {
		return err
	}
	return render(c, status, views.CreatePanelFragment(panel), views.ExpiryNotice(section.Expiring, true),
		views.KeysSectionFragment(section, true))
}

// checkKeyForm validates a posted name and description. except is the id
// of the key being edited, whose own name does not count as taken.
func (s *server) checkKeyForm(c echo.Context, u *store.User, except string) (*form, error) {
	name, desc := text(c, "name"), text(c, "description")
	f := &form{}
	f.checkAll(store.KeyInput{Name: name, Description: desc}.Validate())
	// The form requires a description (SPEC); the command line does not.
	f.check(desc != "", "description", "Describe what the key is for.")
	if !f.valid() {
		return f, nil
	}
	keys, err := s.db.KeysForUser(c.Request().Context(), u.ID)
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		if k.PublicID != except && strings.EqualFold(k.Name, name) {
			f.check(false, "name", msgNameTaken)
		}
	}
	if except == "" && len(keys) >= store.MaxKeysPerUser {
		f.check(false, "form", msgKeyLimit)
	}
	return f, nil
}

func keyFormView(c echo.Context, f *form) views.KeyForm {
	return views.KeyForm{Name: text(c, "name"), Description: text(c, "description"), Errors: f.FieldErrors}
}

// setKeyStatus is the Status switch. The owner of a key an admin disabled
// sees it locked; a post that enables it anyway is refused beside the table
// (422, so htmx shows it) and changes nothing.
func (s *server) setKeyStatus(c echo.Context) error {
	enabled, action, err := keyStatusForm(c)
	if err != nil {
		return err
	}
	u := currentUser(c)
	k, err := s.db.SetKeyEnabled(c.Request().Context(), u.ID, c.Param("id"), enabled, s.event(c, u, action, ""))
	if errors.Is(err, store.ErrDisabledByAdmin) {
		return s.answerKeys(c, http.StatusUnprocessableEntity, views.KeysSection{Error: msgAdminOff}, "")
	}
	if errors.Is(err, store.ErrExpired) {
		return s.answerKeys(c, http.StatusUnprocessableEntity, views.KeysSection{Error: msgExpired}, "")
	}
	if err != nil {
		return err
	}
	notice := "Key “" + k.Name + "” disabled. It stops working at once."
	if enabled {
		notice = "Key “" + k.Name + "” enabled."
	}
	return s.answerKeys(c, http.StatusOK, views.KeysSection{Notice: notice}, notice)
}

// keyStatusForm reads a Status switch's post: the state asked for, and the
// audit action that records it.
func keyStatusForm(c echo.Context) (enabled bool, action string, err error) {
	if err := parseForm(c); err != nil {
		return false, "", err
	}
	switch postValue(c, "enabled") {
	case "true":
		return true, store.ActionKeyEnabled, nil
	case "false":
		return false, store.ActionKeyDisabled, nil
	}
	return false, "", echo.NewHTTPError(http.StatusBadRequest, "enabled must be true or false")
}

// editKeyForm shows a key's edit form in its row.
func (s *server) editKeyForm(c echo.Context) error {
	k, err := s.db.KeyForUser(c.Request().Context(), currentUser(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.answerKeys(c, http.StatusOK, views.KeysSection{
		Editing: k.PublicID, Edit: views.KeyForm{Name: k.Name, Description: k.Description},
	}, "")
}

// editKey saves a key's name and description.
func (s *server) editKey(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	u := currentUser(c)
	id := c.Param("id")
	if _, err := s.db.KeyForUser(c.Request().Context(), u.ID, id); err != nil {
		return err
	}
	f, err := s.checkKeyForm(c, u, id)
	if err != nil {
		return err
	}
	if f.valid() {
		name, desc := text(c, "name"), text(c, "description")
		k, err := s.db.UpdateKey(c.Request().Context(), u.ID, id, store.KeyUpdate{Name: &name, Description: &desc},
			s.event(c, u, store.ActionKeyEdited, ""))
		if errors.Is(err, store.ErrConflict) {
			f.check(false, "name", msgNameTaken)
		} else if err != nil {
			return err
		} else {
			notice := "Key “" + k.Name + "” saved."
			return s.answerKeys(c, http.StatusOK, views.KeysSection{Notice: notice}, notice)
		}
	}
	return s.answerKeys(c, http.StatusUnprocessableEntity,
		views.KeysSection{Editing: id, Edit: keyFormView(c, f)}, "")
}

// deleteKeyConfirm asks before deleting.
func (s *server) deleteKeyConfirm(c echo.Context) error {
	k, err := s.db.KeyForUser(c.Request().Context(), currentUser(c).ID, c.Param("id"))
	if err != nil {
		return err
	}
	return s.answerKeys(c, http.StatusOK, views.KeysSection{Deleting: k.PublicID}, "")
}

// deleteKey deletes a key; it stops working at once.
func (s *server) deleteKey(c echo.Context) error {
	u := currentUser(c)
	k, err := s.db.KeyForUser(c.Request().Context(), u.ID, c.Param("id"))
	if err != nil {
		return err
	}
	if err := s.db.DeleteKey(c.Request().Context(), u.ID, k.PublicID, s.event(c, u, store.ActionKeyDeleted, "")); err != nil {
		return err
	}
	notice := "Key “" + k.Name + "” deleted."
	return s.answerKeys(c, http.StatusOK, views.KeysSection{Notice: notice}, notice)
}

// answerKeys answers a key action: the table for htmx; for a plain post
// that succeeded (flash set), a redirect to the page; otherwise the page.
func (s *server) answerKeys(c echo.Context, status int, section views.KeysSection, flash string) error {
	if isHTMX(c) {
		section, err := s.keysSection(c, section)
		if err != nil {
			return err
		}
		return render(c, status, views.KeysSectionFragment(section, false), views.ExpiryNotice(section.Expiring, true))
	}
	if flash != "" && c.Request().Method == http.MethodPost {
		return s.redirectWithFlash(c, "/settings/api-keys", flash)
	}
	section.Notice = ""
	return s.renderKeys(c, status, views.CreatePanel{}, section)
}

// renderKeys renders the whole page with the panel and the table state.
func (s *server) renderKeys(c echo.Context, status int, panel views.CreatePanel, section views.KeysSection) error {
	flash, err := s.popFlash(c)
	if err != nil {
		return err
	}
	section, err = s.keysSection(c, section)
	if err != nil {
		return err
	}
	v := views.KeysView{Page: s.page(c, "API Auth Key"), Panel: panel, Keys: section}
	v.Flash = flash
	return render(c, status, views.KeysPage(v))
}

// keysSection fills the table's rows from the store.
func (s *server) keysSection(c echo.Context, section views.KeysSection) (views.KeysSection, error) {
	keys, err := s.db.KeysForUser(c.Request().Context(), currentUser(c).ID)
	if err != nil {
		return section, err
	}
	now := s.db.Now()
	section.Max = store.MaxKeysPerUser
	section.Rows = slices.Grow(section.Rows[:0], len(keys))
	section.Expiring = expiringKeys(keys, now)
	section.APIBase = s.baseURL(c)
	for _, k := range keys {
		reuseKeyTimes(c, now, k)
		row := views.KeyRow{
			ID: k.PublicID, Name: k.Name, Description: k.Description, Masked: k.Masked(), Enabled: k.Enabled,
			DisabledByAdmin: k.DisabledByAdmin, OwnerDisabled: currentUser(c).Disabled,
			LastUsedIP: k.LastUsedIP, Created: views.NewTime(k.CreatedAt, now),
			Status: keyStatusView(store.EffectiveState(k, currentUser(c).Disabled, now)),
		}
		if !k.LastUsedAt.IsZero() {
			t := views.NewTime(k.LastUsedAt, now)
			row.LastUsed = &t
		}
		row.Overlap = overlapView(k, now)
		lifecycleRow(&row, k, now, section.NewID)
		row.Focus = row.New && section.FocusNew
		section.Rows = append(section.Rows, row)
	}
	return section, nil
}
