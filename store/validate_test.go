package store

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"  Uma@Example.COM ":           "uma@example.com",
		"Ärger@example.com":            "ärger@example.com",
		"A\u0308rger@example.com":      "ärger@example.com", // decomposed, as macOS types it
		"\u212Aim@example.com":         "kim@example.com",   // the Kelvin sign
		"ｋｉｍ@ｅｘａｍｐｌｅ.ｃｏｍ":              "kim@example.com",   // fullwidth
		"\ufb01nn@example.com":         "finn@example.com",  // the ligature "ﬁ"
		"ΣΟΦΊΑ@example.gr":             "σοφία@example.gr",
		"straße@example.de":            "straße@example.de",
		"İpek@example.com":             "ipek@example.com",
		"zed@ПРИМЕР.РФ":                "zed@пример.рф",
		"already@canonical.example":    "already@canonical.example",
		"Mixed.Case+Tag@Sub.Example":   "mixed.case+tag@sub.example",
		"\u00c5ngstr\u00f6m@x.example": "ångström@x.example",
	} {
		if got := NormalizeEmail(in); got != want {
			t.Errorf("NormalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestNormalizeEmailIsIdempotent: a canonical form is its own canonical
// form, for every code point alone and after an ASCII letter, so storing
// and looking up agree whichever was normalised first.
func TestNormalizeEmailIsIdempotent(t *testing.T) {
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cc, unicode.Cf) {
			continue // unassigned, private use or a surrogate: refused anyway
		}
		for _, s := range []string{string(r), "A" + string(r), string(r) + "\u0308"} {
			once := NormalizeEmail(s)
			if twice := NormalizeEmail(once); twice != once {
				t.Fatalf("NormalizeEmail(%q) = %q, but NormalizeEmail of that is %q", s, once, twice)
			}
		}
	}
}

func TestEmailProblem(t *testing.T) {
	for _, tc := range []struct {
		email string
		want  string // "" when valid
	}{
		{"uma@example.com", ""},
		{"  Uma@Example.com  ", ""},
		{"Ärger@example.com", ""},
		{"o'brien+tag@example.co.uk", ""},
		{"zed@пример.рф", ""},        // Latin, then Cyrillic: one script per label
		{"иван@пример.рф", ""},       // all Cyrillic
		{"山田太郎@例え.テスト", ""},          // Han with Hiragana and Katakana
		{"たなかtanaka@example.jp", ""}, // Hiragana with Latin (UTS #39 Highly Restrictive)
		{"김철수@example.kr", ""},       // Hangul
		{"\u212Aim@example.com", ""}, // folds to kim@example.com
		{"", msgEmailRequired},
		{"   ", msgEmailRequired},
		{"not-an-email", msgEmailSyntax},
		{"two@@example.com", msgEmailSyntax},
		{"Uma <uma@example.com>", msgEmailSyntax},
		{`"quoted name"@example.com`, msgEmailSyntax},
		{"sp ace@example.com", msgEmailSyntax},
		{"u\u00a0ma@example.com", msgEmailSyntax}, // NFKC makes the no-break space a space
		{"ev\u202eil@example.com", msgEmailInvisible},
		{"ev\u2067il\u2069@example.com", msgEmailInvisible},
		{"ze\u200bro@example.com", msgEmailInvisible},
		{"jo\u200din@example.com", msgEmailInvisible},
		{"bom\ufeff@example.com", msgEmailInvisible},
		{"soft\u00adhyphen@example.com", msgEmailInvisible},
		{"filler\u3164@example.com", msgEmailInvisible},
		{"cgj\u034f@example.com", msgEmailInvisible},
		{"vs\ufe0f@example.com", msgEmailInvisible},
		{"tab\there@example.com", msgEmailInvisible},
		{"nul\x00@example.com", msgEmailInvisible},
		{"c1\u0085@example.com", msgEmailInvisible},
		{"private\ue000@example.com", msgEmailInvisible},
		{"unassigned\U000e0fff@example.com", msgEmailInvisible},
		{"bad\xff@example.com", msgEmailInvisible},
		{"p\u0430ypal@example.com", msgEmailScripts}, // Cyrillic а among Latin letters
		{"kim@ex\u0430mple.com", msgEmailScripts},    // the same in the domain
		{"\u03bfk@example.com", msgEmailScripts},     // Greek ο with Latin k
		{"abc\u05d0@example.com", msgEmailScripts},   // Hebrew with Latin
		{strings.Repeat("a", 243) + "@example.com", msgEmailTooLong},
	} {
		if got := EmailProblem(tc.email); got != tc.want {
			t.Errorf("EmailProblem(%q) = %q, want %q", tc.email, got, tc.want)
		}
	}
}

func TestAccountInputValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   AccountInput
		want FieldErrors
	}{
		{"valid", AccountInput{"Zoë Ångström 山田", "zoe@example.com", "long-enough"}, FieldErrors{}},
		{"zero-width joiners in a name are kept", AccountInput{"Uma\u200d👩\u200d💻", "uma@example.com", "long-enough"}, FieldErrors{}},
		{"everything missing", AccountInput{}, FieldErrors{"name": "Enter your name.", "email": msgEmailRequired, "password": "Enter a password."}},
		{"tab in the name", AccountInput{"tab\there", "uma@example.com", "long-enough"}, FieldErrors{"name": msgNotPlain}},
		{"right-to-left override in the name", AccountInput{"invoice\u202efdp.exe", "uma@example.com", "long-enough"}, FieldErrors{"name": msgNotPlain}},
		{"101-character name", AccountInput{strings.Repeat("n", 101), "uma@example.com", "long-enough"}, FieldErrors{"name": "Use at most 100 characters."}},
		{"mixed-script email", AccountInput{"Uma", "p\u0430ypal@example.com", "long-enough"}, FieldErrors{"email": msgEmailScripts}},
		{"short password", AccountInput{"Uma", "uma@example.com", "1234567"}, FieldErrors{"password": "Use at least 8 characters."}},
		{"long password", AccountInput{"Uma", "uma@example.com", strings.Repeat("p", 257)}, FieldErrors{"password": "Use at most 256 characters."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertFieldErrors(t, tc.in.Validate(), tc.want)
		})
	}
}

func TestNameInputValidate(t *testing.T) {
	assertFieldErrors(t, NameInput{"Uma"}.Validate(), FieldErrors{})
	assertFieldErrors(t, NameInput{"nul\x00"}.Validate(), FieldErrors{"name": msgNotPlain})
	assertFieldErrors(t, NameInput{"c1 \u0085"}.Validate(), FieldErrors{"name": msgNotPlain})
	assertFieldErrors(t, NameInput{"isolate \u2067x\u2069"}.Validate(), FieldErrors{"name": msgNotPlain})
	assertFieldErrors(t, NameInput{"bad utf8 \xff"}.Validate(), FieldErrors{"name": msgNotPlain})
	assertFieldErrors(t, NameInput{""}.Validate(), FieldErrors{"name": "Enter your name."})
}

func TestKeyInputValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   KeyInput
		want FieldErrors
	}{
		{"valid", KeyInput{"deploy bot", "CI for the web app"}, FieldErrors{}},
		{"no description is the form's to refuse", KeyInput{"deploy bot", ""}, FieldErrors{}},
		{"multi-line description with a tab", KeyInput{"deploy", "line one\nline\ttwo\r\nthree"}, FieldErrors{}},
		{"no name", KeyInput{"", "d"}, FieldErrors{"name": "Enter a name for the key."}},
		{"tab in the name", KeyInput{"tab\there", "d"}, FieldErrors{"name": msgNotPlain}},
		{"65-character name", KeyInput{strings.Repeat("n", 65), "d"}, FieldErrors{"name": "Use at most 64 characters."}},
		{"64 characters, counted as characters", KeyInput{strings.Repeat("ü", 64), "d"}, FieldErrors{}},
		{"501-character description", KeyInput{"n", strings.Repeat("d", 501)}, FieldErrors{"description": "Use at most 500 characters."}},
		{"NUL in the description", KeyInput{"n", "a\x00b"}, FieldErrors{"description": msgNotPlain}},
		{"override in the description", KeyInput{"n", "a\u202eb"}, FieldErrors{"description": msgNotPlain}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assertFieldErrors(t, tc.in.Validate(), tc.want)
		})
	}
}

func assertFieldErrors(t *testing.T, got, want FieldErrors) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("errors %v, want %v", got, want)
		return
	}
	for field, msg := range want {
		if got[field] != msg {
			t.Errorf("errors %v, want %v", got, want)
			return
		}
	}
}
