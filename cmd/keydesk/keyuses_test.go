package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"keydesk/store"
	"keydesk/store/sqlite"
)

// A graceful stop writes the key uses the server recorded and had not yet
// written. The recorder's loop writes once a second, so the test checks,
// just before the stop, that the store still lacks some of the calls made
// (making one more call while the loop has caught up), and after it, that
// the store holds every one.
func TestGracefulShutdownWritesRecordedKeyUses(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "k.db")
	if _, _, err := runCmd(t, "uma-password\n", "user", "add", "--db", db, "--email", "uma@example.com", "--name", "Uma"); err != nil {
		t.Fatal(err)
	}
	out, _, err := runCmd(t, "", "keys", "create", "--db", db, "--email", "uma@example.com", "--name", "deploy bot")
	if err != nil {
		t.Fatal(err)
	}
	key := strings.TrimSpace(out)
	srv := startServer(t, "--db", db)

	// The store as another process sees it, beside the server.
	s, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u, err := s.UserByEmail(ctx, "uma@example.com")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.KeysForUser(ctx, u.ID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys: %v, %v", keys, err)
	}
	written := func() int {
		t.Helper()
		now := s.Now()
		days, err := s.KeyUseDays(ctx, keys[0].ID, now, now)
		if err != nil {
			t.Fatal(err)
		}
		return days[0].OK
	}

	calls := 0
	call := func() {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.url+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("User-Agent", fmt.Sprintf("caller/%d", calls))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("call %d: %d", calls, res.StatusCode)
		}
		calls++
	}
	for range 3 {
		call()
	}
	for written() == calls {
		if calls > 20 {
			t.Fatal("the recorder wrote every call as soon as it was made")
		}
		call()
	}
	if err := srv.stop(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}

	if got := written(); got != calls {
		t.Errorf("after the stop the store counts %d calls today, want all %d", got, calls)
	}
	uses, err := s.RecentKeyUses(ctx, keys[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(uses) != calls {
		t.Fatalf("after the stop the store lists %d calls, want %d", len(uses), calls)
	}
	if uses[0].UserAgent != fmt.Sprintf("caller/%d", calls-1) || uses[0].Result != store.UseOK {
		t.Errorf("the newest call stored is %+v, want caller/%d's, successful", uses[0], calls-1)
	}
}
