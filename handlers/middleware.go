package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"keydesk/store"
	"keydesk/views"
)

// contentSecurityPolicy allows nothing but this origin: no inline script or
// style, no eval (htmx is configured for it), no framing, forms posting only
// here.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries, before anything
// else can write one. Every response is no-store, signed-in pages above
// all; only an asset that static serves replaces it with its own caching,
// so a missing asset's 404 page is not kept either.
func (s *server) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		if s.cfg.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		h.Set("Cache-Control", "no-store")
		return next(c)
	}
}

// ctxHEAD marks, in a request's context, a HEAD being answered as GET.
type ctxHEAD struct{}

// headAsGET answers HEAD as GET: Echo routes HEAD nowhere by itself, and
// health checkers and link checkers send it. A HEAD is served again,
// through the whole application, as a GET copy of itself, into net/http's
// own writer: net/http still knows the request as HEAD and sends the
// status and headers of the GET without its body. So HEAD is exactly as
// safe as GET, which changes nothing, and a POST-only route answers it 405,
// as it answers GET. (Echo routes before any middleware but Pre can change
// the request, hence the second pass rather than a rewrite.)
func headAsGET(e *echo.Echo) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method != http.MethodHead {
				return next(c)
			}
			get := r.WithContext(context.WithValue(r.Context(), ctxHEAD{}, true))
			get.Method = http.MethodGet
			e.ServeHTTP(c.Response().Writer, get)
			return nil
		}
	}
}

// checkHost refuses, with a plain 421, a request addressed to a host this
// server is not meant to be reached at, before any page is built. Without
// it, a page an attacker serves under a name that they then resolve to
// this server (DNS rebinding, aimed at a Keydesk on loopback or a private
// network) would be same-origin with it. The port is not compared: the
// name is what rebinding forges, and port forwards and proxies change
// ports. /healthz and /readyz answer any host.
func (s *server) checkHost(next echo.HandlerFunc) echo.HandlerFunc {
	allowed := make(map[string]bool, len(s.cfg.AllowedHosts))
	for _, h := range s.cfg.AllowedHosts {
		allowed[hostName(h)] = true
	}
	return func(c echo.Context) error {
		r := c.Request()
		if len(allowed) == 0 || allowed[hostName(r.Host)] || r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			return next(c)
		}
		return c.String(http.StatusMisdirectedRequest, "Misdirected Request: this server does not answer for that host name.\n")
	}
}

// hostName is the host of a Host header (or of a name given in
// AllowedHosts) without its port or IPv6 brackets, in lower case, without
// a trailing dot.
func hostName(hostport string) string {
	h := hostport
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	return strings.TrimSuffix(strings.ToLower(h), ".")
}

// logRequests writes one structured line per request. It logs the path and
// never the query string, headers, form values or cookies, so no password,
// key or session id can reach the log.
func (s *server) logRequests() echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		HandleError:  true,
		LogRequestID: true,
		LogMethod:    true,
		LogURIPath:   true,
		LogStatus:    true,
		LogLatency:   true,
		LogRemoteIP:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			if head, _ := c.Request().Context().Value(ctxHEAD{}).(bool); head {
				v.Method = http.MethodHead
			}
			s.log.LogAttrs(c.Request().Context(), slog.LevelInfo, "request",
				slog.String("request_id", v.RequestID),
				slog.String("method", v.Method),
				slog.String("path", redactKeys(v.URIPath)),
				slog.Int("status", v.Status),
				slog.Duration("latency", v.Latency),
				slog.String("ip", v.RemoteIP),
			)
			return nil
		},
	})
}

// keyLike matches anything shaped like an API key.
var keyLike = regexp.MustCompile(`kdk_[0-9A-Za-z]{36}`)

// redactKeys hides a key that someone put in a path, where it never
// belongs, so that the mistake does not become a leak through the log.
func redactKeys(s string) string {
	if !strings.Contains(s, "kdk_") {
		return s
	}
	return keyLike.ReplaceAllString(s, "kdk_[redacted]")
}

// recoverPanics turns a panic into the 500 page; the stack goes to the log,
// never to the client.
func (s *server) recoverPanics() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			return fmt.Errorf("panic: %w\n%s", err, stack)
		},
	})
}

// errorsInside writes an error's page here, inside compress, so error pages
// are compressed too; outer middleware then sees a written response.
func (s *server) errorsInside(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err != nil && !c.Response().Committed {
			c.Error(err)
			return nil
		}
		return err
	}
}

type ctxClientIP struct{}

// withClientIP puts the client's address, as the IP extractor judges it, in
// the request's context for code that sees only the *http.Request.
func (s *server) withClientIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), ctxClientIP{}, c.RealIP())))
		return next(c)
	}
}

// crossOriginProtection refuses state-changing requests that a browser marks
// as coming from another site (Sec-Fetch-Site, or failing that Origin), with
// the 403 page. It needs no token, so it works the same for htmx, plain
// forms and several instances; SameSite=Lax cookies are a second wall.
func (s *server) crossOriginProtection() *http.CrossOriginProtection {
	p := http.NewCrossOriginProtection()
	p.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", echo.MIMETextHTMLCharsetUTF8)
		w.WriteHeader(http.StatusForbidden)
		v := errorView(http.StatusForbidden)
		views.ErrorPage(views.Page{Title: v.Title, Version: s.cfg.Version}, v).Render(r.Context(), w)
	}))
	return p
}

// Keys of the values requireUser leaves in the echo.Context.
const (
	ctxUser    = "keydesk.user"
	ctxSession = "keydesk.session"
)

// requireUser lets signed-in users through, with their account and session
// in the context. Others are sent to the login page, which brings them back
// afterwards. A store failure is a 5xx, never a sign-out.
func (s *server) requireUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		signedIn, err := s.loadViewer(c)
		if err != nil {
			return err
		}
		if !signedIn {
			return s.toLogin(c)
		}
		return next(c)
	}
}

// loadViewer puts the signed-in user and their session in the context, and
// reports whether there is one. The session and its user come from one
// query (sessionStore.New). A session whose account is disabled is ended
// on the way.
func (s *server) loadViewer(c echo.Context) (bool, error) {
	r := c.Request()
	session, err := s.sessions.Get(r, s.sessions.cookieName())
	if err != nil {
		return false, fmt.Errorf("load session: %w", err)
	}
	if session.IsNew {
		return false, nil
	}
	user := sessionUser(session)
	if user == nil || user.Disabled {
		return false, s.db.DeleteSession(r.Context(), hashSessionID(session.ID), store.AuditEvent{})
	}
	lastSeen, _ := session.Values[valLastSeen].(int64)
	if s.db.Now().UnixMilli()-lastSeen > sessionTouch.Milliseconds() {
		err := s.db.TouchSession(r.Context(), hashSessionID(session.ID), c.RealIP(), r.UserAgent())
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return false, err
		}
	}
	c.Set(ctxUser, user)
	c.Set(ctxSession, session.ID)
	return true, nil
}

// toLogin sends a signed-out visitor to the login page, remembering where
// they were going when that was a page.
func (s *server) toLogin(c echo.Context) error {
	target := "/login"
	r := c.Request()
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	if isHTMX(c) {
		c.Response().Header().Set("HX-Redirect", target)
		return c.NoContent(http.StatusUnauthorized)
	}
	return c.Redirect(http.StatusSeeOther, target)
}

// hideAdmin answers every path under /admin, whatever its method, as a
// path that does not exist (the 404 page) unless an admin is signed in:
// had the signed-out been sent to login, or a wrong method answered 405,
// anyone could map the admin routes by their answers. Routing is done by
// then, so this is the one place that sees the 405s too. Admins are signed
// in here, for the routes behind it.
func (s *server) hideAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if p := c.Request().URL.Path; p != "/admin" && !strings.HasPrefix(p, "/admin/") {
			return next(c)
		}
		signedIn, err := s.loadViewer(c)
		if err != nil {
			return err
		}
		if !signedIn || !currentUser(c).IsAdmin() {
			return echo.ErrNotFound
		}
		return next(c)
	}
}

// requireAdmin answers 404 to anyone but an admin: the admin pages do not
// exist for them. hideAdmin has signed the admin in; this is the second
// wall, for a route that it would not cover.
func (s *server) requireAdmin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u, ok := c.Get(ctxUser).(*store.User); !ok || !u.IsAdmin() {
			return echo.ErrNotFound
		}
		return next(c)
	}
}

// requireSignup answers 404 when sign-up is off.
func (s *server) requireSignup(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !s.cfg.Signup {
			return echo.ErrNotFound
		}
		return next(c)
	}
}

// currentUser is the signed-in user; only handlers behind requireUser (or
// hideAdmin) call it.
func currentUser(c echo.Context) *store.User {
	u, ok := c.Get(ctxUser).(*store.User)
	if !ok {
		panic("currentUser outside requireUser")
	}
	return u
}

// currentSessionHash is the stored form of the current session's id.
func currentSessionHash(c echo.Context) string {
	id, _ := c.Get(ctxSession).(string)
	return hashSessionID(id)
}

func isHTMX(c echo.Context) bool {
	return c.Request().Header.Get("HX-Request") == "true"
}
