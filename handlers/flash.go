package handlers

import "github.com/labstack/echo/v4"

// A flash is a notice a plain form post leaves in the session for the page
// the browser is sent to next, which shows it once.

// redirectWithFlash ends a plain form post: the notice is kept in the
// session and shown once by the page the browser is sent to.
func (s *server) redirectWithFlash(c echo.Context, to, notice string) error {
	session, err := s.sessions.Get(c.Request(), s.sessions.cookieName())
	if err != nil {
		return err
	}
	session.AddFlash(notice)
	if err := session.Save(c.Request(), c.Response()); err != nil {
		return err
	}
	return seeOther(c, to)
}

// popFlash takes the session's pending notice, if any.
func (s *server) popFlash(c echo.Context) (string, error) {
	session, err := s.sessions.Get(c.Request(), s.sessions.cookieName())
	if err != nil {
		return "", err
	}
	flashes := session.Flashes()
	if len(flashes) == 0 {
		return "", nil
	}
	if err := session.Save(c.Request(), c.Response()); err != nil {
		return "", err
	}
	msg, _ := flashes[len(flashes)-1].(string)
	return msg, nil
}

// flashPending reports whether the session holds a notice to show once: a
// page with one is rendered anew, not sent from a copy that lacks it, and
// is not kept. (gorilla/sessions keeps flashes under "_flash".)
func (s *server) flashPending(c echo.Context) bool {
	session, err := s.sessions.Get(c.Request(), s.sessions.cookieName())
	if err != nil {
		return true // let the page say what is wrong
	}
	flashes, _ := session.Values["_flash"].([]any)
	return len(flashes) > 0
}
