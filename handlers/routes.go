package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"keydesk/static"
	"keydesk/views"
)

// routes lists every route and the middleware in front of them. Outermost
// first: every response, errors included, carries the security headers and
// a request id, and is logged. Every GET route answers HEAD too (headAsGET).
func (s *server) routes(e *echo.Echo) {
	e.Pre(headAsGET(e))
	e.Use(
		middleware.RequestID(),
		s.securityHeaders,
		s.logRequests(),
		s.checkHost,
		s.recoverPanics(),
		s.compress(),
		s.errorsInside,
		s.withClientIP,
		echo.WrapMiddleware(s.crossOriginProtection().Handler),
		middleware.BodyLimit(bodyLimit),
		middleware.ContextTimeout(requestTimeout),
		s.hideAdmin,
	)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	assets := static.Handler(func(r *http.Request) bool { return acceptsGzip(r.Header.Get("Accept-Encoding")) })
	e.GET("/static/*", func(c echo.Context) error {
		if !static.Exists(c.Param("*")) {
			return s.assetNotFound(c)
		}
		assets.ServeHTTP(c.Response(), c.Request())
		return nil
	})

	e.GET("/", s.redirectToProfile, s.requireUser)
	e.GET("/login", s.loginPage)
	e.POST("/login", s.login)
	e.POST("/logout", s.logout)
	e.GET("/signup", s.signupPage, s.requireSignup)
	e.POST("/signup", s.signup, s.requireSignup)

	// Middleware is given per route, not per group: an Echo group with
	// middleware claims every path under it, which would answer GET on a
	// POST-only route with 404 instead of 405. Under /admin, hideAdmin (above)
	// has already signed the admin in, or answered 404 to anyone else.
	user, admin := s.requireUser, []echo.MiddlewareFunc{s.requireAdmin}
	e.GET("/settings", s.redirectToProfile, user)
	e.GET("/settings/profile", s.profilePage, user)
	e.POST("/settings/profile", s.updateName, user)
	e.POST("/settings/password", s.changePassword, user)
	e.POST("/settings/sessions/revoke-others", s.revokeOtherSessions, user)
	e.GET("/settings/sessions/:handle/sign-out", s.signOutSessionConfirm, user)
	e.POST("/settings/sessions/:handle/sign-out", s.signOutSession, user)

	e.GET("/settings/api-keys", s.reusable(s.keysPage), user)
	e.POST("/settings/api-keys", s.createKey, user)
	e.GET("/settings/api-keys/new", s.newKeyForm, user)
	e.GET("/settings/api-keys/:id", s.keyPage, user)
	e.POST("/settings/api-keys/:id/status", s.setKeyStatus, user)
	e.GET("/settings/api-keys/:id/edit", s.editKeyForm, user)
	e.POST("/settings/api-keys/:id/edit", s.editKey, user)
	e.GET("/settings/api-keys/:id/delete", s.deleteKeyConfirm, user)
	e.POST("/settings/api-keys/:id/delete", s.deleteKey, user)
	e.GET("/settings/api-keys/:id/regenerate", s.regenerateKeyForm, user)
	e.POST("/settings/api-keys/:id/regenerate", s.regenerateKey, user)
	e.POST("/settings/api-keys/:id/end-overlap", s.endOverlap, user)

	e.GET("/admin", s.redirectToInventory, admin...)
	e.GET("/admin/api-keys", s.reusable(s.adminKeysPage), admin...)
	e.GET("/admin/api-keys/export", s.adminExport, admin...)
	e.GET("/admin/api-keys/:id", s.adminKeyPage, admin...)
	// The key page's :id would claim GET of the POST-only path beside it,
	// answering 404 where every POST-only route answers 405.
	e.GET("/admin/api-keys/disable", postOnly, admin...)
	e.POST("/admin/api-keys/disable", s.adminBulkDisable, admin...)
	e.POST("/admin/api-keys/:id/status", s.adminSetKeyStatus, admin...)
	e.GET("/admin/users", s.adminUsersPage, admin...)
	e.POST("/admin/users/:id/kyc", s.adminSetKYC, admin...)
	e.POST("/admin/users/:id/disabled", s.adminSetDisabled, admin...)
	e.POST("/admin/users/:id/role", s.adminSetRole, admin...)
	e.GET("/admin/audit", s.reusable(s.auditPage), admin...)

	// The JSON API: API keys only, never session cookies.
	e.GET("/api/v1/me", s.apiMe, s.requireAPIKey)
	e.GET("/api/v1/keys", s.apiKeys, s.requireAPIKey)
	e.POST("/api/v1/keys/verify", s.verifyKey, s.requireAPIKey)
	e.GET("/api/openapi.json", s.openAPI)
}

// assetNotFound is the 404 page for a missing asset, without the viewer's
// name and email: a browser sends the session cookie with asset requests,
// but they are not pages, and what a cache might keep of them must not say
// who asked. (securityHeaders has made it no-store.)
func (s *server) assetNotFound(c echo.Context) error {
	v := errorView(http.StatusNotFound)
	return render(c, http.StatusNotFound, views.ErrorPage(views.Page{Title: v.Title, Version: s.cfg.Version}, v))
}

// postOnly answers GET (and HEAD) on a POST-only path as the router
// would, had no route with a parameter claimed it.
func postOnly(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderAllow, "OPTIONS, POST")
	return echo.ErrMethodNotAllowed
}

func (s *server) redirectToProfile(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/settings/profile")
}

func (s *server) redirectToInventory(c echo.Context) error {
	return c.Redirect(http.StatusSeeOther, "/admin/api-keys")
}

func (s *server) healthz(c echo.Context) error {
	return c.String(http.StatusOK, "ok\n")
}

// readyz answers 200 while the store answers a query, 503 when it does not.
func (s *server) readyz(c echo.Context) error {
	if err := s.db.Ping(c.Request().Context()); err != nil {
		s.log.Warn("not ready", "err", err)
		return c.String(http.StatusServiceUnavailable, "store unavailable\n")
	}
	return c.String(http.StatusOK, "ok\n")
}
