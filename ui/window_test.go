package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// TestWindowFitsAt150 walks the six steps and checks that at 150% scale the
// window's smallest size, and the size it opens at, fit a 1920x1080 screen
// (less room for a panel), so Back and Next are on screen: tall content
// scrolls instead of growing the window.
func TestWindowFitsAt150(t *testing.T) {
	const scale = 1.5
	screen := fyne.NewSize(1920, 1080)
	h := newHarness(t)
	h.tap(h.button("Use the demo image"))
	var worst fyne.Size
	for s := wizard.StepImage; s <= wizard.StepApply; s++ {
		if s == wizard.StepDrivers {
			h.picker.folder = "/srv/virtio-win"
			h.tap(h.button("Choose folder…"))
		}
		m := h.u.root.MinSize()
		worst = fyne.NewSize(max(worst.Width, m.Width), max(worst.Height, m.Height))
		if m.Width*scale > screen.Width || m.Height*scale > screen.Height-48 {
			t.Errorf("step %s: smallest window %.0fx%.0f px at 150%%, more than the screen", s, m.Width*scale, m.Height*scale)
		}
		opened := fitSize(wantSize, m, screen, scale)
		if opened.Width*scale > screen.Width || opened.Height*scale > screen.Height-48 {
			t.Errorf("step %s: opens at %.0fx%.0f px at 150%%, more than the screen", s, opened.Width*scale, opened.Height*scale)
		}
		if s < wizard.StepApply {
			h.win.Canvas().Unfocus()
			h.key(fyne.KeyReturn)
		}
	}
	open := fitSize(wantSize, worst, screen, scale)
	t.Logf("at 150%%: smallest window %.0fx%.0f px, opens at %.0fx%.0f px on 1920x1080",
		worst.Width*scale, worst.Height*scale, open.Width*scale, open.Height*scale)
}

func TestFitSize(t *testing.T) {
	want, minSize := fyne.NewSize(1000, 760), fyne.NewSize(600, 400)
	for _, c := range []struct {
		screen fyne.Size
		scale  float32
		out    fyne.Size
	}{
		{fyne.NewSize(1920, 1080), 1, want},
		{fyne.NewSize(1920, 1080), 1.5, fyne.NewSize(1000, 648)},
		{fyne.NewSize(1920, 1080), 2, fyne.NewSize(864, 486)},
		{fyne.NewSize(0, 0), 2, want}, // unknown screen
		{fyne.NewSize(800, 600), 1, fyne.NewSize(720, 540)},
	} {
		got := fitSize(want, minSize, c.screen, c.scale)
		exp := c.out
		exp.Height = max(exp.Height, minSize.Height)
		exp.Width = max(exp.Width, minSize.Width)
		if got != exp {
			t.Errorf("fitSize(%v at %v) = %v, want %v", c.screen, c.scale, got, exp)
		}
	}
}

// TestAboutShowsVersionReadmeAndLog opens Help → About.
func TestAboutShowsVersionReadmeAndLog(t *testing.T) {
	h := newHarness(t)
	log := filepath.Join(t.TempDir(), "debug.log")
	h.u.about = About{Version: "9.8.7", DebugLog: log}
	menu := h.u.mainMenu()
	if len(menu.Items) != 2 || menu.Items[1].Label != "Help" || menu.Items[1].Items[0].Label != "About pvinject" {
		t.Fatalf("menu %+v", menu.Items)
	}
	menu.Items[1].Items[0].Action()
	top := h.win.Canvas().Overlays().Top()
	if top == nil {
		t.Fatal("About did not open")
	}
	label := func(text string) bool {
		_, ok := find(top, func(l *widget.Label) bool { return strings.Contains(l.Text, text) })
		return ok
	}
	if !label("pvinject 9.8.7") || !label(log) {
		t.Error("About lacks the version or the debug log path")
	}
	link, ok := find(top, func(l *widget.Hyperlink) bool { return true })
	if !ok || link.URL.String() != ReadmeURL || !strings.Contains(link.Text, "README") {
		t.Errorf("About's README link: %v", link)
	}
	h.tap(h.button("Close"))
	if h.win.Canvas().Overlays().Top() != nil {
		t.Error("Close left the About box open")
	}
}

// TestDebugLogFile: the debug log is created with its folder and records.
func TestDebugLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache", "pvinject", "debug.log")
	lg, f, err := OpenDebugLog(path)
	if err != nil {
		t.Fatal(err)
	}
	lg.Debug("ui: focus", "button", "Next")
	f.Close()
	b, err := os.ReadFile(path)
	if err != nil || !strings.Contains(string(b), "button=Next") {
		t.Fatalf("debug log %q, %v", b, err)
	}
	def, err := DefaultDebugLog()
	if err != nil || !strings.HasSuffix(def, filepath.Join("pvinject", "debug.log")) {
		t.Fatalf("default debug log %q, %v", def, err)
	}
}

// TestTableShowsWholeText: each column is as wide as its text up to its
// cap, and a row is tall enough for its most wrapped cell, so no text is
// cut ("Why", "Version").
func TestTableShowsWholeText(t *testing.T) {
	newHarness(t) // a test app for text measuring
	why := "Storage driver the guest needs to boot from the virtio disk; installed offline so the first boot finds its system disk"
	d := newDataTable([]string{"Package", "Version", "Why"}, []float32{100, 150, 300}, 400)
	d.setRows([][]string{{"viostor", "100.95.104.26200", why}, {"netkvm", "100.95.104.26200", "Network"}})
	version := fyne.MeasureText("100.95.104.26200", 14, fyne.TextStyle{}).Width
	if d.widths[1] < version {
		t.Errorf("Version column %.0f narrower than its text %.0f", d.widths[1], version)
	}
	if d.widths[2] != 300 {
		t.Errorf("Why column %.0f, want its cap 300", d.widths[2])
	}
	lines := wrappedLines(why, 300)
	if lines < 2 {
		t.Fatalf("a long Why takes %d lines at 300", lines)
	}
	r0, r1 := d.heights[0], d.heights[1]
	if r0 < d.textHeight(lines) || r1 >= r0 {
		t.Errorf("row heights %.0f (long Why, %d lines) and %.0f (short)", r0, lines, r1)
	}
}
