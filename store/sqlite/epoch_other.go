//go:build !unix

package sqlite

import "keydesk/store/sqlstore"

// openEpoch has no shared memory to map here: the store keeps no cache of
// keys, and every FindKey reads the database.
func openEpoch(string) (sqlstore.Epoch, error) { return nil, nil }
