package ui

import (
	"os"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/wizardtest"
)

// fixedDir keeps paths shown on screen the same from run to run, so golden
// images do not depend on t.TempDir's random names.
const fixedDir = "/tmp/pvinject-uitest"

// queue stands in for fyne.Do: updates from goroutines wait here until the
// test goroutine runs them, so widgets are only touched by one goroutine.
type queue struct {
	mu  sync.Mutex
	fns []func()
}

func (q *queue) do(fn func()) {
	q.mu.Lock()
	q.fns = append(q.fns, fn)
	q.mu.Unlock()
}

// drain runs the queued updates; it reports whether there were any.
func (q *queue) drain() bool {
	q.mu.Lock()
	fns := q.fns
	q.fns = nil
	q.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
	return len(fns) > 0
}

// stubPicker answers file dialogs with preset paths.
type stubPicker struct {
	open, folder, save string
	err                error
	asked              []string
}

func (p *stubPicker) OpenFile(title string, _ []Filter, done func(string, error)) {
	p.asked = append(p.asked, title)
	done(p.open, p.err)
}

func (p *stubPicker) OpenFolder(title string, done func(string, error)) {
	p.asked = append(p.asked, title)
	done(p.folder, p.err)
}

func (p *stubPicker) SaveFile(title, _ string, done func(string, error)) {
	p.asked = append(p.asked, title)
	done(p.save, p.err)
}

type harness struct {
	t      *testing.T
	f      *wizardtest.FakeEngine
	u      *UI
	win    fyne.Window
	q      *queue
	picker *stubPicker
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	if err := os.MkdirAll(fixedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	a := test.NewTempApp(t)
	f := wizardtest.NewFakeEngine()
	f.DemoDir = fixedDir
	win := a.NewWindow(Title)
	t.Cleanup(win.Close)
	h := &harness{t: t, f: f, win: win, q: &queue{}, picker: &stubPicker{}}
	h.u = newUI(win, wizard.New(f), h.picker, h.q.do)
	t.Cleanup(h.u.close)
	win.SetContent(h.u.Content())
	win.Resize(fyne.NewSize(1000, 760))
	h.u.bindKeys(win.Canvas())
	return h
}

// settle waits for background work and runs its updates until quiet.
func (h *harness) settle() {
	h.t.Helper()
	for {
		h.u.jobs.Wait()
		if !h.q.drain() {
			return
		}
	}
}

// until runs updates until cond holds, for work that does not finish on its own.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		if !h.q.drain() {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func (h *harness) tap(b *button) {
	h.t.Helper()
	if b.Disabled() {
		h.t.Fatalf("button %q is disabled", b.Text)
	}
	test.Tap(b)
	h.settle()
}

func (h *harness) key(name fyne.KeyName) {
	h.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: name})
	h.settle()
}

func (h *harness) title() string { return h.u.header.title.Text }

func (h *harness) wantStep(s wizard.Step) {
	h.t.Helper()
	if got := h.u.wiz.Step(); got != s {
		h.t.Fatalf("on step %s, want %s", got, s)
	}
	want := "Step " + string(rune('0'+int(s))) + " of 6: " + s.String()
	if h.title() != want {
		h.t.Fatalf("header %q, want %q", h.title(), want)
	}
}

// find returns the first object under o (in the window or an overlay)
// satisfying match.
func find[T fyne.CanvasObject](o fyne.CanvasObject, match func(T) bool) (T, bool) {
	var zero T
	if w, ok := o.(T); ok && match(w) {
		return w, true
	}
	var kids []fyne.CanvasObject
	switch c := o.(type) {
	case *fyne.Container:
		kids = c.Objects
	case fyne.Widget:
		kids = test.WidgetRenderer(c).Objects()
	}
	for _, k := range kids {
		if r, ok := find(k, match); ok {
			return r, true
		}
	}
	return zero, false
}

// button finds a visible button by its text, in overlays first.
func (h *harness) button(text string) *button {
	h.t.Helper()
	match := func(b *button) bool { return b.Text == text && b.Visible() }
	if top := h.win.Canvas().Overlays().Top(); top != nil {
		if b, ok := find(top, match); ok {
			return b
		}
	}
	b, ok := find(h.win.Canvas().Content(), match)
	if !ok {
		h.t.Fatalf("no visible button %q", text)
	}
	return b
}

// hasText reports whether a visible label under the window shows text.
func (h *harness) hasText(text string) bool {
	_, ok := find(h.win.Canvas().Content(), func(l *widget.Label) bool { return l.Text == text && l.Visible() })
	return ok
}
