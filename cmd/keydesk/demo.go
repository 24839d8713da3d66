package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"keydesk/store"
	"keydesk/store/sqlstore"
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

// demoKeys are the demo user's keys: realistic names, scopes and expiries,
// one disabled, one that expires within the week (so the page announces
// it). Their secrets are thrown away, as any key's are after creation.
var demoKeys = []struct {
	name, description string
	enabled           bool
	scopes            []string
	expiresInDays     int // 0: never
}{
	{"Production backend", "Order service in eu-west-1 calling /api/v1/me for account checks.", true,
		[]string{store.ScopeProfileRead, "payments:read", "payments:write", "customers:read"}, 365},
	{"GitHub Actions deploy", "CI pipeline for the web app; rotates every quarter.", true,
		[]string{store.ScopeProfileRead, store.ScopeKeysRead}, 90},
	{"Local development", "Dana's laptop, for trying the API with curl.", true,
		[]string{store.ScopeProfileRead, store.ScopeKeysRead}, 5},
	{"Old analytics export", "Nightly export job, retired in October.", false, []string{"payments:read"}, 0},
}

// seedDemo creates the demo accounts that do not exist yet, with the demo
// user's keys, and prints the accounts.
func seedDemo(ctx context.Context, db *sqlstore.DB, stdout io.Writer) error {
	for _, a := range demoAccounts {
		_, err := db.UserByEmail(ctx, a.email)
		if err == nil {
			continue
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u, err := db.CreateUser(ctx, store.NewUser{
			Name: a.name, Email: a.email, PasswordHash: store.HashPassword(a.password), Role: a.role, KYCStatus: a.kyc,
		}, store.AuditEvent{Actor: "demo seed", Action: store.ActionUserCreated, Target: a.email})
		if errors.Is(err, store.ErrConflict) { // another instance seeded it first
			continue
		}
		if err != nil {
			return fmt.Errorf("seed demo: %w", err)
		}
		if a.role != store.RoleUser {
			continue
		}
		for _, k := range demoKeys {
			nk := store.NewKey{Name: k.name, Description: k.description, Scopes: k.scopes}
			if k.expiresInDays > 0 {
				nk.ExpiresAt = db.Now().AddDate(0, 0, k.expiresInDays)
			}
			key, _, err := db.CreateKey(ctx, u.ID, nk, store.AuditEvent{})
			if err != nil {
				return fmt.Errorf("seed demo keys: %w", err)
			}
			if !k.enabled {
				if _, err := db.SetKeyEnabled(ctx, u.ID, key.PublicID, false, store.AuditEvent{}); err != nil {
					return fmt.Errorf("seed demo keys: %w", err)
				}
			}
		}
	}
	fmt.Fprintln(stdout, "Demo mode: sign in with one of these accounts.")
	fmt.Fprintln(stdout, "  role   email               password")
	for _, a := range demoAccounts {
		fmt.Fprintf(stdout, "  %-6s %-19s %s\n", a.role, a.email, a.password)
	}
	return nil
}
