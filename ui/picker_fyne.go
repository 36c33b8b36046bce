//go:build !cgo || nonative || !(linux || windows || darwin)

package ui

import "fyne.io/fyne/v2"

// nativeAvailable is false: this build has only Fyne's dialogs.
const nativeAvailable = false

func newPicker(win fyne.Window, _ func(func())) Picker { return fynePicker{win} }
