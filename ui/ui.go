package ui

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// Title is the window title; the smoke test looks for windows whose title
// begins with "pvinject".
const Title = "pvinject — Windows PV driver injection"

// screen is one wizard step: its widgets and a redraw from state.
type screen interface {
	object() fyne.CanvasObject
	update(st wizard.State)
}

// UI is the wizard window's content and the glue to the wizard.
type UI struct {
	win    fyne.Window
	wiz    *wizard.Wizard
	picker Picker
	log    *slog.Logger
	about  About

	ctx    context.Context
	cancel context.CancelFunc
	do     func(func()) // runs a function on Fyne's goroutine
	jobs   sync.WaitGroup

	closing     chan struct{} // closed when the window is being closed (quit.go)
	closingOnce sync.Once

	pending  atomic.Bool // a redraw is scheduled
	updating bool        // widgets are being set from state; ignore their callbacks

	header *header
	body   *fyne.Container
	scroll *container.Scroll
	reason *widget.Label
	footer *fyne.Container
	// lastNext is the Next state last written to the debug log.
	lastNext string
	back     *button
	next     *button
	screens  [wizard.NumSteps + 1]screen
	shown    wizard.Step
	root     fyne.CanvasObject
}

// newUI builds the content for win; do is fyne.Do except in tests.
func newUI(win fyne.Window, wiz *wizard.Wizard, picker Picker, do func(func())) *UI {
	ctx, cancel := context.WithCancel(context.Background())
	u := &UI{win: win, wiz: wiz, picker: picker, do: do, ctx: ctx, cancel: cancel, log: slog.Default(),
		closing: make(chan struct{})}
	u.header = newHeader()
	u.reason = widget.NewLabel("")
	u.reason.Wrapping = fyne.TextWrapWord
	u.reason.Importance = widget.WarningImportance
	u.back = newButton("Back", theme.NavigateBackIcon(), u.goBack)
	u.next = newButton("Next", theme.NavigateNextIcon(), u.goNext)
	u.next.Importance = widget.HighImportance
	u.next.IconPlacement = widget.ButtonIconTrailingText

	u.screens[wizard.StepImage] = newImageScreen(u)
	u.screens[wizard.StepGuest] = newGuestScreen(u)
	u.screens[wizard.StepCompat] = newCompatScreen(u)
	u.screens[wizard.StepDrivers] = newDriversScreen(u)
	u.screens[wizard.StepOptions] = newOptionsScreen(u)
	u.screens[wizard.StepApply] = newApplyScreen(u)

	u.body = container.NewStack()
	u.scroll = container.NewVScroll(container.NewPadded(u.body))
	u.footer = container.NewVBox(u.reason, keysHint())
	footer := container.NewBorder(nil, nil, nil, container.NewCenter(container.NewHBox(u.back, u.next)), u.footer)
	// Header and footer are opaque and drawn after the scroll, so content
	// scrolled under them never shows through.
	u.root = container.NewBorder(opaque(u.header.object()),
		opaque(container.NewVBox(widget.NewSeparator(), container.NewPadded(footer))), nil, nil, u.scroll)

	wiz.OnChange(u.scheduleRefresh)
	u.refresh()
	u.do(u.warm)
	return u
}

// warm creates the renderers of the screens not shown yet, after the first
// window is up, so that moving to a step later costs only its update.
func (u *UI) warm() {
	for s := wizard.StepImage; s <= wizard.StepApply; s++ {
		if s != u.shown {
			_ = u.screens[s].object().MinSize()
		}
	}
}

// Content is the window content.
func (u *UI) Content() fyne.CanvasObject { return u.root }

// scheduleRefresh coalesces the wizard's change notifications, which may come
// from any goroutine and in bursts (apply progress), into one redraw.
func (u *UI) scheduleRefresh() {
	if u.pending.Swap(true) {
		return
	}
	u.do(func() {
		u.pending.Store(false)
		u.refresh()
	})
}

// refresh redraws the chrome and the current screen from the wizard's state.
func (u *UI) refresh() {
	st := u.wiz.State()
	u.updating = true
	defer func() { u.updating = false }()

	u.header.update(st)
	entered := st.Step != u.shown
	if entered {
		u.shown = st.Step
		u.body.Objects = []fyne.CanvasObject{u.screens[st.Step].object()}
		u.body.Refresh()
		u.scroll.ScrollToTop()
		slog.Debug("ui: step", "n", int(st.Step), "name", st.Step.String())
	}
	u.screens[st.Step].update(st)
	// Showing or hiding a widget does not lay out its parent again; one
	// refresh of the screen does, for every change update made.
	u.body.Refresh()

	setEnabled(u.back, st.CanBack)
	u.next.Hidden = st.Step == wizard.StepApply
	setEnabled(u.next, st.CanNext)
	switch {
	case st.Step == wizard.StepApply:
		u.reason.SetText("")
	case st.Busy != "":
		u.reason.SetText(st.Busy)
	case !st.CanNext:
		u.reason.SetText(st.NextReason)
	default:
		u.reason.SetText("")
	}
	if next := fmt.Sprintf("step=%d enabled=%v reason=%q", st.Step, st.CanNext, u.reason.Text); next != u.lastNext {
		u.lastNext = next
		slog.Debug("ui: next", "state", next)
	}
	if f, ok := u.screens[st.Step].(interface{ focusFirst(wizard.State) }); ok && entered {
		f.focusFirst(st)
	}
	if u.reason.Visible() != (u.reason.Text != "") {
		showIf(u.reason, u.reason.Text != "")
		u.root.Refresh() // the footer's height changed
	}
	u.next.Refresh()
}

func setEnabled(w fyne.Disableable, on bool) {
	if on && w.Disabled() {
		w.Enable()
	} else if !on && !w.Disabled() {
		w.Disable()
	}
}

// run does fn off Fyne's goroutine; results reach the screen through the
// wizard's change listener. Errors the wizard keeps in its state are shown
// there, so they are only logged here.
func (u *UI) run(what string, fn func(ctx context.Context) error) {
	u.jobs.Add(1)
	go func() {
		defer u.jobs.Done()
		if err := fn(u.ctx); err != nil && !errors.Is(err, wizard.ErrStale) {
			u.log.Info("ui: "+what, "err", err)
		}
	}()
}

func (u *UI) goNext() {
	if err := u.wiz.Next(); err != nil {
		return
	}
	u.run("load step", u.wiz.Load)
}

func (u *UI) goBack() { _ = u.wiz.Back() }

// OpenImage starts opening path, as if the user chose it on step 1; the
// Image screen shows progress and result.
func (u *UI) OpenImage(path string) { u.openImage(path) }

// openImage starts opening path; the Image screen shows progress and result.
func (u *UI) openImage(path string) {
	u.run("open image", func(ctx context.Context) error { return u.wiz.OpenImage(ctx, path) })
}

// bindKeys sets the window-wide keys: Enter is Next, Escape is Back, and
// Alt+Right / Alt+Left do the same from anywhere (even inside an entry).
// Tab and Shift+Tab move focus, as Fyne does by default.
func (u *UI) bindKeys(c fyne.Canvas) {
	c.SetOnTypedKey(func(ev *fyne.KeyEvent) {
		switch ev.Name {
		case fyne.KeyReturn, fyne.KeyEnter:
			u.defaultAction()
		case fyne.KeyEscape:
			if !u.back.Disabled() {
				u.goBack()
			}
		}
	})
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyRight, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) {
		if !u.next.Hidden && !u.next.Disabled() {
			u.goNext()
		}
	})
	c.AddShortcut(&desktop.CustomShortcut{KeyName: fyne.KeyLeft, Modifier: fyne.KeyModifierAlt}, func(fyne.Shortcut) {
		if !u.back.Disabled() {
			u.goBack()
		}
	})
}

// defaultAction is what Enter does where nothing (or a tick box) has the
// focus: Next. It never presses Apply, which writes: that takes Tab to the
// Apply button and Enter or Space there.
func (u *UI) defaultAction() {
	if !u.next.Hidden && !u.next.Disabled() {
		u.goNext()
	}
}

// onDropped opens a dropped image on step 1 and takes a dropped driver
// folder or ISO on step 4.
func (u *UI) onDropped(_ fyne.Position, uris []fyne.URI) {
	if len(uris) == 0 || uris[0].Scheme() != "file" {
		return
	}
	path := uris[0].Path()
	switch u.wiz.Step() {
	case wizard.StepImage:
		u.openImage(path)
	case wizard.StepDrivers:
		if d, ok := u.screens[wizard.StepDrivers].(*driversScreen); ok {
			d.setPath(path)
		}
	default:
		u.showInfo("Drop ignored", "Go back to step 1 to open another image, or to step 4 to choose drivers.")
	}
}

// close stops background work; engine calls see their context cancelled.
func (u *UI) close() {
	u.wiz.CancelApply()
	u.cancel()
}

// Wizard is the wizard the window shows.
func (u *UI) Wizard() *wizard.Wizard { return u.wiz }

// Apply does what the Apply button does; the smoke program uses it.
func (u *UI) Apply() { u.run("apply", u.wiz.Apply) }
