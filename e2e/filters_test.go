package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestFilterControlsLineUp: at 1280 px the filters of the audit log and of
// the key inventory stand in a row of one height, text, date and select boxes
// alike (their natural heights differ by a few pixels, which put their
// labels out of line).
func TestFilterControlsLineUp(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	run(t, ctx, "at 1280 px", chromedp.EmulateViewport(1280, 800))
	base, db := startApp(t)
	mustCreateUser(t, db, adminAcct)
	signInAs(t, ctx, base, adminAcct)
	for _, page := range []struct{ path, heading string }{
		{"/admin/audit", "Audit log"},
		{"/admin/api-keys", "Key inventory"},
	} {
		run(t, ctx, "open "+page.path,
			chromedp.Navigate(base+page.path), chromedp.WaitVisible(heading(page.heading)), pageReady(), nextFrames())
		boxes, err := read(ctx, chromedp.Evaluate[[]struct {
			Name        string
			Top, Height float64
		}](`[...document.querySelectorAll(".filters input:not([type=checkbox]):not([type=hidden]), .filters select")]
			.map(el => ({name: el.name, top: el.getBoundingClientRect().top, height: el.getBoundingClientRect().height}))`))
		if err != nil {
			t.Fatal(err)
		}
		if len(boxes) < 3 {
			t.Fatalf("%s: %d filter controls found, want the row of them", page.path, len(boxes))
		}
		for _, b := range boxes[1:] {
			if d := b.Height - boxes[0].Height; d > 0.5 || d < -0.5 {
				t.Errorf("%s: %q is %.1f px tall, %q %.1f px; want one height", page.path, b.Name, b.Height, boxes[0].Name, boxes[0].Height)
			}
			if d := b.Top - boxes[0].Top; d > 0.5 || d < -0.5 {
				t.Errorf("%s: %q stands %+.1f px off the line of %q; want them in line", page.path, b.Name, d, boxes[0].Name)
			}
		}
	}
}
