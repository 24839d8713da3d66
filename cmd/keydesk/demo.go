package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"keydesk/store"
)

// The demo accounts of the SPEC. Their passwords are public by design:
// demo mode is for trying Keydesk out, never for real data.
var demoAccounts = []struct {
	name, email, password string
	role                  store.Role
	kyc                   store.KYCStatus
}{
	{"Dana Demo", "demo@example.com", "demo-password", store.RoleUser, store.KYCVerified},
	{"Ada Admin", "admin@example.com", "admin-password", store.RoleAdmin, store.KYCVerified},
}

// seedDemo creates the demo accounts that do not exist yet, and prints them.
func seedDemo(ctx context.Context, db *store.DB, stdout io.Writer) error {
	for _, a := range demoAccounts {
		_, err := db.UserByEmail(ctx, a.email)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err = db.CreateUser(ctx, store.NewUser{
			Name: a.name, Email: a.email, PasswordHash: store.HashPassword(a.password), Role: a.role, KYCStatus: a.kyc,
		}, store.AuditEvent{Actor: "demo seed", Action: store.ActionUserCreated, Target: a.email})
		if err != nil && !errors.Is(err, store.ErrConflict) { // another instance seeded it first
			return fmt.Errorf("seed demo: %w", err)
		}
	}
	fmt.Fprintln(stdout, "Demo mode: sign in with one of these accounts.")
	fmt.Fprintln(stdout, "  role   email               password")
	for _, a := range demoAccounts {
		fmt.Fprintf(stdout, "  %-6s %-19s %s\n", a.role, a.email, a.password)
	}
	return nil
}
