package handlers

import (
	"context"
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
	msgLoginBusy    = "Too many sign-ins at once. Wait a moment, then try again."
	msgSignupLimit  = "Too many attempts from your address. Wait 15 minutes, then try again."
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
	email, password := text(c, "email"), postValue(c, "password")
	v := s.loginView(c, email, localPath(postValue(c, "next")))
	if email == "" || password == "" {
		v.Error = "Enter your email and password."
		return render(c, http.StatusUnprocessableEntity, views.LoginPage(v))
	}

	user, outcome, err := s.checkLogin(c, email, password)
	if err != nil {
		return err
	}
	switch outcome {
	case checkLimited:
		v.Error = msgLoginLimited
		return render(c, http.StatusTooManyRequests, views.LoginPage(v))
	case checkCrowded:
		v.Error = msgLoginBusy
		return render(c, http.StatusTooManyRequests, views.LoginPage(v))
	case checkBusy:
		v.Error = msgLoginBusy
		return render(c, http.StatusServiceUnavailable, views.LoginPage(v))
	case checkWrong:
		v.Error = msgBadLogin
		return render(c, http.StatusUnauthorized, views.LoginPage(v))
	}
	if err := s.startSession(c, user, store.ActionLogin); err != nil {
		return err
	}
	return seeOther(c, orDefault(v.Next, "/settings/profile"))
}

// checkOutcome is how a throttled password check ended.
type checkOutcome int

const (
	checkOK      checkOutcome = iota // the password is right and the account active
	checkWrong                       // counted as a failure
	checkLimited                     // the account, address or device used its attempts: 429, with Retry-After
	checkCrowded                     // this address has enough checks under way: 429, with Retry-After
	checkBusy                        // the hash queue is full: 503, with Retry-After
)

// checkLogin checks email and password under every limit, in this order:
// the client address's place in the hash queue (memory only), then one
// attempt claimed in the database before any hashing, so parallel guesses
// cost at most the limit, then the argon2id check itself. A success forgets
// the account's failures and gives the browser a device cookie for it; a
// check that never ran is not counted. user is the account when there is
// one, for the audit log.
func (s *server) checkLogin(c echo.Context, email, password string) (user *store.User, _ checkOutcome, err error) {
	r, ip := c.Request(), c.RealIP()
	if !s.hashGate.enter(ip) {
		c.Response().Header().Set("Retry-After", "1")
		return nil, checkCrowded, nil
	}
	defer s.hashGate.leave(ip)

	limits := store.LoginLimits{Window: loginWindow, Account: loginMaxAccount, IP: loginMaxIP, Device: loginMaxDevice}
	attempt, err := s.db.ClaimLoginAttempt(r.Context(), email, ip, s.devices.token(r, email), limits)
	if errors.Is(err, store.ErrLimited) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(loginWindow.Seconds())))
		return nil, checkLimited, nil
	}
	if err != nil {
		return nil, 0, err
	}

	user, ok, err := s.authenticate(c, email, password)
	if err != nil {
		// No password was checked: take the attempt back, even when the
		// request's context is what ended.
		if rerr := s.db.ReleaseLoginAttempt(context.WithoutCancel(r.Context()), attempt); rerr != nil {
			return nil, 0, errors.Join(err, rerr)
		}
		if errors.Is(err, store.ErrBusy) {
			c.Response().Header().Set("Retry-After", "1")
			return nil, checkBusy, nil
		}
		return nil, 0, err
	}
	if !ok {
		return user, checkWrong, s.recordLoginFailure(c, user)
	}
	if err := s.db.LoginSucceeded(r.Context(), attempt); err != nil {
		return nil, 0, err
	}
	if err := s.devices.set(c.Response(), user.Email); err != nil {
		return nil, 0, err
	}
	return user, checkOK, nil
}

// authenticate checks email and password. It answers ok only for an active
// account with that password; user is the account when there is one, for the
// audit log. Every path costs one argon2id check, queued with the others.
func (s *server) authenticate(c echo.Context, email, password string) (user *store.User, ok bool, err error) {
	ctx := c.Request().Context()
	user, err = s.db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		if err := s.db.CheckDummyPassword(ctx, password); !errors.Is(err, store.ErrMismatch) {
			return nil, false, err
		}
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	err = s.db.CheckPassword(ctx, user.PasswordHash, password)
	if errors.Is(err, store.ErrMismatch) {
		return user, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return user, !user.Disabled, nil
}

// recordLoginFailure writes the audit event of a failure; its count was
// claimed before the check. The event names the account only when there is
// one: a string typed into the email field may be anything, a password
// included, and is not written down.
func (s *server) recordLoginFailure(c echo.Context, user *store.User) error {
	ev := s.event(c, nil, store.ActionLoginFailed, "")
	ev.Actor = "unknown account"
	if user != nil {
		ev.Actor, ev.ActorID, ev.SubjectID = user.Email, user.ID, user.ID
	}
	return s.db.RecordAudit(c.Request().Context(), ev)
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
		ev := store.AuditEvent{}
		if user := sessionUser(session); user != nil {
			ev = s.event(c, user, store.ActionLogout, "")
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

// signup creates an account and signs it in. Each try, counted before any
// work, spends one of the address's sign-in attempts: the answer tells
// whether an email has an account, so learning that costs what a guessed
// password costs. A taken email is told before any hashing.
func (s *server) signup(c echo.Context) error {
	ctx, ip := c.Request().Context(), c.RealIP()
	if err := s.db.ClaimAddressAttempt(ctx, ip, loginMaxIP, loginWindow); errors.Is(err, store.ErrLimited) {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(loginWindow.Seconds())))
		return render(c, http.StatusTooManyRequests, views.SignupPage(views.SignupView{Page: s.page(c, "Sign up"),
			Errors: map[string]string{"email": msgSignupLimit}}))
	} else if err != nil {
		return err
	}
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

	taken := func() error {
		f.check(false, "email", "An account with this email already exists. Log in instead.")
		v.Errors = f.FieldErrors
		return render(c, http.StatusUnprocessableEntity, views.SignupPage(v))
	}
	if _, err := s.db.UserByEmail(ctx, email); err == nil {
		return taken()
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	hash, err := s.hashNewPassword(c, password)
	if errors.Is(err, store.ErrBusy) {
		f.check(false, "email", msgLoginBusy)
		v.Errors = f.FieldErrors
		return render(c, http.StatusServiceUnavailable, views.SignupPage(v))
	}
	if err != nil {
		return err
	}
	user, err := s.db.CreateUser(ctx, store.NewUser{Name: name, Email: email, PasswordHash: hash},
		store.AuditEvent{Actor: store.NormalizeEmail(email), Action: store.ActionSignup, IP: ip, UserAgent: c.Request().UserAgent()})
	if errors.Is(err, store.ErrConflict) {
		return taken()
	}
	if err != nil {
		return err
	}
	if err := s.devices.set(c.Response(), user.Email); err != nil {
		return err
	}
	if err := s.startSession(c, user, store.ActionLogin); err != nil {
		return err
	}
	return seeOther(c, "/settings/profile")
}

// hashNewPassword hashes a new password through the hash queue, holding one
// of the client address's places in it: ErrBusy, with Retry-After, when
// either is full.
func (s *server) hashNewPassword(c echo.Context, password string) (string, error) {
	ip := c.RealIP()
	if !s.hashGate.enter(ip) {
		c.Response().Header().Set("Retry-After", "1")
		return "", store.ErrBusy
	}
	defer s.hashGate.leave(ip)
	hash, err := s.db.HashPassword(c.Request().Context(), password)
	if errors.Is(err, store.ErrBusy) {
		c.Response().Header().Set("Retry-After", "1")
	}
	return hash, err
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
	p := views.Page{Title: title, Description: pageDescriptions[title], Version: s.cfg.Version}
	if u, ok := c.Get(ctxUser).(*store.User); ok {
		p.Viewer = &views.Viewer{Name: u.Name, Email: u.Email, IsAdmin: u.IsAdmin()}
	}
	return p
}
