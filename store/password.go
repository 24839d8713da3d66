package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Password rules. The upper bound keeps a hash from costing more than it
// should; 256 covers any passphrase or password manager.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// argon2id parameters: OWASP ASVS 5.0's floor (19 MiB, 2 passes, 1 lane).
// A hash costs about 20 MiB of resident memory while it runs, so a store's
// Hasher runs one at a time: a burst of sign-ins queues instead of
// exhausting memory. Two at once measured 70 MiB resident under a burst of
// 300 logins, past the 64 MiB the server is held to; one at once stays
// under 60 MiB and leaves the second core to everything else.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// The hash queue's bounds. hashRunning hashes run at once; at most
// hashWaiting more wait for a turn, which at under 70 ms a hash is about a
// second of waiting. Past that a caller is told ErrBusy at once, instead of
// waiting out its deadline behind a burst.
const (
	hashRunning = 1
	hashWaiting = 16
)

// ErrMismatch is what CheckPassword answers for a wrong password.
var ErrMismatch = errors.New("password does not match")

// ErrBusy is what a Hasher's methods answer when the hash queue is
// full: nothing was hashed, and the caller should say "try again shortly".
var ErrBusy = errors.New("password hashing is busy")

// Hasher bounds the argon2id work of one store: how many hashes run at
// once and how many may wait. A waiter gives up when its context does. It
// counts every hash run, for tests that check that the work was (or was
// not) done without measuring time. An engine's DB embeds one, so its
// password methods are these.
type Hasher struct {
	run    chan struct{} // a token per running hash
	wait   chan struct{} // a token per running or waiting hash
	hashes atomic.Int64
}

// NewHasher makes an empty hash queue.
func NewHasher() *Hasher {
	return &Hasher{run: make(chan struct{}, hashRunning), wait: make(chan struct{}, hashRunning+hashWaiting)}
}

// do runs fn when a slot is free: ErrBusy at once when the queue is full,
// the context's error if it ends first.
func (q *Hasher) do(ctx context.Context, fn func()) error {
	select {
	case q.wait <- struct{}{}:
	default:
		return ErrBusy
	}
	defer func() { <-q.wait }()
	select {
	case q.run <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("wait for a password hash: %w", ctx.Err())
	}
	defer func() { <-q.run }()
	// A context that ended while the slot was being taken gets no hash:
	// nobody is waiting for the answer.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("wait for a password hash: %w", err)
	}
	q.hashes.Add(1)
	fn()
	// The hash's 19 MiB are garbage now. Collect them before the next hash
	// takes this slot, so that it reuses those pages instead of new ones:
	// left to the pacer, a burst held two hashes' worth of garbage beside the
	// two live ones (86 MiB resident). A collection here costs about a
	// millisecond against a hash's tens: the blocks hold no pointers.
	runtime.GC()
	return nil
}

// PasswordHashes is how many argon2id hashes this queue has run, for tests.
func (q *Hasher) PasswordHashes() int64 {
	return q.hashes.Load()
}

// HoldPasswordHashes takes every running place of the queue, as hashes
// that never finish would, until release is called: for tests that need
// hashes to wait, without timing a slow one. It blocks while a hash runs.
func (q *Hasher) HoldPasswordHashes() (release func()) {
	for range hashRunning {
		q.wait <- struct{}{}
		q.run <- struct{}{}
	}
	return sync.OnceFunc(func() {
		for range hashRunning {
			<-q.run
			<-q.wait
		}
	})
}

// PasswordHashesWaiting is how many password hashes wait for a turn, for
// tests that need the queue in a known state.
func (q *Hasher) PasswordHashesWaiting() int {
	return max(0, len(q.wait)-len(q.run))
}

// HashPassword is HashPassword through the queue: ErrBusy when it is full,
// the context's error when that ends first.
func (q *Hasher) HashPassword(ctx context.Context, password string) (hash string, err error) {
	err = q.do(ctx, func() { hash = HashPassword(password) })
	return hash, err
}

// CheckPassword is CheckPassword through the queue: nil, ErrMismatch,
// ErrBusy, the context's error, or an unreadable hash.
func (q *Hasher) CheckPassword(ctx context.Context, hash, password string) error {
	var checked error
	if err := q.do(ctx, func() { checked = CheckPassword(hash, password) }); err != nil {
		return err
	}
	return checked
}

// CheckDummyPassword spends one queued CheckPassword on a hash nobody has,
// so that an unknown email costs what a wrong password costs. It answers
// ErrMismatch, or the queue's error.
func (q *Hasher) CheckDummyPassword(ctx context.Context, password string) error {
	return q.CheckPassword(ctx, dummyHash(), password)
}

// HashPassword hashes password with argon2id and a random salt, in the PHC
// string form: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>. It runs at
// once, outside any queue: for tools and seeding; a server hashes through
// Hasher.HashPassword.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches the PHC hash: nil, or
// ErrMismatch, or an error for a hash it cannot read. The parameters come
// from the hash, so older hashes keep working when the defaults rise.
func CheckPassword(hash, password string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("check password: not an argon2id hash")
	}
	var version int
	var memory, passes uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("check password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &passes, &threads); err != nil {
		return fmt.Errorf("check password: parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("check password: salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return fmt.Errorf("check password: key: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// dummyHash is checked against when an email is unknown, so that a wrong
// email costs the same time as a wrong password and answers nothing more.
// It is made once per process, on first use, and holds no secret.
var dummyHash = sync.OnceValue(func() string { return HashPassword("keydesk-dummy-password") })
