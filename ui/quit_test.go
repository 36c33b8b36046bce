package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// TestQuitMenuAsksWhileWriting: File → Quit is the window's own quit, not
// Fyne's immediate one: while the image is being written it asks first, and
// on "Cancel and quit" stops the write at a consistent point and says so
// before the window goes.
func TestQuitMenuAsksWhileWriting(t *testing.T) {
	h := newHarness(t)
	menu := h.u.mainMenu()
	if menu.Items[0].Label != "File" || len(menu.Items[0].Items) != 1 {
		t.Fatalf("menu %+v", menu.Items)
	}
	quit := menu.Items[0].Items[0]
	if quit.Label != "Quit" || !quit.IsQuit || quit.Action == nil {
		t.Fatalf("Quit item %+v: without an action Fyne quits at once, under a write in progress", quit)
	}
	h.applyHeld()
	quit.Action()
	h.until("the question", func() bool { return overlaySays(h, "pvinject is writing the image") })
	select {
	case <-h.u.closing:
		t.Fatal("the window is closing before the user answered")
	default:
	}
	if st := h.u.wiz.State(); st.Apply.Phase != wizard.ApplyRunning {
		t.Fatalf("asking stopped the write: %+v", st.Apply)
	}
	h.tap(h.button("Cancel and quit"))
	h.until("the stop message", func() bool { return overlaySays(h, "was left as it was before") })
	if st := h.u.wiz.State(); st.Apply.Phase != wizard.ApplyCancelled {
		t.Fatalf("after Cancel and quit: %+v", st.Apply)
	}
}

// overlaySays reports whether the top dialog shows a text containing s.
func overlaySays(h *harness, s string) bool {
	top := h.win.Canvas().Overlays().Top()
	if top == nil {
		return false
	}
	_, ok := find(top, func(l *widget.Label) bool { return strings.Contains(l.Text, s) })
	if !ok {
		_, ok = find(top, func(l *widget.RichText) bool { return strings.Contains(l.String(), s) })
	}
	return ok
}

// TestSignalSettlesThenLeaves: a signal stops the write in progress at a
// consistent point and reports it; if Fyne's loop then does not end within
// the grace, the process leaves by itself; if it does end, nothing forces
// an exit.
func TestSignalSettlesThenLeaves(t *testing.T) {
	defer func(g time.Duration) { quitGrace = g }(quitGrace)
	quitGrace = 200 * time.Millisecond
	for _, loopEnds := range []bool{false, true} {
		h := newHarness(t)
		h.applyHeld()
		var out bytes.Buffer
		exited := make(chan int, 1)
		q := &quitter{u: h.u, out: &out, exit: func(code int) { exited <- code }}
		quit, done := make(chan struct{}), make(chan struct{})
		watched := make(chan struct{})
		go func() { q.watch(quit, done); close(watched) }()
		close(quit)
		h.until("the write stopped", func() bool { return h.u.wiz.State().Apply.Phase == wizard.ApplyCancelled })
		if loopEnds {
			close(done)
		}
		select {
		case <-watched:
		case <-time.After(10 * time.Second):
			t.Fatal("watch never returned")
		}
		if !strings.Contains(out.String(), "pvinject: Stopped: ") || !strings.Contains(out.String(), "was left as it was before") {
			t.Errorf("settle said %q", out.String())
		}
		select {
		case code := <-exited:
			if loopEnds {
				t.Errorf("exit(%d) although Fyne's loop ended", code)
			} else if code != 0 {
				t.Errorf("exit(%d), want 0", code)
			}
		default:
			if !loopEnds {
				t.Error("Fyne stuck quitting, and the process did not leave")
			}
		}
	}
}
