package store

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Inventory filters and sorts, as they appear in URLs.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"

	RiskNeverUsed     = "never_used"
	RiskStale         = "stale" // unused for StaleAfter or more
	RiskOwnerDisabled = "owner_disabled"

	ExpirySoon    = "soon"    // expires within ExpiresSoon
	ExpiryExpired = "expired" // past its expiry
	ExpiryNever   = "never"   // no expiration

	SortCreated  = "created"
	SortName     = "name"
	SortLastUsed = "last_used"
)

// StaleAfter is how long unused a key must be to count as stale.
const StaleAfter = 90 * 24 * time.Hour

// InventoryPageSize is the admin inventory's page length.
const InventoryPageSize = 50

// ErrBadCursor is a page cursor that this store did not write.
var ErrBadCursor = errors.New("bad page cursor")

// InventoryFilter selects and orders the admin key inventory.
type InventoryFilter struct {
	// Query is any part of a key name, owner name or owner email, in any
	// case, or a key's exact last 4. One shorter than MinSubstring
	// matches names and emails from their start.
	Query  string
	Status string   // "", StatusEnabled, StatusDisabled
	Risk   string   // "", RiskNeverUsed, RiskStale, RiskOwnerDisabled
	Expiry string   // "", ExpirySoon, ExpiryExpired, ExpiryNever
	Scope  string   // only keys holding this scope (keys made before scopes hold every one), when not empty
	Sort   string   // SortCreated (default), SortName, SortLastUsed
	Asc    bool     // ascending instead of descending
	IDs    []string // only these keys (public ids), when not empty
	After  string   // the Next cursor of the previous page
	Before string   // the Prev cursor of the next page (After wins when both are set)
	Limit  int      // InventoryPageSize when 0
	// Count asks for the number of keys the filter matches (the page's
	// Total), counted up to this many (CountCap, as a rule), or
	// ShortCountCap for a Query shorter than MinSubstring; 0 counts none.
	Count int
	// Listing reads only what a list of keys shows (the inventory's rows,
	// its export, the bulk confirmation): each key's description, last-used
	// IP, updated time and previous secret are left empty, and not read.
	Listing bool
}

// MinSubstring is the shortest query the inventory finds anywhere in a
// name or email: a trigram, what the search indexes are made of.
const MinSubstring = 3

// CountCap is as far as the inventory counts: past it the count says
// "more than CountCap", which costs what counting CountCap keys does
// however many match.
const CountCap = 10_000

// ShortCountCap is as far as a search shorter than MinSubstring counts,
// whatever Count asks: such a search matches names and emails from their
// start, so one or two letters match a large part of a large inventory
// ("ba": every "backup…" key), and counting ten thousand of them cost more
// than the rest of the page.
const ShortCountCap = 1_000

// InventoryRow is a key with its owner.
type InventoryRow struct {
	Key           APIKey
	OwnerID       int64
	OwnerName     string
	OwnerEmail    string
	OwnerDisabled bool
}

// InventoryPage is one page of the inventory; Next is empty on the last,
// Prev on the first.
type InventoryPage struct {
	Rows []InventoryRow
	Prev string
	Next string
	// Total is how many keys match, when the filter asked to Count; when
	// more than its Count do, it is that Count and TotalCapped is set.
	Total       int
	TotalCapped bool
}

// EncodeCursor makes a page cursor of the last row's sort value and id,
// base64url-encoded; it is opaque to clients and checked when read back. A
// string sort value (SortName) and an integer one (every other sort) are
// told apart, so a cursor cannot be replayed against the other kind.
func EncodeCursor(sortValue any, id int64) string {
	var v string
	switch x := sortValue.(type) {
	case int64:
		v = "i" + strconv.FormatInt(x, 10)
	case string:
		v = "s" + x
	case []byte:
		v = "s" + string(x)
	default:
		v = fmt.Sprintf("s%v", x)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10) + ":" + v))
}

// DecodeCursor reads back a cursor that EncodeCursor wrote for a list
// sorted by sort; anything else is ErrBadCursor.
func DecodeCursor(cursor, sort string) (any, int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, 0, ErrBadCursor
	}
	idPart, value, ok := strings.Cut(string(raw), ":")
	if !ok || value == "" {
		return nil, 0, ErrBadCursor
	}
	id, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil {
		return nil, 0, ErrBadCursor
	}
	switch kind, v := value[0], value[1:]; {
	case kind == 'i' && sort != SortName:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, 0, ErrBadCursor
		}
		return n, id, nil
	case kind == 's' && sort == SortName:
		return v, id, nil
	}
	return nil, 0, ErrBadCursor
}
