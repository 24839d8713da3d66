package store

import (
	"crypto/rand"
	"encoding/hex"
)

// The public ids Keydesk makes: random, so that they say nothing about how
// many rows exist or in which order they came.

// NewUserPublicID is a fresh "User ID": usr_ and 16 hex digits.
func NewUserPublicID() string { return "usr_" + randomHex(8) }

// NewKALPID is a fresh test-net id: tkalp and 36 hex digits.
func NewKALPID() string { return "tkalp" + randomHex(18) }

// NewKeyPublicID is a fresh key id, the one in URLs: key_ and 16 hex digits.
func NewKeyPublicID() string { return "key_" + randomHex(8) }

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand
	return hex.EncodeToString(b)
}
