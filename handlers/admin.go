package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"keydesk/views"
)

const auditPageSize = 200

// auditPage lists the newest audit events.
func (s *server) auditPage(c echo.Context) error {
	events, err := s.db.AuditEvents(c.Request().Context(), auditPageSize)
	if err != nil {
		return err
	}
	now := s.db.Now()
	v := views.AuditView{Page: s.page(c, "Audit log")}
	for _, e := range events {
		v.Events = append(v.Events, views.AuditRow{
			At: views.NewTime(e.At, now), Actor: e.Actor, Action: e.Action, Target: e.Target,
			IP: orDefault(e.IP, "—"), Device: orDefault(deviceOf(e.UserAgent), "—"),
		})
	}
	return render(c, http.StatusOK, views.AuditPage(v))
}
