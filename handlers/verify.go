package handlers

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
)

// verifyRequest is POST /api/v1/keys/verify's body: the key a caller
// presented to the platform's service, the scopes the service's route
// needs, and where the call came from, for the key's recent use.
type verifyRequest struct {
	Key       string   `json:"key"`
	Scopes    []string `json:"scopes"`
	ClientIP  string   `json:"client_ip"`
	UserAgent string   `json:"user_agent"`
	Route     string   `json:"route"`
}

// verifyResponse is its answer: always 200 once the caller is allowed to
// ask, valid or not, with the verdict's code.
type verifyResponse struct {
	Valid bool         `json:"valid"`
	Code  string       `json:"code"`
	Key   *verifiedKey `json:"key,omitempty"`
	Owner *keyOwner    `json:"owner,omitempty"`
}

type verifiedKey struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

type keyOwner struct {
	UserID    string `json:"user_id"`
	Email     string `json:"email"`
	KALPID    string `json:"kalp_id"`
	KYCStatus string `json:"kyc_status"`
}

// Bounds on what a verify request carries.
const (
	maxVerifyBody   = 8 << 10
	maxVerifyScopes = 64
	maxClientIPLen  = 64
)

// verifyKey answers whether a key presented to one of the platform's own
// services works for the scopes it needs. The caller holds keys:verify
// (requireAPIKey checks it); the verified key's use is recorded as the
// service saw it, refusals included when the key is known.
func (s *server) verifyKey(c echo.Context) error {
	var req verifyRequest
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, maxVerifyBody))
	if err := dec.Decode(&req); err != nil {
		return c.JSON(http.StatusBadRequest, apiError{"invalid_request", "The body must be a JSON object with a \"key\"."})
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return c.JSON(http.StatusBadRequest, apiError{"invalid_request", "The body must hold one JSON object."})
	}
	if req.Key == "" {
		return c.JSON(http.StatusBadRequest, apiError{"invalid_request", "Give the key to verify in \"key\"."})
	}
	if len(req.Scopes) > maxVerifyScopes {
		return c.JSON(http.StatusBadRequest, apiError{"invalid_request", "Ask for at most 64 scopes."})
	}
	if store.ParseKey(req.Key) != nil {
		return c.JSON(http.StatusOK, verifyResponse{Code: store.VerdictMalformed})
	}
	m, err := s.db.FindKey(c.Request().Context(), store.HashKey(req.Key))
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusOK, verifyResponse{Code: store.VerdictNotFound})
	}
	if err != nil {
		return err
	}
	now := s.db.Now()
	verdict, result := m.Check(now, req.Scopes...)
	ip := clip(strings.TrimSpace(req.ClientIP), maxClientIPLen)
	s.uses.Record(store.KeyUse{KeyID: m.Key.ID, At: now, ClientIP: ip, UserAgent: req.UserAgent,
		Route: req.Route, Result: result, Previous: m.Previous, PrevLast4: m.PrevLast4(),
		SetsLastUsed: s.setsLastUsed(m, verdict, now)})
	if verdict != store.VerdictValid {
		return c.JSON(http.StatusOK, verifyResponse{Code: verdict})
	}
	return c.JSON(http.StatusOK, verifyResponse{Valid: true, Code: verdict,
		Key: &verifiedKey{ID: m.Key.PublicID, Name: m.Key.Name, Scopes: s.keyScopes(m.Key, m.Owner),
			ExpiresAt: optionalTime(m.Key.ExpiresAt)},
		Owner: &keyOwner{UserID: m.Owner.PublicID, Email: m.Owner.Email, KALPID: m.Owner.KALPID,
			KYCStatus: string(m.Owner.KYCStatus)},
	})
}

// clip cuts s to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
