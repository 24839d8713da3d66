package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"keydesk/store"
	"keydesk/store/sqlite"
)

// TestEveryCommandRefusesStrayArgumentsAndUnknownFlags: no command ignores
// part of its command line; each answers a usage mistake (exit 2) with its
// own usage on stderr, and changes nothing.
func TestEveryCommandRefusesStrayArgumentsAndUnknownFlags(t *testing.T) {
	f := newAdminFixture(t)
	f.user(t, "uma@example.com", store.RoleUser)
	before := f.eventCount(t)
	commands := []struct {
		name string
		args []string // a complete, valid command line
	}{
		{"serve", []string{"serve", "--db", f.path, "--addr", "127.0.0.1:0"}},
		{"user add", []string{"user", "add", "--db", f.path, "--email", "new@example.com", "--name", "New"}},
		{"user set-kyc", []string{"user", "set-kyc", "--db", f.path, "--email", "uma@example.com", "--status", "pending"}},
		{"user disable", []string{"user", "disable", "--db", f.path, "--email", "uma@example.com"}},
		{"user enable", []string{"user", "enable", "--db", f.path, "--email", "uma@example.com"}},
		{"keys create", []string{"keys", "create", "--db", f.path, "--email", "uma@example.com", "--name", "n"}},
		{"keys list", []string{"keys", "list", "--db", f.path}},
		{"db copy", []string{"db", "copy", "--from", f.path, "--to", filepath.Join(t.TempDir(), "copy.db")}},
		{"version", []string{"version"}},
		{"help", []string{"help"}},
	}
	for _, cmd := range commands {
		for _, bad := range []struct {
			kind string
			args []string
			msg  string
		}{
			{"a stray argument", append(append([]string{}, cmd.args...), "stray"), `unexpected argument "stray"`},
			{"a stray argument among the flags", insertAfterCommand(cmd.name, cmd.args, "stray"), `unexpected argument "stray"`},
			{"an unknown flag", append(append([]string{}, cmd.args...), "--frobnicate"), "flag provided but not defined"},
		} {
			t.Run(cmd.name+" with "+bad.kind, func(t *testing.T) {
				out, errOut, err := runCmd(t, "a-good-password\n", bad.args...)
				if exitCode(err) != 2 || !strings.Contains(err.Error(), bad.msg) {
					t.Fatalf("err = %v (exit %d), want exit 2 with %q", err, exitCode(err), bad.msg)
				}
				if !strings.Contains(errOut, "usage: "+usageOf(cmd.name)) || !strings.HasPrefix(usageOf(cmd.name), "keydesk "+cmd.name) {
					t.Errorf("stderr %q lacks the command's usage %q", errOut, usageOf(cmd.name))
				}
				if out != "" {
					t.Errorf("stdout %q, want nothing", out)
				}
			})
		}
	}
	if _, err := f.db.UserByEmail(context.Background(), "new@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("user add with a stray argument created the account: %v", err)
	}
	if got := f.eventCount(t); got != before {
		t.Errorf("%d audit events after refused commands, want %d", got, before)
	}
}

// insertAfterCommand puts arg right after the command's words, before its
// flags: the flag package stops at the first non-flag, so "user add stray
// --email …" would otherwise leave every flag unread.
func insertAfterCommand(name string, args []string, arg string) []string {
	n := len(strings.Fields(name))
	return append(append(append([]string{}, args[:n]...), arg), args[n:]...)
}

// TestCLIInputRulesAreTheWebs: the command line refuses what the forms
// refuse, with the same sentence after the flag's name, and stores emails
// in the same canonical form.
func TestCLIInputRulesAreTheWebs(t *testing.T) {
	db := filepath.Join(t.TempDir(), "k.db")
	out, _, err := runCmd(t, "arger-password\n", "user", "add", "--db", db, "--email", "Ärger@Example.com", "--name", "Ärger")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "<ärger@example.com>") {
		t.Errorf("user add printed %q, want the canonical email", out)
	}
	if _, _, err := runCmd(t, "", "keys", "create", "--db", db, "--email", "A\u0308RGER@example.com", "--name", "deploy"); err != nil {
		t.Errorf("keys create found no account by a decomposed, upper-case spelling: %v", err)
	}
	if _, _, err := runCmd(t, "kim-password\n", "user", "add", "--db", db, "--email", "kim@example.com", "--name", "Kim"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"a tab in a key name", "", []string{"keys", "create", "--email", "kim@example.com", "--name", "tab\there"},
			2, "keys create: --name: Use letters, numbers, spaces and punctuation only."},
		{"a 65-character key name", "", []string{"keys", "create", "--email", "kim@example.com", "--name", strings.Repeat("n", 65)},
			2, "keys create: --name: Use at most 64 characters."},
		{"a right-to-left override in a description", "", []string{"keys", "create", "--email", "kim@example.com", "--name", "n", "--description", "a\u202eb"},
			2, "keys create: --description: Use letters, numbers, spaces and punctuation only."},
		{"a 501-character description", "", []string{"keys", "create", "--email", "kim@example.com", "--name", "n", "--description", strings.Repeat("d", 501)},
			2, "keys create: --description: Use at most 500 characters."},
		{"a NUL in a person's name", "", []string{"user", "add", "--email", "nul@example.com", "--name", "n\x00ul"},
			2, "user add: --name: Use letters, numbers, spaces and punctuation only."},
		{"a zero-width space in an email", "", []string{"user", "add", "--email", "ze\u200bro@example.com", "--name", "Z"},
			2, "user add: --email: Remove the invisible or control characters from the email address."},
		{"mixed scripts in an email", "", []string{"user", "add", "--email", "k\u0456m@example.com", "--name", "K"},
			2, "user add: --email: Write each part of the address (between dots and the @) in one alphabet."},
		{"not an email", "", []string{"user", "add", "--email", "nope", "--name", "N"},
			2, "user add: --email: Enter an email address like name@example.com."},
		{"a short password", "short\n", []string{"user", "add", "--email", "s@example.com", "--name", "S"},
			2, "user add: the password on stdin: Use at least 8 characters."},
		{"the Kelvin sign is the same account", "other-password\n", []string{"user", "add", "--email", "\u212Aim@example.com", "--name", "Twin"},
			1, "user add: an account with email kim@example.com already exists"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, tc.args[:2]...), append([]string{"--db", db}, tc.args[2:]...)...)
			_, _, err := runCmd(t, tc.stdin, args...)
			if exitCode(err) != tc.code || err == nil || err.Error() != tc.msg {
				t.Errorf("err = %v (exit %d), want exit %d with %q", err, exitCode(err), tc.code, tc.msg)
			}
		})
	}

	s, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	users, err := s.Users(context.Background(), store.UserFilter{})
	if err != nil || len(users.Rows) != 2 {
		t.Errorf("%d accounts (%v), want ärger@ and kim@ only", len(users.Rows), err)
	}
}
