package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
)

func TestPasswordHash(t *testing.T) {
	hash := HashPassword("correct horse battery staple")
	var m, tm, p int
	var salt, key string
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" {
		t.Fatalf("not a PHC argon2id string: %q", hash)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		t.Fatal(err)
	}
	salt, key = parts[4], parts[5]
	// OWASP ASVS 5.0: at least 19 MiB, 2 iterations, 1 degree of parallelism.
	if m < 19*1024 || tm < 2 || p != 1 {
		t.Errorf("parameters m=%d t=%d p=%d are below ASVS", m, tm, p)
	}
	if len(salt) < 22 || len(key) < 43 {
		t.Errorf("salt %q or key %q too short", salt, key)
	}
	if HashPassword("correct horse battery staple") == hash {
		t.Error("two hashes of one password are equal: no salt")
	}

	if err := CheckPassword(hash, "correct horse battery staple"); err != nil {
		t.Errorf("right password: %v", err)
	}
	for _, wrong := range []string{"", "correct horse battery stapl", "Correct horse battery staple"} {
		if err := CheckPassword(hash, wrong); !errors.Is(err, ErrMismatch) {
			t.Errorf("wrong password %q: %v", wrong, err)
		}
	}
	if err := CheckPassword("$2a$10$bcrypt", "x"); err == nil || errors.Is(err, ErrMismatch) {
		t.Errorf("a foreign hash should be an error, not a mismatch: %v", err)
	}
}

func TestPasswordHashKeepsItsOwnParameters(t *testing.T) {
	// A hash made with other parameters still verifies: they come from the
	// string, not from today's defaults.
	salt := []byte("saltsaltsaltsalt")
	key := argon2.IDKey([]byte("password"), salt, 3, 8192, 1, 32)
	b64 := base64.RawStdEncoding
	old := fmt.Sprintf("$argon2id$v=19$m=8192,t=3,p=1$%s$%s", b64.EncodeToString(salt), b64.EncodeToString(key))
	if err := CheckPassword(old, "password"); err != nil {
		t.Fatalf("an older hash no longer verifies: %v", err)
	}
	if err := CheckPassword(old, "passwort"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password against an older hash: %v", err)
	}
}

// The hash queue answers ErrBusy at once when it is full, gives up when a
// waiter's context ends, and hashes nothing for either.
func TestHashQueueBounds(t *testing.T) {
	db := NewHasher()
	ctx := context.Background()
	hash := HashPassword("password")
	// Take every place by hand: the running ones and the waiting ones.
	for range hashRunning {
		db.run <- struct{}{}
	}
	for range hashRunning + hashWaiting - 1 {
		db.wait <- struct{}{}
	}

	// One place left: a waiter that gives up.
	waitCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- db.CheckPassword(waitCtx, hash, "password") }()
	deadline := time.Now().Add(10 * time.Second)
	for len(db.wait) < cap(db.wait) {
		if time.Now().After(deadline) {
			t.Fatal("the check never queued")
		}
		time.Sleep(time.Millisecond)
	}
	// The queue is full: the next caller is told so at once.
	if err := db.CheckPassword(ctx, hash, "password"); !errors.Is(err, ErrBusy) {
		t.Errorf("full queue: %v, want ErrBusy", err)
	}
	if _, err := db.HashPassword(ctx, "password"); !errors.Is(err, ErrBusy) {
		t.Errorf("full queue, new hash: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v, want context.Canceled", err)
	}
	if n := db.PasswordHashes(); n != 0 {
		t.Errorf("%d hashes run; want 0", n)
	}

	// Free the places: checks run and are counted.
	for range hashRunning {
		<-db.run
	}
	for range hashRunning + hashWaiting - 1 {
		<-db.wait
	}
	if err := db.CheckPassword(ctx, hash, "password"); err != nil {
		t.Fatal(err)
	}
	if err := db.CheckDummyPassword(ctx, "password"); !errors.Is(err, ErrMismatch) {
		t.Errorf("dummy check: %v, want ErrMismatch", err)
	}
	if n := db.PasswordHashes(); n != 2 {
		t.Errorf("%d hashes run; want 2", n)
	}
}
