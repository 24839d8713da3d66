//go:build !unix

package sqlite

import "keydesk/store/sqlstore"

// openEpoch has no shared memory to map here: the store keeps no cache of
// keys, every FindKey reads the database, and every page is rendered anew.
func openEpoch(string) (keys, pages sqlstore.Epoch, err error) { return nil, nil, nil }
