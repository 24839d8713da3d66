package main

import (
	"context"
	"fmt"
	"time"

	"keydesk/e2e"
	"keydesk/store"
	"keydesk/store/sqlstore"
)

// platformOwner holds the keys of the key lifecycle in the admin's
// inventory: each expiry, and scopes of the demo platform.
var platformOwner = e2e.Account{Name: "Priya Platform", Email: "priya@example.com", Password: "priya-password",
	KYC: store.KYCVerified}

// platformKeys are her keys; an expired one she switched off.
var platformKeys = []struct {
	name      string
	expiresIn time.Duration // 0: never; negative: expired that long ago
	scopes    []string
	disabled  bool
}{
	{"Payments webhook signer", 3 * 24 * time.Hour, []string{"payments:write", "webhooks:manage"}, false},
	{"Refunds worker", 45 * 24 * time.Hour, []string{"payments:read", "payments:write"}, false},
	{"Support console", -2 * 24 * time.Hour, []string{"customers:read"}, true},
	{"Data warehouse sync", 6 * 24 * time.Hour, []string{store.ScopeProfileRead, "payments:read", "customers:read"}, false},
}

// seedPlatformKeys creates the platform owner and her keys.
func seedPlatformKeys(ctx context.Context, db *sqlstore.DB) error {
	u, err := e2e.CreateUser(ctx, db, platformOwner)
	if err != nil {
		return err
	}
	for _, k := range platformKeys {
		nk := store.NewKey{Name: k.name, Description: "Seeded for the inventory's screenshots.", Scopes: k.scopes}
		if k.expiresIn != 0 {
			nk.ExpiresAt = db.Now().Add(k.expiresIn)
		}
		key, _, err := db.CreateKey(ctx, u.ID, nk, store.AuditEvent{ActorID: u.ID, Actor: u.Email, Action: store.ActionKeyCreated, IP: "192.0.2.20"})
		if err != nil {
			return fmt.Errorf("seed key %q: %w", k.name, err)
		}
		if k.disabled {
			if _, err := db.SetKeyEnabled(ctx, u.ID, key.PublicID, false,
				store.AuditEvent{ActorID: u.ID, Actor: u.Email, Action: store.ActionKeyDisabled, Target: key.PublicID, IP: "192.0.2.20"}); err != nil {
				return fmt.Errorf("disable key %q: %w", k.name, err)
			}
		}
	}
	return nil
}
