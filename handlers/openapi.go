package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes every /api/ route, its requests and its
// answers; the handler tests check every API answer they get against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves the document, to anyone: it holds no secret.
func (s *server) openAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.Blob(http.StatusOK, "application/json", openAPIDocument)
}
