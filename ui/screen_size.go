package ui

import (
	"log/slog"

	"fyne.io/fyne/v2"
	"github.com/go-gl/glfw/v3.3/glfw"
)

// screenPixels is the primary monitor's size in pixels, or zero when it
// cannot be known. Fyne has no API for it; it runs GLFW, which is
// initialised once the first window exists, and this must run on the main
// thread (RunConfig does, before ShowAndRun, and Fyne's started hook does).
func screenPixels() (size fyne.Size) {
	defer func() {
		if r := recover(); r != nil { // go-gl/glfw panics on GLFW errors
			slog.Debug("ui: no screen size", "err", r)
			size = fyne.Size{}
		}
	}()
	mon := glfw.GetPrimaryMonitor()
	if mon == nil {
		return fyne.Size{}
	}
	mode := mon.GetVideoMode()
	if mode == nil {
		return fyne.Size{}
	}
	return fyne.NewSize(float32(mode.Width), float32(mode.Height))
}
