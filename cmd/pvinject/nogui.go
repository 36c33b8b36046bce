//go:build !cgo || nogui

package main

import (
	"context"
	"errors"
)

// errNoGUI: Fyne's drivers need cgo (OpenGL and the platform's windowing
// through C), so a build without cgo, such as the macOS command-line build
// cross-compiled on Linux, or one tagged nogui, has no wizard. See the
// README's macOS section for the command that builds the full app on a Mac.
var errNoGUI = errors.New("this build of pvinject has no wizard, only the headless commands (run pvinject --help); the full app includes the wizard")

// runGUI reports that the wizard is not part of this build.
func runGUI(context.Context, *cliEnv, []string) error { return errNoGUI }
