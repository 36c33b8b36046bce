package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pvinject/pvinject/assets"
	"github.com/pvinject/pvinject/ui"
	"github.com/pvinject/pvinject/wizard"
)

// demoEngine adds the bundled demo to the core engine: step 1 offers it, and
// choosing it also pre-fills the demo driver set.
type demoEngine struct {
	*coreEngine
	drivers string
}

var _ wizard.DemoProvider = (*demoEngine)(nil)

// DemoImage unpacks a fresh copy of the demo (so a training lab can run it
// again and again) into the user's cache folder.
func (d *demoEngine) DemoImage(ctx context.Context) (string, error) {
	img, drivers, err := unpackDemo()
	if err != nil {
		return "", err
	}
	d.drivers = drivers
	return img, nil
}

func unpackDemo() (image, drivers string, err error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "pvinject", "demo")
	image, drivers, err = assets.DemoImage(dir)
	if err != nil {
		return "", "", fmt.Errorf("unpacking the demo image into %s: %w", dir, err)
	}
	return image, drivers, nil
}

// runGUI opens the wizard: on IMAGE when given, on the demo with --demo.
func runGUI(ctx context.Context, env *cliEnv, args []string) error {
	if err := displayAvailable(); err != nil {
		return err
	}
	eng := &demoEngine{coreEngine: newCoreEngine(env.log)}
	cfg := ui.Config{}
	switch {
	case len(args) == 1 && (args[0] == "--demo" || args[0] == "-demo"):
		img, drivers, err := unpackDemo()
		if err != nil {
			return err
		}
		eng.drivers = drivers
		cfg.Image = img
		cfg.Answers = &wizard.Answers{Version: wizard.AnswersVersion, Drivers: drivers, Set: wizard.SetVirtioWin,
			Output: filepath.Join(filepath.Dir(img), "demo-kvm.qcow2"), Format: "qcow2", WriteCache: wizard.CacheKeep}
	case len(args) == 1:
		cfg.Image = args[0]
	case len(args) > 1:
		return usagef("the wizard takes at most one IMAGE")
	}
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
