package e2e

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"keydesk/store"
)

// TestTimesInTheViewersZone holds the promise that the exact time on hover
// is shown in the viewer's own time zone, while the page itself is written
// in UTC: a viewer in Tokyo sees the UTC time plus nine hours.
func TestTimesInTheViewersZone(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride,
		emulation.SetTimezoneOverrideParams{TimezoneID: "Asia/Tokyo"}); err != nil {
		t.Fatalf("set the time zone: %v", err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride,
		emulation.SetLocaleOverrideParams{Locale: "en-US"}); err != nil {
		t.Fatalf("set the locale: %v", err)
	}
	base, db := startApp(t)
	acct := Account{Name: "Tomo Tokyo", Email: "tomo@example.com", Password: "tokyo-password-1"}
	u := mustCreateUser(t, db, acct)
	if _, _, err := db.CreateKey(context.Background(), u.ID, store.NewKey{Name: "Tokyo job", Description: "runs in Tokyo"}, store.AuditEvent{}); err != nil {
		t.Fatal(err)
	}

	run(t, ctx, "open the key page", chromedp.Navigate(base+"/settings/api-keys"))
	logIn(t, ctx, acct.Email, acct.Password)
	run(t, ctx, "land back on the keys", chromedp.WaitVisible(`//time[@data-date]`), pageReady())

	isoAttr, err := read(ctx, chromedp.AttributeValue(`//time[@data-date]`, "datetime"))
	if err != nil {
		t.Fatal(err)
	}
	titleAttr, err := read(ctx, chromedp.AttributeValue(`//time[@data-date]`, "title"))
	if err != nil {
		t.Fatal(err)
	}
	iso, title := isoAttr.Value, titleAttr.Value
	created, err := time.Parse(time.RFC3339, iso)
	if err != nil {
		t.Fatalf("datetime %q: %v", iso, err)
	}
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no time zone data here: %v", err)
	}
	local := created.In(tokyo)
	// The whole title is one en-US date and time, e.g. "Nov 29, 2026, 1:36 PM".
	m := regexp.MustCompile(`^[A-Z][a-z]{2} \d{1,2}, \d{4}, (\d{1,2}):(\d{2})[\s\x{202f}]([AP]M)$`).FindStringSubmatch(title)
	if m == nil {
		t.Fatalf("no clock time in the hover title %q", title)
	}
	hour, _ := strconv.Atoi(m[1])
	if m[3] == "PM" && hour != 12 {
		hour += 12
	} else if m[3] == "AM" && hour == 12 {
		hour = 0
	}
	if hour != local.Hour() || m[2] != local.Format("04") {
		t.Errorf("hover title %q shows %02d:%s; in Tokyo the key was created at %s", title, hour, m[2], local.Format("15:04"))
	}
}
