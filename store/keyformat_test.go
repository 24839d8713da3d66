package store

import (
	"regexp"
	"strings"
	"testing"
)

var keyPattern = regexp.MustCompile(`^kdk_[0-9A-Za-z]{36}$`)

func TestGenerateKey(t *testing.T) {
	seen := map[string]bool{}
	counts := map[byte]int{}
	for range 2000 {
		k := GenerateKey()
		if !keyPattern.MatchString(k) {
			t.Fatalf("%q does not match %s", k, keyPattern)
		}
		if err := ParseKey(k); err != nil {
			t.Fatalf("a generated key does not parse: %q: %v", k, err)
		}
		if seen[k] {
			t.Fatalf("duplicate key %q", k)
		}
		seen[k] = true
		for i := len(KeyPrefix); i < len(KeyPrefix)+keyRandomLen; i++ {
			counts[k[i]]++
		}
	}
	// 60,000 draws over 62 characters: each should appear about 968 times.
	// A character missing, or far off, means a biased or broken alphabet.
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters drawn, want 62", len(counts))
	}
	for c, n := range counts {
		if n < 700 || n > 1250 {
			t.Errorf("character %q drawn %d times, expected about 968", c, n)
		}
	}
}

func TestParseKey(t *testing.T) {
	good := GenerateKey()
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	for name, key := range map[string]string{
		"empty":                   "",
		"prefix only":             "kdk_",
		"wrong prefix":            "kdx_" + good[4:],
		"upper-case prefix":       "KDK_" + good[4:],
		"one short":               good[:len(good)-1],
		"one long":                good + "a",
		"a changed random char":   flip(good, 10),
		"a changed checksum char": flip(good, len(good)-1),
		"non-base62 character":    good[:10] + "-" + good[11:],
		"non-ASCII":               good[:10] + "é" + good[12:],
		"surrounding space":       " " + good[:len(good)-1],
	} {
		if err := ParseKey(key); err != ErrMalformedKey {
			t.Errorf("%s: ParseKey(%q) = %v, want ErrMalformedKey", name, key, err)
		}
	}
	// A known key: its checksum is the CRC-32 of the 30 random characters.
	known := "kdk_" + strings.Repeat("A", 30) + checksum(strings.Repeat("A", 30))
	if err := ParseKey(known); err != nil {
		t.Errorf("known key: %v", err)
	}
	if got := MaskKey(good[len(good)-4:]); got != "kdk_…"+good[len(good)-4:] {
		t.Errorf("MaskKey = %q", got)
	}
	if HashKey(good) == HashKey(flip(good, 10)) || len(HashKey(good)) != 64 {
		t.Error("HashKey is not a SHA-256 hex digest")
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add(GenerateKey())
	f.Add("kdk_" + strings.Repeat("0", 36))
	f.Add("kdk_")
	f.Add("")
	f.Add("kdk_" + strings.Repeat("z", 30) + checksum(strings.Repeat("z", 30)))
	f.Fuzz(func(t *testing.T, key string) {
		err := ParseKey(key)
		if err == nil {
			if !keyPattern.MatchString(key) {
				t.Fatalf("accepted %q, which does not match the key pattern", key)
			}
			body := key[len(KeyPrefix):]
			if checksum(body[:keyRandomLen]) != body[keyRandomLen:] {
				t.Fatalf("accepted %q with a wrong checksum", key)
			}
		} else if err != ErrMalformedKey {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
