package handlers

import (
	"context"
	"net/url"
	"testing"
	"time"

	"keydesk/store"
)

// The fuzz targets of Regenerate's two POST routes; see fuzz_test.go.

func FuzzRegenerateKey(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		a.post(t, "/settings/api-keys/"+a.keyID(target)+"/regenerate", a.userCookie, contentType, body, htmx)
	})
}

func FuzzEndOverlap(f *testing.F) {
	a := newFuzzApp(f)
	f.Fuzz(func(t *testing.T, contentType string, body []byte, htmx bool, target byte) {
		// An overlap to end, made for this input, when the target picks
		// the user's first key.
		id := a.keyID(target)
		if id == url.PathEscape(a.keys[0].PublicID) {
			if _, _, err := a.ts.db.RegenerateKey(context.Background(), a.user.ID, a.keys[0].PublicID, time.Hour, time.Time{},
				store.AuditEvent{Action: store.ActionKeyRegenerated}); err != nil {
				t.Fatal(err)
			}
		}
		a.post(t, "/settings/api-keys/"+id+"/end-overlap", a.userCookie, contentType, body, htmx)
	})
}
