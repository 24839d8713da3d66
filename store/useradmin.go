package store

import "errors"

// ErrLastAdmin refuses a change that would leave no active admin.
var ErrLastAdmin = errors.New("the last admin cannot be removed")

// UserFilter selects a page of users for the admin list.
type UserFilter struct {
	Query string // prefix of the email (compared in canonical form) or of the name, any case
	After string // the Next cursor of the previous page
	Limit int    // InventoryPageSize when 0
}

// UserRow is a user with the number of keys they hold.
type UserRow struct {
	User
	Keys int
}

// UserPage is one page of users, by email; Next is empty on the last.
type UserPage struct {
	Rows []UserRow
	Next string
}
