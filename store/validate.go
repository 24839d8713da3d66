package store

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The input rules, shared by the web forms and the command line, so that
// neither accepts what the other refuses. Each form is a struct whose
// Validate returns, by field, the sentence to show: beside the field on the
// web, after the flag's name on the command line. The limits are named here
// once; MinPasswordLen and MaxPasswordLen sit with the password hashing.
const (
	MaxNameLen           = 100 // a person's name, in characters
	MaxKeyNameLen        = 64  // a key's name, in characters (SPEC: 1–64)
	MaxKeyDescriptionLen = 500 // a key's description, in characters (SPEC: up to 500)
	MaxEmailLen          = 254 // bytes of the canonical form, as SMTP counts (RFC 5321)
)

// FieldErrors maps a field, by its form name ("name", "email", …), to the
// first rule it breaks. Empty means valid.
type FieldErrors map[string]string

// add keeps the first error a field gets: the one to fix first.
func (e FieldErrors) add(field, msg string) {
	if msg == "" {
		return
	}
	if _, seen := e[field]; !seen {
		e[field] = msg
	}
}

// AccountInput is a new account as typed: the sign-up form, and
// `keydesk user add` (whose password comes from stdin or is generated).
type AccountInput struct {
	Name, Email, Password string
}

// Validate checks the account's fields.
func (in AccountInput) Validate() FieldErrors {
	errs := FieldErrors{}
	errs.add("name", nameProblem(in.Name))
	errs.add("email", EmailProblem(in.Email))
	errs.add("password", PasswordProblem(in.Password))
	return errs
}

// NameInput is the Name on Personal Details.
type NameInput struct {
	Name string
}

// Validate checks the name.
func (in NameInput) Validate() FieldErrors {
	errs := FieldErrors{}
	errs.add("name", nameProblem(in.Name))
	return errs
}

// KeyInput is an API key's name and description as typed: the create and
// edit forms, and `keydesk keys create`. Whether the key's name is free for
// its owner is the store's to say (ErrConflict), not a rule of the text.
type KeyInput struct {
	Name, Description string
}

// Validate checks the name and description. An empty description passes:
// the command line's --description is optional; the web form, where the
// SPEC makes it required, asks for one first.
func (in KeyInput) Validate() FieldErrors {
	errs := FieldErrors{}
	switch {
	case in.Name == "":
		errs.add("name", "Enter a name for the key.")
	case length(in.Name) > MaxKeyNameLen:
		errs.add("name", fmt.Sprintf("Use at most %d characters.", MaxKeyNameLen))
	case !plainText(in.Name):
		errs.add("name", msgNotPlain)
	}
	switch {
	case length(in.Description) > MaxKeyDescriptionLen:
		errs.add("description", fmt.Sprintf("Use at most %d characters.", MaxKeyDescriptionLen))
	case !plainText(strings.NewReplacer("\n", "", "\r", "", "\t", "").Replace(in.Description)):
		// Line breaks and tabs belong in a multi-line description.
		errs.add("description", msgNotPlain)
	}
	return errs
}

const msgNotPlain = "Use letters, numbers, spaces and punctuation only."

// nameProblem is what is wrong with a person's name, or "".
func nameProblem(name string) string {
	switch {
	case name == "":
		return "Enter your name."
	case length(name) > MaxNameLen:
		return fmt.Sprintf("Use at most %d characters.", MaxNameLen)
	case !plainText(name):
		return msgNotPlain
	}
	return ""
}

// PasswordProblem is what is wrong with a new password, or "". Any
// character counts: a password is never shown, so it needs no other rule.
func PasswordProblem(password string) string {
	switch {
	case password == "":
		return "Enter a password."
	case length(password) < MinPasswordLen:
		return fmt.Sprintf("Use at least %d characters.", MinPasswordLen)
	case length(password) > MaxPasswordLen:
		return fmt.Sprintf("Use at most %d characters.", MaxPasswordLen)
	}
	return ""
}

// plainText reports text with nothing that reads differently from what it
// is: it is UTF-8 and has no control characters (C0, DEL, C1) and no
// bidirectional overrides or isolates (the "Trojan Source" trick). Other
// Unicode, zero-width joiners included (emoji sequences and several scripts
// need them), is stored exactly and shown escaped. Emails get the stricter
// EmailProblem.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 || (r >= 0x7f && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
	})
}

// The email rules' sentences.
const (
	msgEmailRequired  = "Enter your email address."
	msgEmailInvisible = "Remove the invisible or control characters from the email address."
	msgEmailTooLong   = "This email address is too long."
	msgEmailSyntax    = "Enter an email address like name@example.com."
	msgEmailScripts   = "Write each part of the address (between dots and the @) in one alphabet."
)

// EmailProblem is what is wrong with an email address, or "". The rules
// apply to the canonical form (NormalizeEmail), the one stored and shown:
//
//   - it is UTF-8 with no control (C0, C1), format (category Cf: zero-width
//     spaces and joiners, U+FEFF, the bidirectional controls), otherwise
//     invisible (Default_Ignorable_Code_Point), unassigned or private-use
//     character: any of these makes one address look like another;
//   - it is one plain address (net/mail), with no display name or quotes;
//   - each label (the parts between dots and the @) keeps to one script,
//     Common and Inherited characters (digits, punctuation, combining
//     marks) aside, so "pаypal" with a Cyrillic "а" is refused. As in
//     Unicode's "Highly Restrictive" level (UTS #39 §5.2), Latin may join
//     Han with Hiragana and Katakana, with Bopomofo, or with Hangul, as
//     Japanese, Chinese and Korean writing do.
//
// A label written wholly in another script that looks Latin ("раураl", all
// Cyrillic) passes: telling it apart needs Unicode's confusables data.
func EmailProblem(email string) string {
	if strings.TrimSpace(email) == "" {
		return msgEmailRequired
	}
	if !utf8.ValidString(email) {
		return msgEmailInvisible
	}
	canon := NormalizeEmail(email)
	if strings.ContainsFunc(canon, invisible) {
		return msgEmailInvisible
	}
	if len(canon) > MaxEmailLen {
		return msgEmailTooLong
	}
	addr, err := mail.ParseAddress(canon)
	if err != nil || addr.Address != canon || addr.Name != "" || !strings.Contains(canon, "@") {
		return msgEmailSyntax
	}
	for _, label := range strings.FieldsFunc(canon, func(r rune) bool { return r == '.' || r == '@' }) {
		if mixedScripts(label) {
			return msgEmailScripts
		}
	}
	return ""
}

// invisible reports a character that has no place in an email address
// because it shows as nothing, or as something else: controls, format
// characters, private use, other default-ignorable characters (Hangul
// fillers, the combining grapheme joiner), variation selectors, spaces
// other than the ASCII one (which the syntax check refuses with a plainer
// sentence), and unassigned code points, in no general category.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs,
		unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector) ||
		(r != ' ' && unicode.Is(unicode.White_Space, r)) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// mixedScripts reports a label whose characters come from more than one
// script, Common and Inherited aside.
func mixedScripts(label string) bool {
	seen := map[string]bool{}
	for _, r := range label {
		if s := scriptOf(r); s != "" && s != "Common" && s != "Inherited" {
			seen[s] = true
		}
	}
	if len(seen) <= 1 {
		return false
	}
	// The mixtures Unicode's Highly Restrictive level allows (UTS #39).
	for _, set := range [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	} {
		covered := 0
		for _, s := range set {
			if seen[s] {
				covered++
			}
		}
		if covered == len(seen) {
			return false
		}
	}
	return true
}

// scriptOf is the name of r's Unicode script, or "" for none.
func scriptOf(r rune) string {
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}

// length counts characters, not bytes.
func length(s string) int { return utf8.RuneCountInString(s) }
