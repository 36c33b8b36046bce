package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/inspect"
)

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// oneImage returns the single IMAGE argument or a usage error.
func oneImage(args []string) (string, error) {
	switch len(args) {
	case 0:
		return "", usagef("IMAGE is required")
	case 1:
		return args[0], nil
	default:
		return "", usagef("one IMAGE expected, got %d arguments", len(args))
	}
}

type inspectFlags struct {
	json, allowBackingOutside bool
	install                   int
}

func inspectCmd() *command {
	return &command{
		name:    "inspect",
		summary: "show the image, its partitions, the Windows inside and driver-set verdicts",
		usage:   "[--json] [--install N] IMAGE",
		help: `
Opens IMAGE read-only (raw, VHD, VHDX, VMDK or qcow2, recognised by content)
and reports its format and backing chain, its partitions and filesystems, every
Windows installation found, the safety checks that would block a write, and
the verdict of each driver set's supported-OS matrix. Never writes.

Examples:
  pvinject inspect win2019.qcow2
  pvinject inspect --json disk.vhdx | jq .windows.product_name
  pvinject inspect --install 1 dualboot.img`,
		flags: func(fs *flag.FlagSet) any {
			f := &inspectFlags{}
			fs.BoolVar(&f.json, "json", false, "print the report as JSON on stdout")
			fs.BoolVar(&f.allowBackingOutside, "allow-backing-outside", false, "open parent (backing) images outside IMAGE's folder (only for images you trust)")
			fs.IntVar(&f.install, "install", 0, "which Windows installation to evaluate when there are several (0 = first)")
			return f
		},
		run: func(ctx context.Context, env *cliEnv, args []string) error {
			c := inspectCmd()
			opts, pos, err := parse(env, c, args)
			if err != nil {
				return err
			}
			f := opts.(*inspectFlags)
			path, err := oneImage(pos)
			if err != nil {
				return err
			}
			r, err := inspect.Inspect(ctx, path, inspect.Options{Install: f.install, Logger: env.log, AllowBackingOutside: f.allowBackingOutside})
			if err != nil {
				return backingRefusal(err)
			}
			if f.json {
				return writeJSON(env.stdout, r)
			}
			return inspect.WriteText(env.stdout, r)
		},
	}
}

func rollbackCmd() *command {
	return &command{
		name:    "rollback",
		summary: "restore an image to its bytes before pvinject wrote to it",
		usage:   "[--force] IMAGE",
		help: `
Restores IMAGE byte for byte from the journal pvinject keeps beside it
(IMAGE.pvinject-journal), whether the injection finished, failed or was cut
off, then removes the journal and the reports beside the image. Files the
injection created (new extents) are removed. An image written with --output
has no journal: to undo it, delete it. Refused while another pvinject run or
another program (qemu, a loop device, a mount) uses the image.

It first checks the journal and the image, and restores nothing (exit status
3, the journal kept) when the journal is damaged or when the image changed
after the injection (for example the guest has run): restoring old bytes
under newer ones would damage the guest's files. It then lists what changed.
Keep the guest as it is (pvinject accept IMAGE), or restore a backup; --force
restores anyway, after printing that list.

Examples:
  pvinject rollback win10.vhdx
  pvinject rollback --force win10.vhdx`,
		flags: func(fs *flag.FlagSet) any {
			b := new(bool)
			fs.BoolVar(b, "force", false, "restore even over changes made after the injection (they are listed first and will be overwritten)")
			return b
		},
		run: func(ctx context.Context, env *cliEnv, args []string) error {
			opts, pos, err := parse(env, rollbackCmd(), args)
			if err != nil {
				return err
			}
			path, err := oneImage(pos)
			if err != nil {
				return err
			}
			show := func(lines []string) {
				fmt.Fprintf(env.stderr, "%s changed after pvinject wrote it; restoring anyway (--force) over:\n", path)
				for _, l := range lines {
					fmt.Fprintf(env.stderr, "  - %s\n", l)
				}
			}
			res, err := inject.RollbackImage(path, *(opts.(*bool)), show)
			if err != nil {
				return err
			}
			switch {
			case res.Untouched:
				fmt.Fprintf(env.stdout, "%s: nothing to restore: the interrupted run had not written to it yet; the journal was removed\n", path)
			case len(res.Forced) > 0:
				fmt.Fprintf(env.stdout, "%s: restored to its bytes before the injection; the %d change(s) listed above were overwritten\n", path, len(res.Forced))
			default:
				fmt.Fprintf(env.stdout, "%s: restored to its original bytes\n", path)
			}
			return nil
		},
	}
}

func acceptCmd() *command {
	return &command{
		name:    "accept",
		summary: "make an injection final: drop the rollback journal beside the image",
		usage:   "IMAGE",
		help: `
After a successful injection pvinject keeps the journal beside the image
(IMAGE.pvinject-journal) so that "pvinject rollback IMAGE" can restore it at
any time, and refuses a second injection while it is there. Once the guest
boots on its new hypervisor, accept the injection to remove the journal; the
reports stay.

Examples:
  pvinject accept win10-kvm.qcow2`,
		run: func(ctx context.Context, env *cliEnv, args []string) error {
			return onJournal(env, acceptCmd(), args, "accept", inject.Accept, "injection accepted; the rollback journal was removed")
		},
	}
}

// onJournal runs act on the single IMAGE of a command that works on the
// journal beside it (accept), and says done when it succeeds.
func onJournal(env *cliEnv, c *command, args []string, verb string, act func(string) error, done string) error {
	_, pos, err := parse(env, c, args)
	if err != nil {
		return err
	}
	path, err := oneImage(pos)
	if err != nil {
		return err
	}
	if err := act(path); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "%s: %s\n", path, done)
	return nil
}
