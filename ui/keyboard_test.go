package ui

import (
	"image/color"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// tabCycle presses Tab until the focus comes back to where it started and
// returns every control it visited, in order.
func (h *harness) tabCycle() []fyne.Focusable {
	c := h.win.Canvas()
	c.Unfocus()
	var seen []fyne.Focusable
	for i := 0; i < 200; i++ {
		c.FocusNext()
		f := c.Focused()
		if f == nil || (len(seen) > 0 && f == seen[0]) {
			return seen
		}
		seen = append(seen, f)
	}
	h.t.Fatal("Tab never came back to the first control")
	return nil
}

// controls lists the visible, enabled controls a user can act on: buttons,
// tick boxes, entries, selects and radio groups.
func controls(o fyne.CanvasObject, out *[]fyne.CanvasObject) {
	if !o.Visible() {
		return
	}
	if d, ok := o.(fyne.Disableable); ok && d.Disabled() {
		return
	}
	switch o.(type) {
	case *button, *check, *widget.Entry, *widget.Select:
		*out = append(*out, o)
		return
	}
	var kids []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		kids = c.Objects
	case fyne.Widget:
		kids = test.WidgetRenderer(c).Objects()
	}
	for _, k := range kids {
		controls(k, out)
	}
}

// TestTabReachesEveryControl walks the six steps and, on each, checks that
// Tab visits every control on the screen and Back and Next (when they can
// be used), in an order that ends with Back and Next.
func TestTabReachesEveryControl(t *testing.T) {
	h := newHarness(t)
	h.tap(h.button("Use the demo image"))
	for s := wizard.StepImage; s <= wizard.StepApply; s++ {
		h.wantStep(s)
		if s == wizard.StepDrivers {
			h.picker.folder = "/srv/virtio-win"
			h.tap(h.button("Choose folder…"))
		}
		cycle := h.tabCycle()
		in := map[fyne.Focusable]bool{}
		for _, f := range cycle {
			in[f] = true
		}
		var want []fyne.CanvasObject
		controls(h.win.Canvas().Content(), &want)
		if len(want) < 2 {
			t.Fatalf("step %s: found only %d controls", s, len(want))
		}
		for _, w := range want {
			if !in[w.(fyne.Focusable)] {
				t.Errorf("step %s: Tab never reaches %T %s", s, w, describe(w))
			}
		}
		last := cycle[len(cycle)-1]
		switch {
		case s < wizard.StepApply && last != fyne.Focusable(h.u.next):
			t.Errorf("step %s: the last Tab stop is %s, want Next", s, describe(last.(fyne.CanvasObject)))
		case s > wizard.StepImage && s < wizard.StepApply && !in[h.u.back]:
			t.Errorf("step %s: Tab never reaches Back", s)
		}
		t.Logf("step %s: %d Tab stops, %d controls", s, len(cycle), len(want))
		if s < wizard.StepApply {
			h.win.Canvas().Unfocus()
			h.key(fyne.KeyReturn)
		}
	}
}

func describe(o fyne.CanvasObject) string {
	switch w := o.(type) {
	case *button:
		return "button " + w.Text
	case *check:
		return "check " + w.Text
	case *widget.Entry:
		return "entry " + w.Text
	}
	return ""
}

// typeKey sends a key to what has the focus, as the window does.
func (h *harness) typeKey(name fyne.KeyName) {
	if f := h.win.Canvas().Focused(); f != nil {
		f.TypedKey(&fyne.KeyEvent{Name: name})
	} else {
		h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: name})
	}
	h.settle()
}

// TestKeyboardOnlyToApply goes from step 1 to a finished Apply with Tab,
// Enter and Space alone: Enter moves on where nothing has the focus, Space
// presses a focused Next, and Tab then Enter presses Apply.
func TestKeyboardOnlyToApply(t *testing.T) {
	h := newHarness(t)
	h.picker.folder = "/srv/virtio-win"
	// Tab to "Use the demo image" and press it with Enter.
	h.focusButton("Use the demo image")
	h.typeKey(fyne.KeyReturn)
	h.wantStep(wizard.StepImage)
	if h.u.next.Disabled() {
		t.Fatal("Enter on the focused demo button did not open the demo")
	}
	// Space on a focused Next.
	h.focusButton("Next")
	h.typeKey(fyne.KeySpace)
	h.wantStep(wizard.StepGuest)
	h.win.Canvas().Unfocus()
	h.typeKey(fyne.KeyReturn)
	h.wantStep(wizard.StepCompat)
	h.typeKey(fyne.KeyReturn)
	h.wantStep(wizard.StepDrivers)
	h.focusButton("Choose folder…")
	h.typeKey(fyne.KeyReturn)
	// Enter on the focused Next.
	h.focusButton("Next")
	h.typeKey(fyne.KeyReturn)
	h.wantStep(wizard.StepOptions)
	h.win.Canvas().Unfocus()
	h.typeKey(fyne.KeyReturn)
	h.wantStep(wizard.StepApply)
	// Enter alone never applies.
	h.win.Canvas().Unfocus()
	h.typeKey(fyne.KeyReturn)
	if h.u.wiz.State().Apply.Phase != wizard.ApplyIdle {
		t.Fatal("Enter with nothing focused pressed Apply")
	}
	// Escape on a focused button is still Back.
	h.focusButton("Back")
	h.typeKey(fyne.KeyEscape)
	h.wantStep(wizard.StepOptions)
	h.typeKey(fyne.KeyReturn)
	h.wantStep(wizard.StepApply)
	h.focusButton("Apply")
	h.typeKey(fyne.KeyReturn)
	h.until("apply", func() bool { return h.u.wiz.State().Apply.Phase == wizard.ApplyDone })
}

// focusButton presses Tab until the button labelled text has the focus.
func (h *harness) focusButton(text string) {
	h.t.Helper()
	c := h.win.Canvas()
	c.Unfocus()
	for i := 0; i < 100; i++ {
		c.FocusNext()
		if b, ok := c.Focused().(*button); ok && b.Text == text {
			return
		}
	}
	h.t.Fatalf("Tab never reached button %q", text)
}

// TestFocusRingShows checks that a focused button, the blue Next included,
// gets a ring in the text colour around it, and loses it with the focus.
func TestFocusRingShows(t *testing.T) {
	h := newHarness(t)
	h.tap(h.button("Use the demo image"))
	for _, b := range []*button{h.u.next, h.button("Open image…")} {
		r := test.WidgetRenderer(b).(*ringRenderer)
		if r.ring.StrokeColor != color.Transparent {
			t.Fatalf("%s: ring shown without focus", b.Text)
		}
		h.win.Canvas().Focus(b)
		if r.ring.StrokeColor != theme.Color(theme.ColorNameForeground) || r.ring.StrokeWidth < 2 {
			t.Errorf("%s: focused, ring colour %v width %v", b.Text, r.ring.StrokeColor, r.ring.StrokeWidth)
		}
		if r.ring.Position().X >= 0 || r.ring.Size().Width <= b.Size().Width {
			t.Errorf("%s: ring at %v size %v is not outside the button (size %v)", b.Text, r.ring.Position(), r.ring.Size(), b.Size())
		}
		h.win.Canvas().Unfocus()
		if r.ring.StrokeColor != color.Transparent {
			t.Errorf("%s: ring stays after the focus left", b.Text)
		}
	}
}

// TestKeysShownInFooter: the shortcuts are written in the footer.
func TestKeysShownInFooter(t *testing.T) {
	h := newHarness(t)
	for _, k := range []string{"Tab", "Enter", "Space", "Esc", "Alt+←", "Alt+→"} {
		if _, ok := find(h.win.Canvas().Content(), func(l *widget.Label) bool { return strings.Contains(l.Text, k) && l.Visible() }); !ok {
			t.Errorf("no visible text mentions %q", k)
		}
	}
}
