package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// phoneWidth is a small phone's screen in CSS pixels (an iPhone SE or 13
// mini).
const phoneWidth = 375

// TestPhoneLayout walks every page at phone size and wants none of them
// to scroll sideways: the page is no wider than the screen, and every
// table either becomes rows that fit, each cell labelled, or scrolls
// inside its own box.
func TestPhoneLayout(t *testing.T) {
	ctx := newTab(t, tabTimeout)
	run(t, ctx, "become a phone", phoneScreen(), nextFrames())
	walkPages(t, ctx, func(page string) {
		run(t, ctx, page+": let the layout settle", nextFrames())
		l, err := read(ctx, chromedp.Evaluate[phoneLayout](phoneLayoutJS))
		if err != nil {
			t.Fatalf("%s: measure the layout: %v", page, err)
		}
		if l.Viewport != phoneWidth {
			t.Fatalf("%s: the viewport is %dpx wide, want %d (is the phone emulated?)", page, l.Viewport, phoneWidth)
		}
		if l.ScrollWidth > phoneWidth {
			t.Errorf("%s: the page is %dpx wide on a %dpx screen and scrolls sideways; furthest out: %v",
				page, l.ScrollWidth, phoneWidth, l.Culprits)
		}
		for _, tbl := range l.Tables {
			switch {
			case tbl.Fits && len(tbl.Unlabelled) > 0:
				t.Errorf("%s: %s fits as rows, but these cells show no label (no header row, no data-label): %v",
					page, tbl.Name, tbl.Unlabelled)
			case !tbl.Fits && !tbl.ScrollsInBox:
				t.Errorf("%s: %s is %.0fpx wide on a %dpx screen and does not scroll inside a box of its own",
					page, tbl.Name, tbl.Width, phoneWidth)
			case !tbl.Fits:
				t.Logf("%s: %s scrolls inside its own box", page, tbl.Name)
			}
		}
		if len(l.Clipped) > 0 {
			t.Logf("%s: content cut off, to scroll sideways inside its box: %v", page, l.Clipped)
		}
	})
}

// phoneScreen emulates a phone: 375 CSS pixels wide, at twice the density,
// honouring the page's viewport meta.
func phoneScreen() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: phoneWidth, Height: 812, DeviceScaleFactor: 2, Mobile: true,
		})
		if err != nil {
			return fmt.Errorf("emulate a phone: %w", err)
		}
		return nil
	})
}

// phoneLayout is what phoneLayoutJS measures.
type phoneLayout struct {
	Viewport    int          `json:"viewport"`
	ScrollWidth int          `json:"scrollWidth"`
	Culprits    []string     `json:"culprits"`
	Clipped     []string     `json:"clipped"`
	Tables      []phoneTable `json:"tables"`
}

type phoneTable struct {
	Name         string   `json:"name"`
	Width        float64  `json:"width"`
	Fits         bool     `json:"fits"`
	ScrollsInBox bool     `json:"scrollsInBox"`
	Unlabelled   []string `json:"unlabelled"`
}

// phoneLayoutJS measures the page: the viewport and the page's width, the
// elements sticking out furthest past the right edge, the boxes whose
// content is cut off, and for each table shown whether it fits, or else
// scrolls inside a box that fits, and which of its cells show no label
// when its header row is hidden (a table turned into rows).
const phoneLayoutJS = `(() => {
	const vw = document.documentElement.clientWidth;
	const shown = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
	const describe = el => el.tagName.toLowerCase() +
		(el.id ? "#" + el.id : "") +
		(typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
	const fits = r => r.left >= -0.5 && r.right <= vw + 0.5;
	const all = [...document.querySelectorAll("body *")].filter(shown);
	const culprits = all.map(el => ({el, right: el.getBoundingClientRect().right}))
		.filter(x => x.right > vw + 0.5)
		.sort((a, b) => b.right - a.right)
		.slice(0, 5)
		.map(x => describe(x.el) + " (right edge " + Math.round(x.right) + "px)");
	const clipped = all
		.filter(el => !el.matches("input, textarea, select") && el.scrollWidth > el.clientWidth + 1 &&
			["auto", "scroll", "hidden"].includes(getComputedStyle(el).overflowX) &&
			!getComputedStyle(el).textOverflow.includes("ellipsis") && !el.closest(".visually-hidden"))
		.map(el => describe(el) + " (" + el.clientWidth + "px showing " + el.scrollWidth + "px)");
	const tables = [...document.querySelectorAll("table")].filter(shown).map(t => {
		const r = t.getBoundingClientRect();
		let box = t.parentElement;
		while (box && box !== document.body && !["auto", "scroll"].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
		const scrollsInBox = !!box && box !== document.body && fits(box.getBoundingClientRect());
		const head = t.tHead && shown(t.tHead);
		const unlabelled = head ? [] : [...t.querySelectorAll("tbody td, tbody th")]
			.filter(c => shown(c) && c.textContent.trim() !== "" && !c.hasAttribute("colspan") &&
				!c.matches("[scope=row]") && ["none", "normal", '""'].includes(getComputedStyle(c, "::before").content))
			.map(c => describe(c) + " " + JSON.stringify(c.textContent.trim().replace(/\s+/g, " ").slice(0, 40)));
		return {name: describe(t), width: r.width, fits: fits(r), scrollsInBox, unlabelled};
	});
	return {viewport: vw, scrollWidth: document.documentElement.scrollWidth, culprits, clipped, tables};
})()`
