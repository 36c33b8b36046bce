// Command pvinject prepares a Windows VM disk image for a new hypervisor by
// injecting paravirtual drivers offline. With no arguments it opens the
// wizard; subcommands run the headless core.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "github.com/pvinject/pvinject/cmd/pvinject/internal/cleanlocale" // first: see its doc
	_ "github.com/pvinject/pvinject/cmd/pvinject/internal/gtklocale"   // before sqweek/dialog: see its doc
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
