package handlers

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// profilePage is Personal Details.
func (s *server) profilePage(c echo.Context) error {
	flash, err := s.popFlash(c)
	if err != nil {
		return err
	}
	v, err := s.profileView(c)
	if err != nil {
		return err
	}
	v.Flash = flash
	return render(c, http.StatusOK, views.ProfilePage(v))
}

// profileView is the page as the store has it now; handlers that answer a
// failed post replace the form they are about.
func (s *server) profileView(c echo.Context) (views.ProfileView, error) {
	u := currentUser(c)
	sessions, err := s.sessionsView(c)
	if err != nil {
		return views.ProfileView{}, err
	}
	return views.ProfileView{
		Page:     s.page(c, "Personal Details"),
		UserID:   u.PublicID,
		Email:    u.Email,
		KALPID:   u.KALPID,
		KYC:      kycView(u.KYCStatus),
		NameForm: views.NameForm{Name: u.Name},
		Sessions: sessions,
	}, nil
}

func kycView(status store.KYCStatus) views.KYC {
	tone := map[store.KYCStatus]string{
		store.KYCVerified: "success", store.KYCPending: "warning", store.KYCRejected: "danger",
	}[status]
	return views.KYC{Label: status.Label(), Tone: orDefault(tone, "neutral")}
}

func (s *server) sessionsView(c echo.Context) (views.SessionsView, error) {
	now := s.db.Now()
	rows, err := s.db.ActiveSessions(c.Request().Context(), currentUser(c).ID, now.Add(-sessionIdle))
	if err != nil {
		return views.SessionsView{}, err
	}
	current := currentSessionHash(c)
	v := views.SessionsView{}
	for _, r := range rows {
		row := views.SessionRow{
			Device:   deviceName(r.UserAgent),
			IP:       r.IP,
			SignedIn: views.NewTime(r.CreatedAt, now),
			LastSeen: views.NewTime(r.LastSeenAt, now),
			Current:  r.IDHash == current,
		}
		if !row.Current {
			row.Handle = s.sessions.handle(r.IDHash)
		}
		v.Sessions = append(v.Sessions, row)
	}
	return v, nil
}

// otherSession finds, among the user's other active sessions, the one the
// handle names. The current session is not among them: it ends with Log
// out. A handle of another user's session, a forged one, or one whose
// session has ended is ErrNotFound.
func (s *server) otherSession(c echo.Context) (*store.Session, error) {
	handle := c.Param("handle")
	rows, err := s.db.ActiveSessions(c.Request().Context(), currentUser(c).ID, s.db.Now().Add(-sessionIdle))
	if err != nil {
		return nil, err
	}
	current := currentSessionHash(c)
	for _, r := range rows {
		if r.IDHash != current && hmac.Equal([]byte(s.sessions.handle(r.IDHash)), []byte(handle)) {
			return r, nil
		}
	}
	return nil, store.ErrNotFound
}

// signOutSessionConfirm asks before ending one other session, naming it.
func (s *server) signOutSessionConfirm(c echo.Context) error {
	r, err := s.otherSession(c)
	if err != nil {
		return err
	}
	return s.answerSessions(c, views.SessionsView{Confirming: s.sessions.handle(r.IDHash)}, "")
}

// signOutSession ends one other session of the user: that browser's next
// request lands on the login page.
func (s *server) signOutSession(c echo.Context) error {
	u := currentUser(c)
	r, err := s.otherSession(c)
	if err != nil {
		return err
	}
	device := deviceName(r.UserAgent)
	ev := s.event(c, u, store.ActionSessionRevoked, "")
	ev.Detail = device + " · " + r.IP
	if err := s.db.DeleteUserSession(c.Request().Context(), u.ID, r.IDHash, ev); err != nil {
		return err
	}
	return s.answerSessions(c, views.SessionsView{}, "Signed out "+device+" ("+r.IP+").")
}

// answerSessions answers a session action: the sessions section for htmx;
// for a plain post, a redirect to the page with the notice; otherwise (a
// confirmation) the page.
func (s *server) answerSessions(c echo.Context, v views.SessionsView, notice string) error {
	if !isHTMX(c) && c.Request().Method == http.MethodPost {
		return s.redirectWithFlash(c, "/settings/profile", notice)
	}
	sessions, err := s.sessionsView(c)
	if err != nil {
		return err
	}
	sessions.Confirming, sessions.Notice = v.Confirming, notice
	if isHTMX(c) {
		return render(c, http.StatusOK, views.SessionsSection(sessions, false))
	}
	page, err := s.profileView(c)
	if err != nil {
		return err
	}
	page.Sessions = sessions
	return render(c, http.StatusOK, views.ProfilePage(page))
}

// updateName changes the Name.
func (s *server) updateName(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	name := text(c, "name")
	var f form
	f.checkAll(store.NameInput{Name: name}.Validate())
	if !f.valid() {
		nf := views.NameForm{Name: name, Error: f.FieldErrors["name"]}
		if isHTMX(c) {
			return render(c, http.StatusUnprocessableEntity, views.NameFormFragment(nf))
		}
		v, err := s.profileView(c)
		if err != nil {
			return err
		}
		v.NameForm = nf
		return render(c, http.StatusUnprocessableEntity, views.ProfilePage(v))
	}

	u := currentUser(c)
	updated, err := s.db.UpdateUser(c.Request().Context(), u.ID, store.UserUpdate{Name: &name},
		s.event(c, u, store.ActionNameChanged, ""))
	if err != nil {
		return err
	}
	if isHTMX(c) {
		// The header's menu shows the new name at once (the no-JS path
		// gets it from the page after the redirect).
		viewer := views.Viewer{Name: updated.Name, Email: updated.Email, IsAdmin: updated.IsAdmin()}
		return render(c, http.StatusOK, views.NameFormFragment(views.NameForm{Name: updated.Name, Saved: true}),
			views.UserMenu(viewer, true))
	}
	return s.redirectWithFlash(c, "/settings/profile", "Name saved.")
}

// changePassword requires the current password, and ends every other
// session of the user in the same transaction as the change. A wrong
// current password counts as a failed sign-in, so a stolen session cannot
// guess it faster than the login page allows.
func (s *server) changePassword(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	u := currentUser(c)
	current, next, confirm := postValue(c, "current_password"), postValue(c, "new_password"), postValue(c, "confirm_password")
	var f form
	f.check(current != "", "current_password", "Enter your current password.")
	if msg := store.PasswordProblem(next); msg != "" {
		f.check(false, "new_password", msg)
	}
	f.check(confirm == next, "confirm_password", "The two new passwords do not match.")
	status := http.StatusUnprocessableEntity

	if f.valid() {
		_, outcome, err := s.checkLogin(c, u.Email, current)
		if err != nil {
			return err
		}
		switch outcome {
		case checkLimited:
			f.check(false, "form", msgLoginLimited)
			status = http.StatusTooManyRequests
		case checkCrowded:
			f.check(false, "form", msgLoginBusy)
			status = http.StatusTooManyRequests
		case checkBusy:
			f.check(false, "form", msgLoginBusy)
			status = http.StatusServiceUnavailable
		case checkWrong:
			f.check(false, "current_password", "Your current password is not correct.")
		}
	}
	var hash string
	if f.valid() {
		var err error
		hash, err = s.hashNewPassword(c, next)
		if errors.Is(err, store.ErrBusy) {
			f.check(false, "form", msgLoginBusy)
			status = http.StatusServiceUnavailable
		} else if err != nil {
			return err
		}
	}
	if !f.valid() {
		pf := views.PasswordForm{Errors: f.FieldErrors, Open: true}
		if isHTMX(c) {
			return render(c, status, views.PasswordSection(pf))
		}
		v, err := s.profileView(c)
		if err != nil {
			return err
		}
		v.Password = pf
		return render(c, status, views.ProfilePage(v))
	}

	if err := s.db.SetPassword(c.Request().Context(), u.ID, hash, currentSessionHash(c),
		s.event(c, u, store.ActionPasswordChanged, "")); err != nil {
		return err
	}
	if !isHTMX(c) {
		return s.redirectWithFlash(c, "/settings/profile", "Password changed. Your other sessions were signed out.")
	}
	sessions, err := s.sessionsView(c)
	if err != nil {
		return err
	}
	return render(c, http.StatusOK, views.PasswordSection(views.PasswordForm{Done: true}), views.SessionsSection(sessions, true))
}

// revokeOtherSessions is Sign out other sessions.
func (s *server) revokeOtherSessions(c echo.Context) error {
	u := currentUser(c)
	n, err := s.db.DeleteOtherSessions(c.Request().Context(), u.ID, currentSessionHash(c),
		s.event(c, u, store.ActionSessionsRevoked, ""))
	if err != nil {
		return err
	}
	notice := "No other sessions were signed in."
	switch {
	case n == 1:
		notice = "Signed out of 1 other session."
	case n > 1:
		notice = fmt.Sprintf("Signed out of %d other sessions.", n)
	}
	if !isHTMX(c) {
		return s.redirectWithFlash(c, "/settings/profile", notice)
	}
	v, err := s.sessionsView(c)
	if err != nil {
		return err
	}
	v.Notice = notice
	return render(c, http.StatusOK, views.SessionsSection(v, false))
}
