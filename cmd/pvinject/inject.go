package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/wizard"
)

type injectFlags struct {
	drivers, set, output, format, writeCache, answers string
	inPlace, allowUnsigned, allowUnsupported, dryRun  bool
	json, allowBackingOutside                         bool
	mtu                                               int
	keepIP                                            string
	ips                                               []string
}

func (f *injectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.drivers, "drivers", "", "driver source: a folder of INF packages, a virtio-win ISO or tree, an Oracle VM PV or Xen PV folder")
	fs.StringVar(&f.set, "set", "auto", "driver set: auto, virtio-win, oracle-vm-pv, xen-pv or inf")
	fs.BoolVar(&f.inPlace, "in-place", false, "write into IMAGE itself (journaled: pvinject rollback IMAGE undoes it)")
	fs.StringVar(&f.output, "output", "", "write the result to a new image at PATH; IMAGE is never touched")
	fs.StringVar(&f.format, "format", "", "format of --output: raw, vpc, vhdx, vmdk or qcow2 (default: from its extension)")
	fs.IntVar(&f.mtu, "mtu", 0, "NIC MTU applied at first boot (576-65486 for virtio; 0 keeps the default)")
	fs.StringVar(&f.writeCache, "write-cache", "", "disk write cache applied at first boot: on, off or keep (default: the driver set's)")
	fs.StringVar(&f.keepIP, "keep-ip", "auto", "carry the guest's static IP settings to the new network adapters at first boot: auto or off")
	fs.Func("ip", "static settings for a new adapter, MAC_OR_NAME:ADDR/LEN,GATEWAY,DNS... (repeatable; MAC of the new adapter or the old connection name)", func(s string) error {
		f.ips = append(f.ips, s)
		return nil
	})
	fs.BoolVar(&f.allowUnsigned, "allow-unsigned", false, "allow packages without a valid catalog on 64-bit Windows (they load only with test signing)")
	fs.BoolVar(&f.allowUnsupported, "allow-unsupported", false, "go on when the driver set's matrix says the guest is unsupported")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the plan (every file and registry value, old and new) and write nothing")
	fs.BoolVar(&f.json, "json", false, "print the plan or report as JSON on stdout")
	fs.BoolVar(&f.allowBackingOutside, "allow-backing-outside", false, "open parent (backing) images outside IMAGE's folder (only for images you trust: an image can name any host file as its parent)")
	fs.StringVar(&f.answers, "answers", "", "read the choices from an answer file saved by the wizard (flags given override it)")
}

// request merges an answer file (if any) with the flags that were set.
func (f *injectFlags) request(fs *flag.FlagSet, image string) (inject.Request, error) {
	req := inject.Request{Image: image, Set: "auto"}
	if f.answers != "" {
		a, err := wizard.LoadAnswers(f.answers)
		if err != nil {
			return req, usagef("%v", err)
		}
		req = requestFromAnswers(a, image)
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["drivers"] || f.answers == "" {
		req.Drivers = f.drivers
	}
	if set["set"] {
		req.Set = f.set
	}
	if set["in-place"] {
		req.InPlace, req.Output = f.inPlace, ""
	}
	if set["output"] {
		req.Output, req.InPlace = f.output, false
	}
	if set["format"] {
		req.Format = f.format
	}
	if set["mtu"] {
		req.MTU = f.mtu
	}
	if set["write-cache"] {
		req.WriteCache = f.writeCache
	}
	if set["keep-ip"] {
		req.KeepIP = f.keepIP
	}
	if set["ip"] {
		req.IPs = f.ips
	}
	if set["allow-unsigned"] {
		req.AllowUnsigned = f.allowUnsigned
	}
	req.AllowBackingOutside = f.allowBackingOutside
	if set["allow-unsupported"] {
		req.AllowUnsupported = f.allowUnsupported
	}
	switch {
	case req.Drivers == "":
		return req, usagef("--drivers is required")
	case req.InPlace && req.Output != "":
		return req, usagef("--in-place and --output exclude each other")
	case set["in-place"] && f.inPlace && set["output"]:
		return req, usagef("--in-place and --output exclude each other")
	case !req.InPlace && req.Output == "" && !f.dryRun:
		return req, usagef("one of --in-place or --output PATH is required")
	case req.WriteCache != "" && req.WriteCache != "on" && req.WriteCache != "off" && req.WriteCache != "keep":
		return req, usagef("--write-cache %q: want on, off or keep", req.WriteCache)
	case req.KeepIP != "" && req.KeepIP != "auto" && req.KeepIP != "off":
		return req, usagef("--keep-ip %q: want auto or off", req.KeepIP)
	case req.MTU != 0 && (req.MTU < 576 || req.MTU > 65486):
		return req, usagef("--mtu %d: want 576-65486 (netkvm's *JumboPacket range 590-65500 less the 14-byte Ethernet header)", req.MTU)
	}
	if f.dryRun && !req.InPlace && req.Output == "" {
		// The planner needs a target; a dry run writes nothing, so plan
		// against IMAGE itself to show what would change in it.
		req.InPlace = true
	}
	return req, nil
}

func requestFromAnswers(a wizard.Answers, image string) inject.Request {
	keepIP, ips := a.Network()
	return inject.Request{
		KeepIP:        keepIP,
		IPs:           ips,
		Image:         image,
		Drivers:       a.Drivers,
		Set:           string(a.Set),
		InPlace:       a.InPlace,
		Output:        a.OutputFor(image),
		Format:        a.Format,
		MTU:           a.MTU,
		WriteCache:    string(a.WriteCache),
		AllowUnsigned: a.AllowUnsigned,
	}
}

func injectCmd() *command {
	return &command{
		name:    "inject",
		summary: "inject PV drivers into IMAGE (in place, journaled, or to a new image)",
		usage:   "--drivers PATH (--in-place | --output PATH) [flags] IMAGE",
		help: `
Plans the injection (which packages, every file and registry change with its
old and new value), refuses unsafe or unsupported guests with status 3 before
writing anything, then applies the plan as one journaled transaction, verifies
it by re-reading every file and value, and writes a report beside the image
(IMAGE.pvinject-report.json and .html). A failed verification rolls back.
With --output the new image is built beside its target under a temporary
name and moved into place once verified; it has no journal (to undo it,
delete it). In place, pvinject is the image's only writer while it runs and
refuses images in use by qemu, a loop device or a mount, and files with more
than one name (hard links).

Boot-critical storage drivers are installed offline so the first boot on the
new hypervisor finds its disk; everything else is staged and installed by a
first-boot runner that removes itself.

Examples:
  pvinject inject --drivers virtio-win.iso --output win10-kvm.qcow2 win10.vhdx
  pvinject inject --drivers /mnt/virtio-win --in-place --mtu 9000 win2019.img
  pvinject inject --drivers ./OracleVMPV --set oracle-vm-pv --write-cache off --in-place w7.img
  pvinject inject --drivers virtio-win.iso --dry-run win7.vmdk
  pvinject inject --drivers virtio-win.iso --output srv.qcow2 --ip 52:54:00:12:34:56:10.0.0.5/24,10.0.0.1,10.0.0.53 srv.vmdk
  pvinject inject --answers lab.json --in-place student01.qcow2`,
		flags: func(fs *flag.FlagSet) any {
			f := &injectFlags{}
			f.register(fs)
			return f
		},
		run: func(ctx context.Context, env *cliEnv, args []string) error {
			c := injectCmd()
			fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			f := &injectFlags{}
			f.register(fs)
			if err := fs.Parse(interleave(fs, args)); err != nil {
				if err == flag.ErrHelp {
					printHelp(env.stdout, c)
					return errHelp
				}
				return usagef("%v", err)
			}
			path, err := oneImage(fs.Args())
			if err != nil {
				return err
			}
			req, err := f.request(fs, path)
			if err != nil {
				return err
			}
			req.Logger = env.log
			plan, err := inject.BuildPlan(ctx, nil, req)
			if errors.Is(err, inject.ErrRequest) {
				return usagef("%s: %v", path, err)
			}
			if err != nil {
				return backingRefusal(err)
			}
			if f.dryRun {
				var err error
				if f.json {
					err = writeJSON(env.stdout, plan)
				} else {
					err = inject.WritePlanText(env.stdout, plan)
				}
				if err != nil {
					return err
				}
				// The plan is printed either way; the status says whether
				// applying it would be refused, for scripts.
				if plan.HasBlockers() {
					return plan.Refusal()
				}
				return nil
			}
			var last time.Time
			progressShown := false
			progress := func(frac float64, action string) {
				if f.json || time.Since(last) < 200*time.Millisecond && frac < 1 {
					return
				}
				last, progressShown = time.Now(), true
				fmt.Fprintf(env.stderr, "\r%3.0f%% %-60.60s", frac*100, action)
			}
			rep, err := inject.Apply(ctx, plan, progress)
			// End the progress line, and only then: a refusal before any
			// progress must stay the one line on stderr.
			if progressShown {
				fmt.Fprintln(env.stderr)
			}
			if err != nil {
				return backingRefusal(err)
			}
			if f.json {
				err = writeJSON(env.stdout, rep)
			} else {
				_, err = io.WriteString(env.stdout, rep.Text())
			}
			if err != nil {
				return err
			}
			return notBootable(rep)
		},
	}
}

func verifyCmd() *command {
	return &command{
		name:    "verify",
		summary: "re-check an injected image against its report",
		usage:   "[--json] IMAGE",
		help: `
Re-opens IMAGE read-only and checks every file and registry value that the
saved report (IMAGE.pvinject-report.json) says pvinject wrote. Exit status 0
when all match, 1 otherwise.

Examples:
  pvinject verify win10-kvm.qcow2`,
		flags: func(fs *flag.FlagSet) any {
			b := new(bool)
			fs.BoolVar(b, "json", false, "print the result as JSON")
			return b
		},
		run: func(ctx context.Context, env *cliEnv, args []string) error {
			opts, pos, err := parse(env, verifyCmd(), args)
			if err != nil {
				return err
			}
			path, err := oneImage(pos)
			if err != nil {
				return err
			}
			rep, err := inject.LoadReport(path)
			if err != nil {
				return err
			}
			p := *rep.Plan
			p.Target = path
			res := inject.VerifyPlan(&p)
			if *(opts.(*bool)) {
				if err := writeJSON(env.stdout, res); err != nil {
					return err
				}
			}
			if !res.OK {
				return fmt.Errorf("%s: verification failed: %s", path, strings.Join(res.Problems, "; "))
			}
			if !*(opts.(*bool)) {
				fmt.Fprintf(env.stdout, "%s: verified: %d files and %d registry values match the report\n", path, res.Files, res.Values)
			}
			return nil
		},
	}
}
