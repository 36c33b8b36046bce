//go:build cgo && !nonative && (linux || windows || darwin)

package ui

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"fyne.io/fyne/v2"
	"github.com/sqweek/dialog"
)

// nativeAvailable is true in builds that link the native dialogs; the
// nonative build tag (or no cgo) leaves only Fyne's dialogs.
const nativeAvailable = true

// nativePicker shows the platform's file dialog (GTK on Linux) through
// sqweek/dialog, and falls back to Fyne's dialog for good once the native
// one fails, e.g. without GTK or a display, or when GTK panics.
type nativePicker struct {
	fallback fynePicker
	do       func(func())
	mu       sync.Mutex
	broken   bool
}

func newPicker(win fyne.Window, do func(func())) Picker {
	return &nativePicker{fallback: fynePicker{win}, do: do}
}

func (p *nativePicker) isBroken() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broken
}

// show runs the blocking native dialog off Fyne's goroutine; a failure other
// than cancel switches to Fyne's dialog, now and for later calls.
func (p *nativePicker) show(native func() (string, error), fallback func(done func(string, error)), done func(string, error)) {
	if p.isBroken() {
		fallback(done)
		return
	}
	go func() {
		path, err := callNative(native)
		p.do(func() {
			switch {
			case err == nil:
				done(path, nil)
			case errors.Is(err, dialog.ErrCancelled):
				done("", errCancelled)
			default:
				slog.Info("ui: native file dialog failed, using Fyne's", "err", err)
				p.mu.Lock()
				p.broken = true
				p.mu.Unlock()
				fallback(done)
			}
		})
	}()
}

// callNative turns a panic in the native dialog (sqweek panics when GTK did
// not initialise) into an error.
func callNative(fn func() (string, error)) (path string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("native file dialog: %v", r)
		}
	}()
	return fn()
}

func (p *nativePicker) OpenFile(title string, filters []Filter, done func(string, error)) {
	p.show(func() (string, error) {
		b := dialog.File().Title(title)
		for _, f := range filters {
			b = b.Filter(f.Desc, f.Exts...)
		}
		return b.Filter("All files", "*").Load()
	}, func(d func(string, error)) { p.fallback.OpenFile(title, filters, d) }, done)
}

func (p *nativePicker) OpenFolder(title string, done func(string, error)) {
	p.show(func() (string, error) { return dialog.Directory().Title(title).Browse() },
		func(d func(string, error)) { p.fallback.OpenFolder(title, d) }, done)
}

func (p *nativePicker) SaveFile(title, name string, done func(string, error)) {
	p.show(func() (string, error) { return dialog.File().Title(title).SetStartFile(name).Save() },
		func(d func(string, error)) { p.fallback.SaveFile(title, name, d) }, done)
}
