package ui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// formLayout is a two-column name/value grid whose first column is as wide
// as its widest label and whose second takes the rest, so long values wrap
// instead of widening the window (Fyne's form layout sizes both columns
// from their min sizes).
type formLayout struct{}

func newFormLayout() fyne.Layout { return formLayout{} }

func (formLayout) keyWidth(objs []fyne.CanvasObject) float32 {
	var w float32
	for i := 0; i < len(objs); i += 2 {
		w = max(w, objs[i].MinSize().Width)
	}
	return w
}

func (l formLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	kw := l.keyWidth(objs)
	pad := theme.Padding()
	vw := max(size.Width-kw-pad, 0)
	y := float32(0)
	for i := 0; i+1 < len(objs); i += 2 {
		k, v := objs[i], objs[i+1]
		v.Resize(fyne.NewSize(vw, v.MinSize().Height))
		h := max(k.MinSize().Height, v.MinSize().Height)
		k.Move(fyne.NewPos(0, y))
		k.Resize(fyne.NewSize(kw, k.MinSize().Height))
		v.Move(fyne.NewPos(kw+pad, y))
		v.Resize(fyne.NewSize(vw, h))
		y += h
	}
}

func (l formLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	kw := l.keyWidth(objs)
	var h, vw float32
	for i := 0; i+1 < len(objs); i += 2 {
		k, v := objs[i].MinSize(), objs[i+1].MinSize()
		h += max(k.Height, v.Height)
		vw = max(vw, v.Width)
	}
	return fyne.NewSize(kw+theme.Padding()+vw, h)
}
