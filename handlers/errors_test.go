package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"keydesk/store"
)

// One function maps errors to statuses; a store error that means "try
// again" is a 503, never a 500 (which reads as a bug) or a 4xx.
func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{store.ErrNotFound, http.StatusNotFound},
		{fmt.Errorf("key: %w", store.ErrNotFound), http.StatusNotFound},
		{store.ErrBadCursor, http.StatusBadRequest},
		{store.ErrConflict, http.StatusConflict},
		{store.ErrBusy, http.StatusServiceUnavailable},
		{fmt.Errorf("hash: %w", store.ErrBusy), http.StatusServiceUnavailable},
		{context.DeadlineExceeded, http.StatusServiceUnavailable},
		{context.Canceled, http.StatusServiceUnavailable},
		{echo.NewHTTPError(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed},
		{errors.New("disk on fire"), http.StatusInternalServerError},
	} {
		if got := statusOf(tc.err); got != tc.want {
			t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
