package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// handleError is the one place where an error becomes a response: it picks
// the status, logs only server faults (once, with the request id), and
// answers with the styled error page, or JSON under /api/.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status := statusOf(err)
	// The request's context may be done (a timeout is one way here); the
	// error page must be written all the same.
	c.SetRequest(c.Request().WithContext(context.WithoutCancel(c.Request().Context())))
	if status >= 500 {
		s.log.LogAttrs(c.Request().Context(), slog.LevelError, "request failed",
			slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
			slog.String("method", c.Request().Method),
			slog.String("path", c.Request().URL.Path),
			slog.Int("status", status),
			slog.String("err", err.Error()),
		)
	}
	if strings.HasPrefix(c.Request().URL.Path, "/api/") {
		// Behind the API's authentication every fault is the store's: an
		// outage a client should retry.
		if status >= 500 {
			status = http.StatusServiceUnavailable
		}
		code := map[int]string{http.StatusServiceUnavailable: "unavailable"}[status]
		if code == "" {
			code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
		_ = c.JSON(status, apiError{Error: code})
		return
	}
	if status < 500 {
		s.lookUpViewer(c)
	}
	v := errorView(status)
	_ = render(c, status, views.ErrorPage(s.page(c, v.Title), v))
}

// lookUpViewer finds the signed-in user, if any, for an error page on a
// route that did not require one, so the page keeps its header. It is best
// effort: any failure just leaves the page signed-out looking.
func (s *server) lookUpViewer(c echo.Context) {
	if _, ok := c.Get(ctxUser).(*store.User); ok {
		return
	}
	session, err := s.sessions.Get(c.Request(), s.sessions.cookieName())
	if err != nil || session.IsNew {
		return
	}
	if u := sessionUser(session); u != nil && !u.Disabled {
		c.Set(ctxUser, u)
	}
}

// statusOf maps an error to its HTTP status.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrBadCursor):
		return http.StatusBadRequest
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, store.ErrBusy):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorView says what went wrong in a sentence a user can act on.
func errorView(status int) views.ErrorView {
	v := views.ErrorView{Status: status, Title: http.StatusText(status)}
	switch status {
	case http.StatusNotFound:
		v.Title = "Page not found"
		v.Message = "There is nothing at this address. Check the link, or go back to your settings."
	case http.StatusForbidden:
		v.Title = "Request refused"
		v.Message = "This request came from another site, so it was refused. Go back to Keydesk and try again from there."
	case http.StatusBadRequest:
		v.Title = "Bad request"
		v.Message = "Keydesk could not read this request. Go back, reload the page and try again."
	case http.StatusMethodNotAllowed:
		v.Message = "This address does not accept that kind of request."
	case http.StatusRequestEntityTooLarge:
		v.Title = "Request too large"
		v.Message = "What you sent is larger than Keydesk accepts. Shorten it and try again."
	case http.StatusServiceUnavailable:
		v.Title = "Temporarily unavailable"
		v.Message = "Keydesk could not reach its database in time. Nothing was lost; try again in a moment."
	case http.StatusInternalServerError:
		v.Title = "Something went wrong"
		v.Message = "An unexpected error stopped this request. It has been logged; try again in a moment."
	default:
		v.Message = "The request could not be completed."
	}
	return v
}
