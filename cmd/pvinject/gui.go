//go:build cgo && !nogui

package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pvinject/pvinject/ui"
	"github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/engine"
)

// runGUI opens the wizard: on IMAGE when given, on the demo with --demo.
func runGUI(ctx context.Context, env *cliEnv, args []string) error {
	if err := displayAvailable(); err != nil {
		return err
	}
	// ctx ends on SIGTERM or SIGINT (main): the wizard then stops a write in
	// progress at a consistent point before it quits.
	cfg := ui.Config{About: ui.About{Version: Version, DebugLog: os.Getenv("PVINJECT_DEBUG_LOG")}, Quit: ctx.Done()}
	if cfg.About.DebugLog == "" {
		// The wizard always keeps a debug log (Help → About says where): the
		// raw errors it does not show go there.
		if path, err := ui.DefaultDebugLog(); err == nil {
			if lg, f, err := ui.OpenDebugLog(path); err == nil {
				defer f.Close()
				env.log, cfg.About.DebugLog = lg, path
				slog.SetDefault(lg)
			}
		}
	}
	eng := engine.New(env.log)
	switch {
	case len(args) == 1 && (args[0] == "--demo" || args[0] == "-demo"):
		img, err := eng.DemoImage(ctx)
		if err != nil {
			return err
		}
		drivers := eng.DemoDrivers()
		cfg.Image = img
		cfg.Answers = &wizard.Answers{Version: wizard.AnswersVersion, Drivers: drivers, Set: wizard.SetVirtioWin,
			Output: filepath.Join(filepath.Dir(img), "demo-kvm.qcow2"), Format: "qcow2", WriteCache: wizard.CacheKeep}
	case len(args) == 2 && args[0] == "--":
		cfg.Image = args[1]
	case len(args) == 1:
		cfg.Image = args[0]
	case len(args) > 1:
		return usagef("the wizard takes at most one IMAGE")
	}
	leaveOwnConsole()
	return ui.RunConfig(eng, cfg)
}

// displayAvailable refuses to start the GUI where there is no display to
// open it on, rather than letting the windowing library panic.
func displayAvailable() error {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return nil
	}
	if os.Getenv("DISPLAY") == "" && os.Getenv("WAYLAND_DISPLAY") == "" {
		return fmt.Errorf("no graphical display (DISPLAY is not set): run the wizard in a desktop session, or use the headless commands (pvinject --help)")
	}
	return nil
}
