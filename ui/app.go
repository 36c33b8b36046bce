package ui

import (
	"time"

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
	// can still change them), e.g. from `pvinject --answers FILE`.
	Answers *wizard.Answers
}

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
	if cfg.Answers != nil {
		if err := u.wiz.Prefill(*cfg.Answers); err != nil {
			return err
		}
	}
	if cfg.Image != "" {
		u.OpenImage(cfg.Image)
	}
	u.win.ShowAndRun()
	return nil
}

// NewWindow creates the wizard window in a without showing it.
func NewWindow(a fyne.App, eng wizard.Engine) *UI {
	win := a.NewWindow(Title)
	u := newUI(win, wizard.New(eng), newPicker(win, fyne.Do), fyne.Do)
	win.SetContent(u.Content())
	win.Resize(fyne.NewSize(1000, 760))
	win.SetOnDropped(u.onDropped)
	u.bindKeys(win.Canvas())
	win.SetCloseIntercept(func() {
		if u.wiz.State().Apply.Phase != wizard.ApplyRunning {
			u.close()
			win.Close()
			return
		}
		dialog.ShowConfirm("Cancel and quit?", "pvinject is writing the image. Cancel safely (the image is left as it was) and quit?", func(ok bool) {
			if !ok {
				return
			}
			go func() {
				// Apply returns once the engine has brought the image to a
				// consistent point; say which before the window goes.
				msg := u.wiz.Stop(2 * time.Minute)
				u.close()
				u.jobs.Wait()
				fyne.Do(func() {
					d := dialog.NewInformation("pvinject stopped", msg, win)
					d.SetOnClosed(win.Close)
					d.Show()
				})
			}()
		}, win)
	})
	return u
}

// Window is the UI's window.
func (u *UI) Window() fyne.Window { return u.win }
