package ui

import (
	"log/slog"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/dialog"

	"github.com/pvinject/pvinject/wizard"
)

// AppID is the application ID, the same as in FyneApp.toml.
const AppID = "io.github.pvinject.pvinject"

// Config is how cmd/pvinject starts the GUI.
type Config struct {
	// Image, when set, is opened at once, as if dropped on the window.
	Image string
	// Answers, when set, pre-fill the Drivers and Options steps (the user
	// can still change them).
	Answers *wizard.Answers
	// About is what Help → About shows: version and debug log.
	About About
	// Quit, when closed, asks the wizard to quit as a signal does: a write
	// in progress is stopped at a consistent point first (RunUntil).
	Quit <-chan struct{}
}

// wantSize is the window size the wizard is laid out for; fitSize shrinks
// it to the screen.
var wantSize = fyne.NewSize(1000, 760)

// Run opens the wizard window over eng and blocks until it is closed. A
// non-empty initialImage is opened at once, as if dropped on the window.
func Run(eng wizard.Engine, initialImage string) {
	_ = RunConfig(eng, Config{Image: initialImage})
}

// RunConfig is Run with more choices; it fails only on invalid Answers,
// before any window opens.
func RunConfig(eng wizard.Engine, cfg Config) error {
	a := app.NewWithID(AppID)
	a.SetIcon(appIcon)
	u := NewWindow(a, eng)
	u.about = cfg.About
	// Fit the screen before showing, at the scale asked for, and again once
	// shown, when Fyne knows the monitor's own scale too.
	screen := screenPixels()
	u.fit(screen, userScale(a))
	a.Lifecycle().SetOnStarted(func() {
		if s := u.win.Canvas().Scale(); s != userScale(a) {
			u.fit(screen, s)
		}
		slog.Debug("ui: window", "size", u.win.Canvas().Size(), "scale", u.win.Canvas().Scale(), "screen", screen)
	})
	if cfg.Answers != nil {
		if err := u.wiz.Prefill(*cfg.Answers); err != nil {
			return err
		}
	}
	if cfg.Image != "" {
		u.OpenImage(cfg.Image)
	}
	u.RunUntil(cfg.Quit)
	return nil
}

// NewWindow creates the wizard window in a without showing it.
func NewWindow(a fyne.App, eng wizard.Engine) *UI {
	a.Settings().SetTheme(newAppTheme())
	win := a.NewWindow(Title)
	u := newUI(win, wizard.New(eng), newPicker(win, fyne.Do), fyne.Do)
	win.SetContent(u.Content())
	win.SetMainMenu(u.mainMenu())
	win.Resize(wantSize)
	win.SetOnDropped(u.onDropped)
	u.bindKeys(win.Canvas())
	win.SetCloseIntercept(u.requestQuit)
	return u
}

// fit sizes the window for a screen of screenPx pixels at scale and
// centres it.
func (u *UI) fit(screenPx fyne.Size, scale float32) {
	u.win.Resize(fitSize(wantSize, u.root.MinSize(), screenPx, scale))
	u.win.CenterOnScreen()
}

// Window is the UI's window.
func (u *UI) Window() fyne.Window { return u.win }

// requestQuit is what closing the window and the Quit menu item do: quit at
// once when nothing is being written, else ask, and on yes stop the write
// at a consistent point and say which before the window goes.
func (u *UI) requestQuit() {
	win := u.win
	if u.wiz.State().Apply.Phase != wizard.ApplyRunning {
		u.close()
		u.markClosing()
		win.Close()
		return
	}
	u.confirm("Cancel and quit?", "pvinject is writing the image. Cancel safely (the image is left as it was) and quit?", "Cancel and quit", func(ok bool) {
		if !ok {
			return
		}
		go func() {
			// Apply returns once the engine has brought the image to a
			// consistent point; say which before the window goes.
			msg := u.stopWork()
			u.do(func() {
				d := dialog.NewInformation("pvinject stopped", msg, win)
				d.SetOnClosed(func() { u.markClosing(); win.Close() })
				d.Show()
			})
		}()
	})
}
