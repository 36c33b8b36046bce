package ui

import (
	"errors"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
)

// errCancelled is what a Picker reports when the user closes the dialog.
var errCancelled = errors.New("cancelled")

// Filter restricts a file dialog to some extensions (without dots).
type Filter struct {
	Desc string
	Exts []string
}

// Picker chooses files and folders. done is called on Fyne's goroutine with
// the path, or errCancelled, or another error.
type Picker interface {
	OpenFile(title string, filters []Filter, done func(string, error))
	OpenFolder(title string, done func(string, error))
	SaveFile(title, name string, done func(string, error))
}

var (
	imageFilter  = Filter{"Disk images", []string{"qcow2", "vhdx", "vhd", "vmdk", "img", "raw", "bin"}}
	isoFilter    = Filter{"ISO images", []string{"iso"}}
	answerFilter = Filter{"Answer files", []string{"json"}}
)

// fynePicker uses Fyne's own dialogs inside the window: always available,
// including where GTK or a native dialog service is missing.
type fynePicker struct{ win fyne.Window }

func (p fynePicker) OpenFile(title string, filters []Filter, done func(string, error)) {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		switch {
		case err != nil:
			done("", err)
		case r == nil:
			done("", errCancelled)
		default:
			path := r.URI().Path()
			_ = r.Close()
			done(path, nil)
		}
	}, p.win)
	var exts []string
	for _, f := range filters {
		for _, e := range f.Exts {
			exts = append(exts, "."+e, "."+strings.ToUpper(e))
		}
	}
	if len(exts) > 0 {
		d.SetFilter(storage.NewExtensionFileFilter(exts))
	}
	d.SetTitleText(title)
	d.Resize(fyne.NewSize(820, 560))
	d.Show()
}

func (p fynePicker) OpenFolder(title string, done func(string, error)) {
	d := dialog.NewFolderOpen(func(u fyne.ListableURI, err error) {
		switch {
		case err != nil:
			done("", err)
		case u == nil:
			done("", errCancelled)
		default:
			done(u.Path(), nil)
		}
	}, p.win)
	d.SetTitleText(title)
	d.Resize(fyne.NewSize(820, 560))
	d.Show()
}

func (p fynePicker) SaveFile(title, name string, done func(string, error)) {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		switch {
		case err != nil:
			done("", err)
		case w == nil:
			done("", errCancelled)
		default:
			path := w.URI().Path()
			_ = w.Close()
			done(path, nil)
		}
	}, p.win)
	d.SetTitleText(title)
	d.SetFileName(filepath.Base(name))
	if dir, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(name))); err == nil && name != "" {
		d.SetLocation(dir)
	}
	d.Resize(fyne.NewSize(820, 560))
	d.Show()
}
