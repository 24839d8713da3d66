package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

const (
	msgBadLogin     = "Incorrect email or password."
	msgLoginLimited = "Too many failed sign-in attempts. Wait 15 minutes, then try again."
)

func (s *server) loginPage(c echo.Context) error {
	next := localPath(c.QueryParam("next"))
	session, err := s.sessions.Get(c.Request(), s.sessions.cookieName())
	if err != nil {
		return err
	}
	if !session.IsNew {
		return seeOther(c, next)
	}
	return render(c, http.StatusOK, views.LoginPage(s.loginView(c, "", next)))
}

func (s *server) loginView(c echo.Context, email, next string) views.LoginView {
	if next == "/settings/profile" {
		next = ""
	}
	return views.LoginView{Page: s.page(c, "Log in"), Email: email, Next: next, Signup: s.cfg.Signup}
}

// login checks the credentials and starts a new session. Every failure,
// whether the email is unknown, the password wrong or the account disabled,
// costs one argon2id check and gets the same answer, so neither the page nor
// its timing tells which emails have accounts.
func (s *server) login(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	email, password := text(c, "email"), postValue(c, "password")
	v := s.loginView(c, email, localPath(postValue(c, "next")))
	if email == "" || password == "" {
		v.Error = "Enter your email and password."
		return render(c, http.StatusUnprocessableEntity, views.LoginPage(v))
	}

	if limited, err := s.loginLimited(c, email); err != nil {
		return err
	} else if limited {
		v.Error = msgLoginLimited
		return render(c, http.StatusTooManyRequests, views.LoginPage(v))
	}

	user, ok, err := s.authenticate(c, email, password)
	if err != nil {
		return err
	}
	if !ok {
		if err := s.recordLoginFailure(c, email, user); err != nil {
			return err
		}
		v.Error = msgBadLogin
		return render(c, http.StatusUnauthorized, views.LoginPage(v))
	}
	if err := s.db.ClearLoginFailures(ctx, email); err != nil {
		return err
	}
	if err := s.startSession(c, user, store.ActionLogin); err != nil {
		return err
	}
	return seeOther(c, orDefault(v.Next, "/settings/profile"))
}

// authenticate checks email and password. It answers ok only for an active
// account with that password; user is the account when there is one, for the
// audit log. Every path costs one argon2id check.
func (s *server) authenticate(c echo.Context, email, password string) (user *store.User, ok bool, err error) {
	user, err = s.db.UserByEmail(c.Request().Context(), email)
	if errors.Is(err, store.ErrNotFound) {
		store.CheckDummyPassword(password)
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	err = store.CheckPassword(user.PasswordHash, password)
	if errors.Is(err, store.ErrMismatch) {
		return user, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return user, !user.Disabled, nil
}

// loginLimited reports whether the account or the client's address has
// failed too often lately; it answers with Retry-After when so.
func (s *server) loginLimited(c echo.Context, email string) (bool, error) {
	account, fromIP, err := s.db.LoginFailures(c.Request().Context(), email, c.RealIP(), s.db.Now().Add(-loginWindow))
	if err != nil {
		return false, err
	}
	if account >= loginMaxAccount || fromIP >= loginMaxIP {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(loginWindow.Seconds())))
		return true, nil
	}
	return false, nil
}

// recordLoginFailure counts a failure. The audit event names the account
// only when there is one: a string typed into the email field may be
// anything, a password included, and is not written down.
func (s *server) recordLoginFailure(c echo.Context, email string, user *store.User) error {
	ev := s.event(c, nil, store.ActionLoginFailed, "")
	ev.Actor = "unknown account"
	if user != nil {
		ev.Actor, ev.ActorID, ev.SubjectID = user.Email, user.ID, user.ID
	}
	return s.db.RecordLoginFailure(c.Request().Context(), email, c.RealIP(), s.db.Now().Add(-loginWindow), ev)
}

// startSession signs user in under a new session id, ending the session the
// browser had, if any, so an id planted before sign-in is worth nothing.
func (s *server) startSession(c echo.Context, user *store.User, action string) error {
	r, w := c.Request(), c.Response()
	session, err := s.sessions.Get(r, s.sessions.cookieName())
	if err != nil {
		return err
	}
	if session.ID != "" {
		if err := s.db.DeleteSession(r.Context(), hashSessionID(session.ID), store.AuditEvent{}); err != nil {
			return err
		}
	}
	session.ID = ""
	session.IsNew = true
	session.Values = map[any]any{valUserID: user.ID}
	if err := session.Save(r, w); err != nil {
		return err
	}
	return s.db.RecordAudit(r.Context(), s.event(c, user, action, ""))
}

// logout ends the session on the server, so a copy of the cookie is
// useless, and clears the cookie.
func (s *server) logout(c echo.Context) error {
	r, w := c.Request(), c.Response()
	session, err := s.sessions.Get(r, s.sessions.cookieName())
	if err != nil {
		return err
	}
	if !session.IsNew {
		userID, _ := session.Values[valUserID].(int64)
		ev := store.AuditEvent{}
		if user, err := s.db.UserByID(r.Context(), userID); err == nil {
			ev = s.event(c, user, store.ActionLogout, "")
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := s.db.DeleteSession(r.Context(), hashSessionID(session.ID), ev); err != nil {
			return err
		}
	}
	session.ID = ""
	session.Options = &sessions.Options{Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
	if err := session.Save(r, w); err != nil {
		return err
	}
	return seeOther(c, "/login")
}

func (s *server) signupPage(c echo.Context) error {
	return render(c, http.StatusOK, views.SignupPage(views.SignupView{Page: s.page(c, "Sign up")}))
}

// signup creates an account and signs it in.
func (s *server) signup(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	name, email, password := text(c, "name"), text(c, "email"), postValue(c, "password")
	var f form
	f.checkAll(store.AccountInput{Name: name, Email: email, Password: password}.Validate())
	v := views.SignupView{Page: s.page(c, "Sign up"), Name: name, Email: email, Errors: f.FieldErrors}
	if !f.valid() {
		return render(c, http.StatusUnprocessableEntity, views.SignupPage(v))
	}

	user, err := s.db.CreateUser(c.Request().Context(),
		store.NewUser{Name: name, Email: email, PasswordHash: store.HashPassword(password)},
		store.AuditEvent{Actor: store.NormalizeEmail(email), Action: store.ActionSignup, IP: c.RealIP(), UserAgent: c.Request().UserAgent()})
	if errors.Is(err, store.ErrConflict) {
		f.check(false, "email", "An account with this email already exists. Log in instead.")
		v.Errors = f.FieldErrors
		return render(c, http.StatusUnprocessableEntity, views.SignupPage(v))
	}
	if err != nil {
		return err
	}
	if err := s.startSession(c, user, store.ActionLogin); err != nil {
		return err
	}
	return seeOther(c, "/settings/profile")
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// event starts an audit event for user (nil when there is none) with the
// request's address and browser.
func (s *server) event(c echo.Context, user *store.User, action, target string) store.AuditEvent {
	ev := store.AuditEvent{Action: action, Target: target, IP: c.RealIP(), UserAgent: c.Request().UserAgent()}
	if user != nil {
		ev.ActorID, ev.Actor, ev.SubjectID = user.ID, user.Email, user.ID
	}
	return ev
}

// page is the frame data of a page: the viewer if signed in.
func (s *server) page(c echo.Context, title string) views.Page {
	p := views.Page{Title: title, Version: s.cfg.Version}
	if u, ok := c.Get(ctxUser).(*store.User); ok {
		p.Viewer = &views.Viewer{Name: u.Name, Email: u.Email, IsAdmin: u.IsAdmin()}
	}
	return p
}
