// Package storetest is the store's contract: one subtest per promise, using
// only the public API, so that every engine proves the same behaviour.
// An engine's own test calls Run with a function that opens a fresh, empty
// store of that engine (see store/sqlite's contract_test.go); behaviour only
// one engine has (SQLite's WAL and file modes, PostgreSQL's advisory lock)
// is tested beside that engine instead.
package storetest

import (
	"context"
	"database/sql"
	"testing"

	"keydesk/store"
	"keydesk/store/sqlstore"
)

// Opener opens a fresh, empty, migrated store for one test, built with
// opts (a test clock, say), and closes it when the test ends.
type Opener func(t testing.TB, opts ...sqlstore.Option) *sqlstore.DB

// Run runs the whole contract against the engine open opens.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		test func(*testing.T, Opener)
	}{
		{"CreateUser", testCreateUser},
		{"UpdateUserLeavesUnsetFields", testUpdateUserLeavesUnsetFields},
		{"CanonicalEmailsAreUniqueUnderOneIndex", testCanonicalEmailsAreUniqueUnderOneIndex},
		{"Sessions", testSessions},
		{"DeleteOneSessionOfItsUser", testDeleteOneSessionOfItsUser},
		{"SessionWithUser", testSessionWithUser},
		{"LoginAttemptsWindow", testLoginAttemptsWindow},
		{"LoginSucceededClearsOnlyItsOwn", testLoginSucceededClearsOnlyItsOwn},
		{"ClaimIsAtomic", testClaimIsAtomic},
		{"KeyLifecycle", testKeyLifecycle},
		{"KeyLimit", testKeyLimit},
		{"TouchKeyWritesOncePerWindow", testTouchKeyWritesOncePerWindow},
		{"AllKeys", testAllKeys},
		{"KeyInventory", testKeyInventory},
		{"InventorySearch", testInventorySearch},
		{"InventoryCount", testInventoryCount},
		{"InventoryShortCount", testInventoryShortCount},
		{"NameSortsFilledAtOpen", testNameSortsFilledAtOpen},
		{"AdminKeyActions", testAdminKeyActions},
		{"AdminDisabledKeyStaysDisabledForOwner", testAdminDisabledKeyStaysDisabledForOwner},
		{"BulkDisableTakesOverOwnerDisabledKey", testBulkDisableTakesOverOwnerDisabledKey},
		{"AdminCannotEnableExpiredKey", testAdminCannotEnableExpiredKey},
		{"UsersPagesAndSearch", testUsersPagesAndSearch},
		{"LastAdminStays", testLastAdminStays},
		{"AuditLogFilters", testAuditLogFilters},
		{"AuditFactsRoundTrip", testAuditFactsRoundTrip},
		{"AuditEventWithoutFacts", testAuditEventWithoutFacts},
		{"AuditKeyFilterPages", testAuditKeyFilterPages},
		{"KeyExpiry", testKeyExpiry},
		{"KeyScopes", testKeyScopes},
		{"InventoryExpiryFilters", testInventoryExpiryFilters},
		{"RegenerateOverlap", testRegenerateOverlap},
		{"KeyUses", testKeyUses},
		{"UseBatchIsBounded", testUseBatchIsBounded},
		{"BatchWritesLastUsed", testBatchWritesLastUsed},
		{"ReadsAgree", testReadsAgree},
		{"ListsRefuseOtherCursors", testListsRefuseOtherCursors},
		{"UnholdableText", testUnholdableText},
		{"ReadsCutShortReportTheDeadline", testReadsCutShortReportTheDeadline},
	} {
		t.Run(c.name, func(t *testing.T) { c.test(t, open) })
	}
}

// peek runs a read written with "?" on the store's reader pool, for
// the promises about what is (not) stored, which no method shows.
func peek(t testing.TB, db *sqlstore.DB, query string, args ...any) *sql.Row {
	t.Helper()
	_, read := db.Pools()
	return read.QueryRowContext(context.Background(), db.Rebind(query), args...)
}

func mustCreateUser(t *testing.T, db *sqlstore.DB, name, email string) *store.User {
	t.Helper()
	u, err := db.CreateUser(context.Background(), store.NewUser{Name: name, Email: email, PasswordHash: "x"}, store.AuditEvent{})
	if err != nil {
		t.Fatal(err)
	}
	return u
}
