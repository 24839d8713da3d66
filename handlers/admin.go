package handlers

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"keydesk/store"
	"keydesk/views"
)

// maxBulk caps one bulk action: the selection comes from one page.
const maxBulk = store.InventoryPageSize

// inventoryFilter reads the inventory's filters from the query string.
// Unknown values fall back to the defaults, so an edited URL still shows a
// page rather than an error; a scope must be one of the policy's.
func (s *server) inventoryFilter(c echo.Context) (store.InventoryFilter, views.InventoryFilterView) {
	pick := func(v string, allowed ...string) string {
		for _, a := range allowed {
			if v == a {
				return v
			}
		}
		return allowed[0]
	}
	v := views.InventoryFilterView{
		Query:  strings.TrimSpace(c.QueryParam("q")),
		Status: pick(c.QueryParam("status"), "", store.StatusEnabled, store.StatusDisabled),
		Risk:   pick(c.QueryParam("risk"), "", store.RiskNeverUsed, store.RiskStale, store.RiskOwnerDisabled),
		Sort:   pick(c.QueryParam("sort"), store.SortCreated, store.SortName, store.SortLastUsed),
		Expiry: pick(c.QueryParam("expiry"), "", store.ExpirySoon, store.ExpiryExpired, store.ExpiryNever),
	}
	if scope, ok := s.cfg.Policy.Scope(c.QueryParam("scope")); ok {
		v.Scope = scope.Name
	}
	first := defaultDir(v.Sort)
	v.Dir = pick(c.QueryParam("dir"), first, map[string]string{"asc": "desc", "desc": "asc"}[first])
	return store.InventoryFilter{Query: v.Query, Status: v.Status, Risk: v.Risk, Expiry: v.Expiry, Scope: v.Scope,
		Sort: v.Sort, Asc: v.Dir == "asc", After: c.QueryParam("after"), Before: c.QueryParam("before")}, v
}

// defaultDir is the direction a column sorts in first: names A to Z,
// times newest first.
func defaultDir(sort string) string {
	if sort == store.SortName {
		return "asc"
	}
	return "desc"
}

// sortHeader is the header of the column that sorts by sort: a link to the
// first page sorted by it, the other way round when the list is sorted by
// it already, and how it sorts now.
func sortHeader(params filterParams, v views.InventoryFilterView, sort string) views.SortHeader {
	words := map[string]string{"asc": "ascending", "desc": "descending"}
	dir, h := defaultDir(sort), views.SortHeader{}
	if v.Sort == sort {
		h.Sort = words[v.Dir]
		dir = map[string]string{"asc": "desc", "desc": "asc"}[v.Dir]
	}
	h.URL = "/admin/api-keys" + params.encode("sort", sort, "dir", dir)
	h.Then = words[dir]
	return h
}

// inventoryCount says how many keys match: exactly, or "10,000+".
func inventoryCount(page store.InventoryPage) string {
	if page.TotalCapped {
		return views.Thousands(page.Total) + "+ keys"
	}
	return fmt.Sprintf("%s %s", views.Thousands(page.Total), plural(page.Total, "key", "keys"))
}

// encode is the parameters as a query string, with empty ones left out and
// extra name, value pairs added.
func (v filterParams) encode(extra ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(v); i += 2 {
		if v[i+1] != "" {
			q.Set(v[i], v[i+1])
		}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// filterParams is a flat list of URL parameter names and values.
type filterParams []string

// pagerURLs are the links of a keyset-paged list: to its first page when
// this is not it, and to the next page when there is one; "" otherwise.
func pagerURLs(path string, params filterParams, after, next string) (first, nextURL string) {
	if after != "" {
		first = path + params.encode()
	}
	if next != "" {
		nextURL = path + params.encode("after", next)
	}
	return first, nextURL
}

func inventoryParams(v views.InventoryFilterView) filterParams {
	return filterParams{"q", v.Query, "status", v.Status, "risk", v.Risk, "expiry", v.Expiry, "scope", v.Scope,
		"sort", v.Sort, "dir", v.Dir}
}

// adminKeysPage is the key inventory.
func (s *server) adminKeysPage(c echo.Context) error {
	f, fv := s.inventoryFilter(c)
	f.Count, f.Listing = store.CountCap, true
	page, err := s.db.KeyInventory(c.Request().Context(), f)
	if err != nil {
		return err
	}
	if len(page.Rows) == 0 && (f.After != "" || f.Before != "") {
		// Paged past what is left (keys went since the link was made):
		// the first page, rather than an empty one with no way back.
		return c.Redirect(http.StatusSeeOther, "/admin/api-keys"+inventoryParams(fv).encode())
	}
	flash, err := s.popFlash(c)
	if err != nil {
		return err
	}
	params := inventoryParams(fv)
	v := views.AdminKeysView{
		Page:      s.page(c, "Key inventory"),
		Filter:    fv,
		ExportURL: "/admin/api-keys/export" + params.encode(),
		ReturnTo:  c.Request().URL.RequestURI(),
		Scopes:    s.scopeOptions(),
	}
	v.Flash = flash
	if page.Prev != "" {
		v.PrevURL = "/admin/api-keys" + params.encode("before", page.Prev)
	}
	if page.Next != "" {
		v.NextURL = "/admin/api-keys" + params.encode("after", page.Next)
	}
	v.Count = inventoryCount(page)
	v.SortName = sortHeader(params, fv, store.SortName)
	v.SortLastUsed = sortHeader(params, fv, store.SortLastUsed)
	v.SortCreated = sortHeader(params, fv, store.SortCreated)
	now := s.db.Now()
	v.Rows = make([]views.InventoryRowView, 0, len(page.Rows))
	for _, r := range page.Rows {
		reuseKeyTimes(c, now, &r.Key)
		v.Rows = append(v.Rows, inventoryRowView(r, now))
	}
	return render(c, http.StatusOK, views.AdminKeysPage(v))
}

func inventoryRowView(r store.InventoryRow, now time.Time) views.InventoryRowView {
	row := views.InventoryRowView{
		ID: r.Key.PublicID, Name: r.Key.Name, Masked: r.Key.Masked(), Enabled: r.Key.Enabled,
		DisabledByAdmin: r.Key.DisabledByAdmin, Status: keyStatusView(store.EffectiveState(&r.Key, r.OwnerDisabled, now)),
		OwnerName: r.OwnerName, OwnerEmail: r.OwnerEmail, OwnerDisabled: r.OwnerDisabled,
		Created:   views.NewTime(r.Key.CreatedAt, now),
		Expires:   views.NewExpiry(r.Key.ExpiresAt, now, store.ExpiresSoon),
		Scopes:    r.Key.Scopes,
		AllScopes: r.Key.AllScopes(),
	}
	if !r.Key.LastUsedAt.IsZero() {
		t := views.NewTime(r.Key.LastUsedAt, now)
		row.LastUsed = &t
	}
	return row
}

// adminSetKeyStatus enables or disables any user's key.
func (s *server) adminSetKeyStatus(c echo.Context) error {
	enabled, action, err := keyStatusForm(c)
	if err != nil {
		return err
	}
	k, err := s.db.AdminSetKeyEnabled(c.Request().Context(), c.Param("id"), enabled, s.event(c, currentUser(c), action, ""))
	if errors.Is(err, store.ErrExpired) {
		return s.refuseExpiredEnable(c)
	}
	if err != nil {
		return err
	}
	notice := fmt.Sprintf("Key “%s” %s.", k.Name, map[bool]string{true: "enabled", false: "disabled"}[enabled])
	if !isHTMX(c) {
		return s.redirectWithFlash(c, adminReturn(c, "/admin/api-keys"), notice)
	}
	page, err := s.db.KeyInventory(c.Request().Context(), store.InventoryFilter{IDs: []string{k.PublicID}, Listing: true})
	if err != nil {
		return err
	}
	if len(page.Rows) != 1 {
		return store.ErrNotFound
	}
	announce(c, notice)
	return render(c, http.StatusOK, views.AdminKeyRow(inventoryRowView(page.Rows[0], s.db.Now()), postValue(c, "return")))
}

// adminBulkDisable disables the selected keys after a confirmation page.
func (s *server) adminBulkDisable(c echo.Context) error {
	if err := parseForm(c); err != nil {
		return err
	}
	ids := c.Request().PostForm["id"]
	back := adminReturn(c, "/admin/api-keys")
	if len(ids) == 0 {
		return s.redirectWithFlash(c, back, "Select the keys to disable first.")
	}
	if len(ids) > maxBulk {
		return echo.NewHTTPError(http.StatusBadRequest, "too many keys selected")
	}
	if postValue(c, "confirm") != "yes" {
		page, err := s.db.KeyInventory(c.Request().Context(), store.InventoryFilter{IDs: ids, Limit: maxBulk, Listing: true})
		if err != nil {
			return err
		}
		v := views.BulkDisableView{Page: s.page(c, "Disable keys"), ReturnTo: back}
		now := s.db.Now()
		for _, r := range page.Rows {
			v.Rows = append(v.Rows, inventoryRowView(r, now))
		}
		if len(v.Rows) == 0 {
			return echo.ErrNotFound
		}
		return render(c, http.StatusOK, views.BulkDisablePage(v))
	}
	n, err := s.db.AdminDisableKeys(c.Request().Context(), ids, s.event(c, currentUser(c), store.ActionKeyDisabled, ""))
	if err != nil {
		return err
	}
	return s.redirectWithFlash(c, back, fmt.Sprintf("Disabled %d %s.", n, plural(n, "key", "keys")))
}

// adminExport streams the filtered inventory as CSV: metadata only, and
// every cell safe to open in a spreadsheet.
func (s *server) adminExport(c echo.Context) error {
	f, fv := s.inventoryFilter(c)
	f.After, f.Before, f.Limit, f.Listing = "", "", 1000, true
	h := c.Response().Header()
	h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	h.Set(echo.HeaderContentDisposition, `attachment; filename="`+exportFileName(s.db.Now(), fv)+`"`)
	c.Response().WriteHeader(http.StatusOK)
	w := bufio.NewWriter(c.Response())
	w.WriteString(csvRecord(safeCells("owner_name", "owner_email", "owner_disabled", "key_id", "key_name", "masked_key",
		"status", "effective_status", "last_used_at", "created_at", "expires_at", "scopes")))
	now := s.db.Now()
	for {
		page, err := s.db.KeyInventory(c.Request().Context(), f)
		if err != nil {
			// The header is out: the best left is to end the file short and log.
			s.log.Error("export keys", "err", err)
			break
		}
		for _, r := range page.Rows {
			lastUsed := ""
			if !r.Key.LastUsedAt.IsZero() {
				lastUsed = r.Key.LastUsedAt.Format(time.RFC3339)
			}
			w.WriteString(csvRecord(safeCells(r.OwnerName, r.OwnerEmail, fmt.Sprint(r.OwnerDisabled), r.Key.PublicID,
				r.Key.Name, r.Key.Masked(), keyStatus(r.Key.Enabled), string(store.EffectiveState(&r.Key, r.OwnerDisabled, now)), lastUsed, r.Key.CreatedAt.Format(time.RFC3339),
				csvExpiry(r.Key), csvScopes(r.Key))))
		}
		if page.Next == "" {
			break
		}
		f.After = page.Next
	}
	return w.Flush()
}

// csvRecord is one line of CSV with every field quoted and its quotes
// doubled, ended by CRLF (RFC 4180). Quoting every field, not only those
// that hold a comma, keeps each field whole for a spreadsheet that splits
// on another separator (";" in many locales): unquoted, "x;=1+1" would
// there start a cell "=1+1", a formula.
func csvRecord(cells []string) string {
	var b strings.Builder
	for i, cell := range cells {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(cell, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteString("\r\n")
	return b.String()
}

// safeCells defuses spreadsheet formulas as OWASP's CSV-injection guidance
// asks: a cell that begins with = + - @, TAB, CR or LF (or NUL, which ASVS
// adds) is prefixed with an apostrophe, which spreadsheets read as "this
// is text". So is one where such a character follows only field
// separators, quotes or spaces (";=1+1", " =1"): a reader that trims
// them, or splits on them, would otherwise start the cell at the formula.
// Other cells are kept exactly; a negative number becomes the text '-5.
func safeCells(cells ...string) []string {
	for i, c := range cells {
		if formulaLike(c) {
			cells[i] = "'" + c
		}
	}
	return cells
}

// formulaLike reports whether a spreadsheet could read cell as a formula.
func formulaLike(cell string) bool {
	for i := 0; i < len(cell); i++ {
		switch cell[i] {
		case '=', '+', '-', '@', '\t', '\r', '\n', 0:
			return true
		case ',', ';', '"', '\'', ' ':
			// May hide what follows from a check of the first character.
		default:
			return false
		}
	}
	return false
}

// adminReturn is where a plain-post admin action goes back to: the page it
// came from when that is an admin page, or def.
func adminReturn(c echo.Context, def string) string {
	r := localPath(postValue(c, "return"))
	if !strings.HasPrefix(r, "/admin/") {
		return def
	}
	return r
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// adminUsersPage lists and searches accounts.
func (s *server) adminUsersPage(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	page, err := s.db.Users(c.Request().Context(), store.UserFilter{Query: q, After: c.QueryParam("after")})
	if err != nil {
		return err
	}
	flash, err := s.popFlash(c)
	if err != nil {
		return err
	}
	params := filterParams{"q", q}
	v := views.AdminUsersView{Page: s.page(c, "Users"), Query: q, ReturnTo: c.Request().URL.RequestURI()}
	v.Flash = flash
	v.FirstURL, v.NextURL = pagerURLs("/admin/users", params, c.QueryParam("after"), page.Next)
	now := s.db.Now()
	for _, r := range page.Rows {
		v.Rows = append(v.Rows, s.adminUserRow(c, &r.User, r.Keys, now))
	}
	return render(c, http.StatusOK, views.AdminUsersPage(v))
}

func (s *server) adminUserRow(c echo.Context, u *store.User, keys int, now time.Time) views.AdminUserRow {
	return views.AdminUserRow{
		ID: u.PublicID, Name: u.Name, Email: u.Email, KYC: string(u.KYCStatus), KYCLabel: u.KYCStatus.Label(),
		IsAdmin: u.IsAdmin(), Disabled: u.Disabled, IsSelf: u.ID == currentUser(c).ID, Keys: keys,
		Created: views.NewTime(u.CreatedAt, now),
	}
}

// userChange is one change to an account as the Users page asks for it:
// what to ask first (nothing for a change that needs no confirming), and
// the change itself, which returns the sentence that reports it.
type userChange struct {
	confirm *views.UserConfirmView // Question, Effect, Button, Danger, Field, Value
	apply   func() (notice string, err error)
}

// adminUserAction runs one change to an account and answers with its row
// (htmx) or back on the list (plain post). A change that takes effect on
// someone's access (disable, enable, admin role) first answers with a
// confirmation that names the account and the effect, and runs only when
// posted again with confirm=yes. A refusal such as the last-admin rule is
// shown beside the account, and changes nothing.
func (s *server) adminUserAction(c echo.Context, plan func(u *store.User, keys []*store.APIKey) (userChange, error)) error {
	if err := parseForm(c); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := s.db.UserByPublicID(ctx, c.Param("id"))
	if err != nil {
		return err
	}
	keys, err := s.db.KeysForUser(ctx, u.ID)
	if err != nil {
		return err
	}
	ch, err := plan(u, keys)
	notice := ""
	if err == nil {
		if ch.confirm != nil && postValue(c, "confirm") != "yes" {
			return s.askUserChange(c, u, *ch.confirm)
		}
		notice, err = ch.apply()
	}
	refusal := ""
	switch {
	case errors.Is(err, store.ErrLastAdmin):
		refusal = "Keydesk needs at least one active admin: make another admin first."
	case errors.Is(err, errBadValue):
		refusal = "Choose one of the listed values."
	case err != nil:
		return err
	}
	if !isHTMX(c) {
		if refusal != "" {
			notice = refusal
		}
		return s.redirectWithFlash(c, adminReturn(c, "/admin/users"), notice)
	}
	if u, err = s.db.UserByPublicID(ctx, u.PublicID); err != nil {
		return err
	}
	if keys, err = s.db.KeysForUser(ctx, u.ID); err != nil {
		return err
	}
	row := s.adminUserRow(c, u, len(keys), s.db.Now())
	status := http.StatusOK
	if refusal != "" {
		row.Error, status = refusal, http.StatusUnprocessableEntity
	} else {
		announce(c, notice)
	}
	return render(c, status, views.AdminUserRowFragment(row, postValue(c, "return")))
}

// askUserChange answers with the confirmation of a change: in the
// account's row for htmx, as a page for a plain post. Nothing is changed.
func (s *server) askUserChange(c echo.Context, u *store.User, v views.UserConfirmView) error {
	v.ID, v.Action = u.PublicID, "/admin/users/"+u.PublicID+"/"+path.Base(c.Request().URL.Path)
	v.ReturnTo = adminReturn(c, "/admin/users")
	if isHTMX(c) {
		return render(c, http.StatusOK, views.AdminUserConfirmRow(v))
	}
	v.Page = s.page(c, "Confirm: "+v.Button)
	return render(c, http.StatusOK, views.AdminUserConfirmPage(v))
}

var errBadValue = errors.New("bad value")

// who names an account in a question or a notice: its name and email.
func who(u *store.User) string { return u.Name + " (" + u.Email + ")" }

// workingKeys counts the keys of an account that answer now.
func workingKeys(keys []*store.APIKey, now time.Time) int {
	n := 0
	for _, k := range keys {
		if k.Enabled && !k.Expired(now) {
			n++
		}
	}
	return n
}

// KYC status changes nothing anyone can do, and is set back as easily, so
// it is not confirmed; its notice says what it was.
func (s *server) adminSetKYC(c echo.Context) error {
	return s.adminUserAction(c, func(u *store.User, _ []*store.APIKey) (userChange, error) {
		status := store.KYCStatus(postValue(c, "status"))
		switch status {
		case store.KYCVerified, store.KYCPending, store.KYCNotStarted, store.KYCRejected:
		default:
			return userChange{}, errBadValue
		}
		return userChange{apply: func() (string, error) {
			if status == u.KYCStatus {
				return fmt.Sprintf("KYC status of %s is already %s.", who(u), status.Label()), nil
			}
			ev := s.event(c, currentUser(c), store.ActionKYCChanged, "")
			ev.SubjectID, ev.Target, ev.Detail = u.ID, u.Email, "kyc: "+u.KYCStatus.Label()+" → "+status.Label()
			_, err := s.db.UpdateUser(c.Request().Context(), u.ID, store.UserUpdate{KYCStatus: &status}, ev)
			return fmt.Sprintf("KYC status of %s set to %s (was %s).", who(u), status.Label(), u.KYCStatus.Label()), err
		}}, nil
	})
}

func (s *server) adminSetDisabled(c echo.Context) error {
	return s.adminUserAction(c, func(u *store.User, keys []*store.APIKey) (userChange, error) {
		var disabled bool
		switch postValue(c, "disabled") {
		case "true":
			disabled = true
		case "false":
		default:
			return userChange{}, errBadValue
		}
		self := u.ID == currentUser(c).ID
		ask := &views.UserConfirmView{Field: "disabled", Value: strconv.FormatBool(disabled)}
		action, notice := store.ActionUserEnabled, who(u)+" is enabled."
		if disabled {
			action, notice = store.ActionUserDisabled, who(u)+" is disabled: signed out everywhere, and their keys stopped answering."
			ask.Question, ask.Button, ask.Danger = "Disable "+who(u)+"?", "Disable account", true
			ask.Effect = disableEffect(workingKeys(keys, s.db.Now()), self)
		} else {
			ask.Question, ask.Button = "Enable "+who(u)+"?", "Enable account"
			ask.Effect = "They can sign in again, and each of their keys goes back to its own status: a key that was disabled stays disabled."
		}
		return userChange{confirm: ask, apply: func() (string, error) {
			ev := s.event(c, currentUser(c), action, "")
			ev.SubjectID, ev.Target = u.ID, u.Email
			return notice, s.db.SetUserDisabled(c.Request().Context(), u.ID, disabled, ev)
		}}, nil
	})
}

// disableEffect is what disabling an account does, with its working keys
// counted.
func disableEffect(working int, self bool) string {
	they, their, them := "They are", "their", "them"
	if self {
		they, their, them = "You are", "your", "you"
	}
	keys := "cannot sign in"
	switch {
	case working == 1:
		keys = "cannot sign in, and " + their + " 1 working key stops answering,"
	case working > 1:
		keys = fmt.Sprintf("cannot sign in, and all %d of %s working keys stop answering,", working, their)
	}
	who := "you enable " + them + " again"
	if self {
		who = "another admin enables you again"
	}
	return fmt.Sprintf("%s signed out everywhere and %s until %s.", they, keys, who)
}

func (s *server) adminSetRole(c echo.Context) error {
	return s.adminUserAction(c, func(u *store.User, _ []*store.APIKey) (userChange, error) {
		role := store.Role(postValue(c, "role"))
		if role != store.RoleAdmin && role != store.RoleUser {
			return userChange{}, errBadValue
		}
		ask := &views.UserConfirmView{Field: "role", Value: string(role)}
		notice := who(u) + " is now an admin."
		if role == store.RoleAdmin {
			ask.Question, ask.Button = "Make "+who(u)+" an admin?", "Make admin"
			ask.Effect = "They can review every user's keys and the audit log, disable any key or account, " +
				"and grant or revoke admin, yours included."
		} else {
			notice = who(u) + " is no longer an admin."
			ask.Question, ask.Button, ask.Danger = "Revoke admin from "+who(u)+"?", "Revoke admin", true
			ask.Effect = "They lose the Admin pages at once and keep only their own settings and keys."
			if u.ID == currentUser(c).ID {
				ask.Effect = "You lose the Admin pages at once, this one included, and keep only your own settings and keys."
			}
		}
		return userChange{confirm: ask, apply: func() (string, error) {
			ev := s.event(c, currentUser(c), store.ActionRoleChanged, "")
			ev.SubjectID, ev.Target, ev.Detail = u.ID, u.Email, "role: "+string(u.Role)+" → "+string(role)
			return notice, s.db.SetUserRole(c.Request().Context(), u.ID, role, ev)
		}}, nil
	})
}

// auditActions are the actions the audit log can be filtered by.
var auditActions = []string{
	store.ActionLogin, store.ActionLoginFailed, store.ActionLogout, store.ActionSignup, store.ActionUserCreated,
	store.ActionNameChanged, store.ActionPasswordChanged, store.ActionSessionsRevoked, store.ActionSessionRevoked, store.ActionKYCChanged,
	store.ActionUserDisabled, store.ActionUserEnabled, store.ActionRoleChanged,
	store.ActionKeyCreated, store.ActionKeyEnabled, store.ActionKeyDisabled, store.ActionKeyEdited, store.ActionKeyDeleted,
	store.ActionKeyRegenerated, store.ActionKeyOverlapEnd,
}

// auditPage lists audit events, newest first, filtered and paged.
func (s *server) auditPage(c echo.Context) error {
	fv := views.AuditFilterView{
		Actor: strings.TrimSpace(c.QueryParam("actor")), Action: c.QueryParam("action"),
		Key: strings.TrimSpace(c.QueryParam("key")), From: c.QueryParam("from"), Until: c.QueryParam("until"),
	}
	v := views.AuditView{Page: s.page(c, "Audit log"), Filter: fv, Actions: auditActionOptions(), KeyLabel: fv.Key}
	f := store.AuditFilter{Actor: fv.Actor, Action: fv.Action, Key: fv.Key, After: c.QueryParam("after")}
	var err error
	if f.From, err = parseDay(fv.From); err != nil {
		v.Error = "Enter the From date as YYYY-MM-DD."
	}
	if f.Until, err = parseDay(fv.Until); err != nil {
		v.Error = "Enter the Until date as YYYY-MM-DD."
	} else if !f.Until.IsZero() {
		f.Until = f.Until.Add(24 * time.Hour) // the whole day
	}
	if v.Error != "" {
		return render(c, http.StatusUnprocessableEntity, views.AuditPage(v))
	}
	page, err := s.db.AuditLog(c.Request().Context(), f)
	if err != nil {
		return err
	}
	params := filterParams{"actor", fv.Actor, "action", fv.Action, "key", fv.Key, "from", fv.From, "until", fv.Until}
	v.FirstURL, v.NextURL = pagerURLs("/admin/audit", params, f.After, page.Next)
	v.Events = auditRows(page.Events, s.db.Now())
	if fv.Key != "" {
		v.KeyLabel = historyLabel(fv.Key, page.Events)
	}
	return render(c, http.StatusOK, views.AuditPage(v))
}

// parseDay reads a YYYY-MM-DD date as midnight UTC; "" is the zero time.
func parseDay(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.DateOnly, s)
}
