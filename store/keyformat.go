package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"strings"
)

// The API key format:
//
//	kdk_ + 30 random base62 characters + 6 base62 characters of CRC32
//
// 30 characters from a 62-letter alphabet carry 30·log2(62) ≈ 178.6 bits,
// drawn from crypto/rand with rejection sampling so every character is
// equally likely. The checksum (CRC-32/IEEE of the 30 random characters,
// big-endian base62, zero-padded to 6) lets the server refuse a mistyped or
// made-up key without a database query, and lets secret scanners tell a real
// Keydesk key from look-alikes offline. The whole key matches
// ^kdk_[0-9A-Za-z]{36}$.
const (
	KeyPrefix      = "kdk_"
	keyRandomLen   = 30
	keyChecksumLen = 6
	KeyLen         = len(KeyPrefix) + keyRandomLen + keyChecksumLen // 40

	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// ErrMalformedKey is a string that is not a well-formed key: wrong shape or
// wrong checksum.
var ErrMalformedKey = errors.New("malformed API key")

// GenerateKey returns a new random key.
func GenerateKey() string {
	var b strings.Builder
	b.Grow(KeyLen)
	b.WriteString(KeyPrefix)
	random := randomBase62(keyRandomLen)
	b.WriteString(random)
	b.WriteString(checksum(random))
	return b.String()
}

// ParseKey checks a key's shape and checksum, touching nothing else.
func ParseKey(key string) error {
	if len(key) != KeyLen || !strings.HasPrefix(key, KeyPrefix) {
		return ErrMalformedKey
	}
	body := key[len(KeyPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return ErrMalformedKey
		}
	}
	if checksum(body[:keyRandomLen]) != body[keyRandomLen:] {
		return ErrMalformedKey
	}
	return nil
}

// HashKey is the form in which a key is stored and looked up. A plain
// SHA-256 suffices: the key has 178 random bits, so there is nothing for a
// slow hash to protect against guessing.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// MaskKey is how a stored key is shown: the prefix and its last four.
func MaskKey(last4 string) string {
	return KeyPrefix + "…" + last4
}

func checksum(s string) string {
	n := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, keyChecksumLen)
	for i := keyChecksumLen - 1; i >= 0; i-- {
		out[i] = base62[n%62]
		n /= 62
	}
	return string(out)
}

// randomBase62 draws n characters uniformly: bytes of 248 or more are
// dropped, since 248 = 4·62 is the largest multiple of 62 a byte holds.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/4)
	for len(out) < n {
		rand.Read(buf)
		for _, c := range buf {
			if c < 248 && len(out) < n {
				out = append(out, base62[c%62])
			}
		}
	}
	return string(out)
}
