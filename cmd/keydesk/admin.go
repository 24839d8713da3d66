package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// The administration commands: an operator's hands on accounts and keys
// without the web console. Each change is audited with "cli" as the actor.

// kycStatuses are the values --status takes, as the usage names them.
const kycStatuses = "verified, pending, not_started, rejected"

// parseKYCStatus reads a KYC status in any case, with "not started",
// "not-started" and "not_started" all meaning the same.
func parseKYCStatus(s string) (store.KYCStatus, bool) {
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	switch st := store.KYCStatus(norm); st {
	case store.KYCVerified, store.KYCPending, store.KYCNotStarted, store.KYCRejected:
		return st, true
	}
	return "", false
}

// adminFlags is the flag set every administration command starts from:
// --db and the pool's settings with their environment fallbacks, and
// --email.
func adminFlags(name string, getenv func(string) string, stderr io.Writer) (fs *flag.FlagSet, email *string, db *dbConfig, err error) {
	fs = newFlags(name, stderr)
	email = fs.String("email", "", "the account's email")
	db, err = dbFlags(fs, getenv)
	return fs, email, db, err
}

// lookupUser finds the account the command is about; an unknown email is
// a plain failure (exit 1), not a usage mistake.
func lookupUser(ctx context.Context, db *sqlstore.DB, cmd, email string) (*store.User, error) {
	u, err := db.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s: no account with email %s", cmd, email)
	}
	return u, err
}

// userSetKYC is "keydesk user set-kyc".
func userSetKYC(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, email, dbc, err := adminFlags("user set-kyc", getenv, stderr)
	if err != nil {
		return err
	}
	status := fs.String("status", "", "the new KYC status: "+kycStatuses)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	*email = strings.TrimSpace(*email)
	if *email == "" || *status == "" {
		return usageError{"user set-kyc: --email and --status are required"}
	}
	kyc, ok := parseKYCStatus(*status)
	if !ok {
		return usageError{fmt.Sprintf("user set-kyc: %q is not a KYC status; use one of %s", *status, kycStatuses)}
	}

	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := lookupUser(ctx, db, "user set-kyc", *email)
	if err != nil {
		return err
	}
	if u.KYCStatus == kyc {
		fmt.Fprintf(stdout, "%s's KYC status is already %s; nothing changed\n", u.Email, kyc.Label())
		return nil
	}
	_, err = db.UpdateUser(ctx, u.ID, store.UserUpdate{KYCStatus: &kyc}, store.AuditEvent{
		Actor: "cli", Action: store.ActionKYCChanged, SubjectID: u.ID, Target: u.Email,
		Detail: fmt.Sprintf("kyc: %s → %s", u.KYCStatus.Label(), kyc.Label()),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s's KYC status: %s → %s\n", u.Email, u.KYCStatus.Label(), kyc.Label())
	return nil
}

// userSetDisabled is "keydesk user disable" and "keydesk user enable".
// Disabling ends the user's sessions and stops their keys answering; each
// key keeps its own status, so enabling brings back exactly the keys that
// were enabled before.
func userSetDisabled(ctx context.Context, args []string, disabled bool, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, action, done := "user enable", store.ActionUserEnabled, "enabled"
	if disabled {
		cmd, action, done = "user disable", store.ActionUserDisabled, "disabled"
	}
	fs, email, dbc, err := adminFlags(cmd, getenv, stderr)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	*email = strings.TrimSpace(*email)
	if *email == "" {
		return usageError{cmd + ": --email is required"}
	}

	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	u, err := lookupUser(ctx, db, cmd, *email)
	if err != nil {
		return err
	}
	if u.Disabled == disabled {
		fmt.Fprintf(stdout, "%s is already %s; nothing changed\n", u.Email, done)
		return nil
	}
	err = db.SetUserDisabled(ctx, u.ID, disabled, store.AuditEvent{
		Actor: "cli", Action: action, SubjectID: u.ID, Target: u.Email,
	})
	if errors.Is(err, store.ErrLastAdmin) {
		return fmt.Errorf("%s: %s is the last active admin; make another account an admin first", cmd, u.Email)
	}
	if err != nil {
		return err
	}
	if disabled {
		fmt.Fprintf(stdout, "Disabled %s: their sessions are ended and their keys refused until `keydesk user enable`\n", u.Email)
	} else {
		fmt.Fprintf(stdout, "Enabled %s: each of their keys is back to its own status\n", u.Email)
	}
	return nil
}

// keysList is "keydesk keys list": key metadata as a table, never a key or
// its hash.
func keysList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, email, dbc, err := adminFlags("keys list", getenv, stderr)
	if err != nil {
		return err
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	*email = strings.TrimSpace(*email)

	db, err := dbc.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var rows []store.InventoryRow
	if *email == "" {
		if rows, err = db.AllKeys(ctx); err != nil {
			return err
		}
	} else {
		u, err := lookupUser(ctx, db, "keys list", *email)
		if err != nil {
			return err
		}
		keys, err := db.KeysForUser(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, k := range keys {
			rows = append(rows, store.InventoryRow{Key: *k, OwnerID: u.ID, OwnerName: u.Name, OwnerEmail: u.Email, OwnerDisabled: u.Disabled})
		}
	}

	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tOWNER\tNAME\tSTATUS\tKEY\tLAST USED\tCREATED\tEXPIRES\tSCOPES")
	now := db.Now()
	for _, r := range rows {
		status := keyListStatus(r, now)
		lastUsed := "never"
		if !r.Key.LastUsedAt.IsZero() {
			lastUsed = r.Key.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Key.PublicID, cell(r.OwnerEmail), cell(r.Key.Name),
			status, r.Key.Masked(), lastUsed, r.Key.CreatedAt.UTC().Format(time.RFC3339), expiryText(r.Key.ExpiresAt), scopesText(&r.Key))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rows) == 0 {
		fmt.Fprintln(stderr, "No keys.")
	}
	return nil
}

// keyListStatus is a key's STATUS cell at now: whether it works, and if
// not why (store.EffectiveState). Cells are split on runs of two spaces,
// so single spaces are safe here.
func keyListStatus(r store.InventoryRow, now time.Time) string {
	return store.EffectiveState(&r.Key, r.OwnerDisabled, now).Words()
}

// cell keeps a value typed on the web (a key name, say) on one table cell:
// a tab or a line break in it would break the columns.
func cell(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
