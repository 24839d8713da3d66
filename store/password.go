package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Password rules. The upper bound keeps a hash from costing more than it
// should; 256 covers any passphrase or password manager.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 256
)

// argon2id parameters: OWASP ASVS 5.0's floor (19 MiB, 2 passes, 1 lane).
// A hash costs about 19 MiB while it runs, so at most two run at once: a
// burst of sign-ins queues instead of exhausting memory, and with one lane
// each, two hashes already keep two cores busy.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

var hashSlots = make(chan struct{}, 2)

// ErrMismatch is what CheckPassword answers for a wrong password.
var ErrMismatch = errors.New("password does not match")

// HashPassword hashes password with argon2id and a random salt, in the PHC
// string form: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>.
func HashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt)
	key := derive([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
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
	got := derive([]byte(password), salt, passes, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

func derive(password, salt []byte, passes, memory uint32, threads uint8, keyLen uint32) []byte {
	hashSlots <- struct{}{}
	defer func() { <-hashSlots }()
	return argon2.IDKey(password, salt, passes, memory, threads, keyLen)
}

// dummyHash is checked against when an email is unknown, so that a wrong
// email costs the same time as a wrong password and answers nothing more.
var dummyHash = sync.OnceValue(func() string { return HashPassword("keydesk-dummy-password") })

// CheckDummyPassword spends the time of one CheckPassword and always fails.
func CheckDummyPassword(password string) {
	_ = CheckPassword(dummyHash(), password)
}
