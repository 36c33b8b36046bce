package ui

import (
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// ReadmeURL is the project's README, the user guide About links to.
const ReadmeURL = "https://github.com/pvinject/pvinject/blob/main/README.md"

// keysHint is the footer line that says which keys work, since Fyne has no
// tooltips to hang them on.
func keysHint() *widget.Label {
	l := widget.NewLabel("Keys: Tab / Shift+Tab move · Enter or Space press the ringed control · Enter: Next · Esc: Back · Alt+← / Alt+→")
	// One line that never wraps: a wrapped label in the footer grows it
	// and pushes Back and Next down.
	l.Truncation = fyne.TextTruncateEllipsis
	l.SizeName = theme.SizeNameCaptionText
	return l
}

// confirm asks a yes/no question with this package's buttons, which show
// their focus and take Enter (Fyne's own dialog buttons do neither well).
func (u *UI) confirm(title, msg, yes string, done func(bool)) {
	var d dialog.Dialog
	answer := func(ok bool) func() {
		return func() {
			d.Hide()
			done(ok)
		}
	}
	yb := newButton(yes, nil, answer(true))
	yb.Importance = widget.HighImportance
	nb := newButton("No", nil, answer(false))
	body := container.NewVBox(para(msg), container.NewHBox(nb, yb))
	d = dialog.NewCustomWithoutButtons(title, body, u.win)
	d.Resize(fyne.NewSize(min(520, u.win.Canvas().Size().Width), 0))
	d.Show()
	u.win.Canvas().Focus(nb) // the safe answer has the focus
}

// fitSize is the window size to open with: want, shrunk to 90% of a screen
// of screenPx physical pixels at the given scale, never below minSize, so
// Back and Next are on screen at 150% or 200% scale on a 1080p display.
func fitSize(want, minSize, screenPx fyne.Size, scale float32) fyne.Size {
	if scale <= 0 {
		scale = 1
	}
	if screenPx.Width <= 0 || screenPx.Height <= 0 {
		return want
	}
	maxW, maxH := screenPx.Width*0.9/scale, screenPx.Height*0.9/scale
	return fyne.NewSize(max(min(want.Width, maxW), minSize.Width), max(min(want.Height, maxH), minSize.Height))
}

// userScale is the scale asked for: FYNE_SCALE (which Fyne reads too, but
// its settings do not report before a window shows) or the settings; 1 when
// automatic, the monitor's own scale being known only once the window shows.
func userScale(a fyne.App) float32 {
	if f, err := strconv.ParseFloat(os.Getenv("FYNE_SCALE"), 32); err == nil && f > 0 {
		return float32(f)
	}
	if s := a.Settings().Scale(); s > 0 {
		return s
	}
	return 1
}

// About describes the program for Help → About.
type About struct {
	Version  string
	DebugLog string // "" when no debug log is written
}

func (u *UI) showAbout() {
	readme, _ := url.Parse(ReadmeURL)
	logText := "No debug log is being written."
	if u.about.DebugLog != "" {
		logText = u.about.DebugLog
	}
	logPath := widget.NewLabel(logText)
	logPath.Wrapping = fyne.TextWrapBreak
	var copyLog fyne.CanvasObject = widget.NewLabel("")
	if u.about.DebugLog != "" {
		copyLog = newButton("Copy the path", nil, func() {
			fyne.CurrentApp().Clipboard().SetContent(u.about.DebugLog)
		})
	}
	version := u.about.Version
	if version == "" {
		version = "development build"
	}
	body := container.NewVBox(
		para("pvinject "+version),
		para("Prepares a Windows virtual machine's disk image for a new hypervisor by adding its paravirtual storage and network drivers, without starting the VM."),
		widget.NewHyperlink("User guide (README)", readme),
		widget.NewLabelWithStyle("Debug log", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		logPath,
		container.NewHBox(copyLog),
		dim("Attach the debug log when you report a problem; it has the technical details the wizard leaves out."),
	)
	var d dialog.Dialog
	closeB := newButton("Close", nil, func() { d.Hide() })
	d = dialog.NewCustomWithoutButtons("About pvinject", container.NewVBox(body, container.NewHBox(closeB)), u.win)
	d.Resize(fyne.NewSize(min(560, u.win.Canvas().Size().Width), 0))
	d.Show()
	u.win.Canvas().Focus(closeB)
}

// mainMenu is the window's menu bar: Help → About.
func (u *UI) mainMenu() *fyne.MainMenu {
	// Fyne adds a Quit item that quits at once when the menu has none; this
	// one asks first while the image is being written, as closing does.
	quit := fyne.NewMenuItem("Quit", u.requestQuit)
	quit.IsQuit = true
	return fyne.NewMainMenu(
		fyne.NewMenu("File", quit),
		fyne.NewMenu("Help", fyne.NewMenuItem("About pvinject", u.showAbout)))
}

// DefaultDebugLog is where the wizard writes its debug log: pvinject's
// folder in the user's cache directory.
func DefaultDebugLog() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("debug log: %w", err)
	}
	return filepath.Join(dir, "pvinject", "debug.log"), nil
}

// OpenDebugLog opens path (created with its folder, truncated when it has
// grown past 8 MiB) and returns a debug-level logger writing to it.
func OpenDebugLog(path string) (*slog.Logger, *os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, fmt.Errorf("debug log: %w", err)
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if fi, err := os.Stat(path); err == nil && fi.Size() > 8<<20 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("debug log: %w", err)
	}
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), f, nil
}
