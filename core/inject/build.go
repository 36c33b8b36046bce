package inject

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/core/target"
)

// ErrRequest marks an invalid Request (flag misuse), as opposed to a refusal.
var ErrRequest = errors.New("inject: invalid request")

// validate checks the flag combinations before anything is opened.
func (r *Request) validate() error {
	if r.Image == "" {
		return fmt.Errorf("%w: no image given", ErrRequest)
	}
	if r.Drivers == "" {
		return fmt.Errorf("%w: --drivers is required", ErrRequest)
	}
	if r.InPlace == (r.Output != "") {
		return fmt.Errorf("%w: give exactly one of --in-place or --output PATH", ErrRequest)
	}
	switch r.Set {
	case "", "auto", string(drivers.KindVirtioWin), string(drivers.KindOracleVMPV), string(drivers.KindXenPV), string(drivers.KindFolder):
	default:
		return fmt.Errorf("%w: --set %q: want auto, virtio-win, oracle-vm-pv, xen-pv or inf", ErrRequest, r.Set)
	}
	switch r.WriteCache {
	case "", "on", "off", "keep":
	default:
		return fmt.Errorf("%w: --write-cache %q: want on, off or keep", ErrRequest, r.WriteCache)
	}
	if err := validateNetRequest(r); err != nil {
		return err
	}
	if r.MTU != 0 && (r.MTU < MinMTU || r.MTU > MaxMTU) {
		return fmt.Errorf("%w: --mtu %d: netkvm's *JumboPacket range 590-65500 allows MTU %d-%d", ErrRequest, r.MTU, MinMTU, MaxMTU)
	}
	return nil
}

// MTU bounds: netkvm *JumboPacket = MTU + 14 must lie in 590..65500
// (NetKVM/netkvm-base.txt:96-101, facts §3.4).
const (
	MinMTU = 590 - ethHeader
	MaxMTU = 65500 - ethHeader
)

const ethHeader = 14

// BuildPlan computes, from the target (the image opened read-only with its
// chosen Windows installation), every file and registry change an injection
// makes, with the values they replace; it selects the driver packages from
// req.Drivers. It never writes. The plan is for the install t has selected:
// the one the user chose, never another one found first. A nil t opens
// req.Image itself (and selects its first install), for callers that plan
// once. A plan with blockers is returned with a nil error: Apply refuses it,
// the caller shows why.
func BuildPlan(ctx context.Context, t *target.Target, req Request) (_ *Plan, err error) {
	defer func() { err = unsafeSourceRefusal(err) }()
	if err := req.validate(); err != nil {
		return nil, err
	}
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Plan{Version: PlanVersion, Request: req, Target: req.Image}
	p.Request.Logger = nil
	p.Request.Opener = nil
	p.Request.Source = nil
	if req.Output != "" {
		p.Target = req.Output
	}

	// A journal means an earlier run was cut off (the image may be half
	// written and unreadable) or finished and was not accepted: reading the
	// guest now would describe an unknown state.
	if HasJournal(req.Image) {
		return nil, journalRefusal(req.Image)
	}
	if t == nil {
		t, err = target.Open(ctx, req.Image, target.Options{Opener: req.Opener, OpenHive: guest.OpenHive, Logger: log, AllowParentOutside: req.AllowBackingOutside})
		if err != nil {
			return nil, image.Named(req.Image, err)
		}
		defer func() {
			if cerr := t.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("inject: close %s: %w", req.Image, cerr)
			}
		}()
	} else if t.Path != req.Image {
		return nil, fmt.Errorf("%w: the request names %s but the open image is %s", ErrRequest, req.Image, t.Path)
	}
	img := t.Image
	p.hiveLogs = t.HiveLogs
	p.SourceFormat = img.Format()
	p.TargetFormat = p.SourceFormat
	if req.Output != "" {
		f, err := outputFormat(req)
		if err != nil {
			return nil, err
		}
		p.TargetFormat = f
	}
	preflightTarget(p)

	if req.InPlace && img.Info().ReadOnly {
		p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.format-read-only",
			Title:     "This image can only be read",
			Message:   fmt.Sprintf("%s %s images can be read but not changed in place.", img.Info().Format, img.Info().Subformat),
			Remedy:    "Write the result to a new image instead.",
			CLIRemedy: "use --output NEW-IMAGE instead of --in-place"})
	}
	in, ok := t.Install()
	if !ok {
		return nil, noWindowsError(t)
	}
	vol := t.Volume(in.Partition)
	if vol == nil || vol.FS == nil {
		return nil, fmt.Errorf("inject: partition %d of %s cannot be read", in.Partition, req.Image)
	}
	part := vol.Partition
	p.Partition = PartitionRef{Index: part.Index, Start: part.Start, Size: part.Size}
	w := in.Windows
	p.Guest = w
	if len(w.ControlSets.Present) == 0 {
		if w.ControlSet == "" {
			p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.no-control-set",
				Title:   "The registry has no control set",
				Message: "The SYSTEM registry hive of this Windows has no ControlSet key, so it cannot start.",
				Remedy:  "Check that this is the system disk of a Windows that starts."})
		} else {
			p.Guest.ControlSets.Present = []string{w.ControlSet}
		}
	}
	w = p.Guest
	p.Blockers = append(p.Blockers, w.Safety.Blockers...)
	p.Warnings = append(p.Warnings, w.Safety.Warnings...)
	for _, f := range vol.Checks {
		addFinding(p, f)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	src := req.Source
	if src == nil {
		if src, err = OpenSource(req.Drivers); err != nil {
			return nil, err
		}
		defer src.Close()
	} else if src.Path != req.Drivers {
		return nil, fmt.Errorf("%w: the request names the driver source %s but %s is open", ErrRequest, req.Drivers, src.Path)
	}
	p.source = req.Source
	if req.Set != "" && req.Set != "auto" && string(src.Kind) != req.Set {
		p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.set-mismatch",
			Title:     "The driver source is of another kind",
			Message:   fmt.Sprintf("%s was chosen as %s drivers but looks like a %s source.", req.Drivers, setWords(req.Set), setWords(string(src.Kind))),
			Remedy:    "Choose the driver set that matches this source, or a source of the chosen kind.",
			CLIRemedy: "point --drivers at the right source or use --set auto"})
	}
	p.DriverSet = DriverSet{Path: req.Drivers, Kind: string(src.Kind), Family: familyOf(src.Kind)}
	if err := evaluateMatrix(p, src); err != nil {
		return nil, err
	}

	gi := drivers.GuestInfo{OSDir: w.VirtioDir, Arch: inf.Arch(w.Arch), Major: w.Major, Minor: w.Minor, Build: w.Build, Server: w.Server}
	sel, err := src.Select(gi)
	if err != nil {
		if errors.Is(err, drivers.ErrNoMatch) {
			p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.no-drivers",
				Title:   "No driver in the source fits this Windows",
				Message: fmt.Sprintf("No driver package in %s is made for %s %s.", req.Drivers, w.ProductName, w.Arch),
				Remedy:  "Choose a driver source that has drivers for this Windows version and architecture.",
				Details: err.Error()})
			return p, nil
		}
		return nil, fmt.Errorf("inject: select drivers for %s: %w", w.ProductName, err)
	}
	for _, r := range sel.Rejected {
		p.Rejected = append(p.Rejected, Rejected{Name: r.Name, Path: r.Path, Reason: r.Reason})
	}
	reviewPackages(p, src.Source, sel, inf.Arch(w.Arch))
	var pkgs []*drivers.Package
	for _, c := range sel.Chosen {
		pkgs = append(pkgs, c.Package)
	}
	for _, f := range drivers.SignatureFindings(pkgs, inf.Arch(w.Arch), req.AllowUnsigned) {
		addFinding(p, f)
	}
	if err := setOptions(p, req); err != nil {
		return nil, err
	}

	pl := &planner{p: p, vol: vol.FS, src: src, w: w, guestArch: inf.Arch(w.Arch), log: log}
	if err := pl.openHives(); err != nil {
		return nil, err
	}
	defer pl.closeHives()
	if err := pl.build(ctx, sel); err != nil {
		return nil, err
	}
	return p, nil
}

func addFinding(p *Plan, f safety.Finding) {
	if f.Severity == safety.Blocker {
		p.Blockers = append(p.Blockers, f)
	} else {
		p.Warnings = append(p.Warnings, f)
	}
}

func outputFormat(req Request) (string, error) {
	if req.Format != "" {
		f, err := image.FormatByName(req.Format)
		if err != nil {
			return "", fmt.Errorf("%w: --format %q: %v", ErrRequest, req.Format, err)
		}
		return f.Name, nil
	}
	f, err := image.FormatForPath(req.Output)
	if err != nil {
		return "", fmt.Errorf("%w: --output %s: %v (give --format)", ErrRequest, req.Output, err)
	}
	return f.Name, nil
}

// preflightTarget records the refusals about the file to be written that
// need no guest: a journal left by an earlier run, a parent of other
// images (in place), an existing output file.
func preflightTarget(p *Plan) {
	if p.Request.InPlace {
		if HasJournal(p.Request.Image) {
			r := journalRefusal(p.Request.Image)
			p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.journal-exists",
				Title:     "pvinject already changed this image",
				Message:   "An earlier run of pvinject changed this image and its rollback record is still beside it: that run was interrupted, or finished and was not kept yet.",
				Remedy:    "Open the image again and choose Roll back to restore the original, or Keep to make the earlier change final.",
				CLIRemedy: r.Remedy})
		}
		if err := image.RefuseIfParent(p.Request.Image); err != nil {
			var r *safety.Refusal
			if errors.As(err, &r) {
				p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.image-is-parent",
					Title:     "Other disk images depend on this one",
					Message:   capitalize(r.Reason) + ".",
					Remedy:    "Write the result to a new image, or open the newest child (the disk the virtual machine runs from) instead.",
					CLIRemedy: r.Remedy})
			} else {
				p.Warnings = append(p.Warnings, safety.Finding{Severity: safety.Warning, Code: "inject.children-unknown",
					Title:   "Could not check for images that depend on this one",
					Message: "The image's folder could not be listed, so pvinject cannot tell whether other images use this one as their parent.",
					Remedy:  "Check that the image's folder can be read, or write the result to a new image.",
					Details: err.Error()})
			}
		}
		return
	}
	if _, err := statFile(p.Request.Output); err == nil {
		p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.output-exists",
			Title:   "The output file already exists",
			Message: fmt.Sprintf("%s already exists, and pvinject never overwrites a file.", p.Request.Output),
			Remedy:  "Choose a new file name for the result."})
	}
}

// noWindowsError says why the target has nothing to inject into.
func noWindowsError(t *target.Target) error {
	var lastErr error = guest.ErrNoWindows
	for _, p := range t.Partitions() {
		if p.Filesystem == partition.FSBitLocker {
			lastErr = &safety.Refusal{Subject: fmt.Sprintf("partition %d", p.Index),
				Reason: "the partition is encrypted with BitLocker", Remedy: "turn BitLocker off for the drive in Windows before preparing the image"}
		}
	}
	for _, v := range t.Volumes {
		if v.Err != nil {
			lastErr = fmt.Errorf("partition %d: %w", v.Partition.Index, v.Err)
		}
	}
	return fmt.Errorf("inject: no Windows found on the image: %w", lastErr)
}

func familyOf(k drivers.Kind) string {
	switch k {
	case drivers.KindOracleVMPV, drivers.KindXenPV:
		return "xen"
	default:
		return "virtio"
	}
}

// evaluateMatrix records every set's verdict and applies the one for the
// source's set.
func evaluateMatrix(p *Plan, src *Source) error {
	sets, err := matrix.Builtin()
	if err != nil {
		return fmt.Errorf("inject: support matrix: %w", err)
	}
	p.Verdicts = matrix.EvaluateAll(sets, p.Guest)
	id := ""
	switch src.Kind {
	case drivers.KindVirtioWin:
		id = "virtio-win"
	case drivers.KindOracleVMPV:
		id = "oracle-pv-3.2.3"
	case drivers.KindXenPV:
		id = "xcp-ng-winpv"
	}
	p.DriverSet.MatrixID = id
	for i := range p.Verdicts {
		v := p.Verdicts[i]
		if v.DriverSet != id {
			continue
		}
		p.Verdict = &v
		if v.Verdict == matrix.Unsupported {
			msg := "The driver set does not support this Windows."
			remedy, source := "", ""
			for _, r := range v.Reasons {
				if r.Severity == "unsupported" {
					msg, remedy, source = r.Message, r.Remedy, r.Source
					break
				}
			}
			f := safety.Finding{Severity: safety.Blocker, Code: "inject.matrix-unsupported",
				Title:   v.Name + " does not support this Windows",
				Message: msg, Remedy: remedy, Source: source}
			if p.Request.AllowUnsupported {
				f.Severity = safety.Warning
				f.Message += " (overridden by the user)"
			} else if f.Remedy == "" {
				f.Remedy = "Choose a driver set that supports this Windows."
			}
			addFinding(p, f)
		}
		for _, r := range v.Reasons {
			if r.Severity != "unsupported" && !r.Guest {
				p.Warnings = append(p.Warnings, safety.Finding{Severity: safety.Warning, Code: "matrix.warning",
					Message: r.Message, Remedy: r.Remedy, Source: r.Source})
			}
		}
	}
	return nil
}

// setOptions validates the MTU and write-cache choices (facts §3.4, §3.5).
func setOptions(p *Plan, req Request) error {
	o := Options{MTU: req.MTU, AllowUnsigned: req.AllowUnsigned, AllowUnsupported: req.AllowUnsupported, WriteCache: req.WriteCache}
	if req.MTU != 0 {
		o.JumboPacket = req.MTU + ethHeader
	}
	if o.WriteCache == "" {
		o.WriteCacheDefault = true
		o.WriteCache = "keep"
		// Oracle VM PV 3.2.3 turned write caching off by default after the
		// earlier default lost data (the Oracle guide §2.1; issue 5).
		if p.DriverSet.Kind == string(drivers.KindOracleVMPV) {
			o.WriteCache = "off"
		}
	}
	p.Options = o
	return nil
}

// sha256Reader hashes everything read from r.
func sha256Of(b []byte) string { return hexSum(sha256.Sum256(b)) }

// readSourceFile reads a file of the driver source, bounded.
func readSourceFile(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, drivers.MaxBinarySize+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > drivers.MaxBinarySize {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, drivers.MaxBinarySize)
	}
	return b, nil
}

func slashToGuest(p string) string { return strings.ReplaceAll(path.Clean(p), "/", `\`) }

// journalRefusal is the refusal for an image that still has its journal.
func journalRefusal(img string) *safety.Refusal {
	return &safety.Refusal{Subject: img,
		Reason: "the image has a pvinject journal: an earlier injection was interrupted, or finished and was not accepted yet",
		Remedy: "run `pvinject rollback IMAGE` to restore the original, or `pvinject accept IMAGE` to keep the earlier injection"}
}

// setWords names a driver set (a --set value) for people.
func setWords(set string) string {
	switch set {
	case string(drivers.KindVirtioWin):
		return "virtio-win"
	case string(drivers.KindOracleVMPV):
		return "Oracle VM PV"
	case string(drivers.KindXenPV):
		return "Xen PV"
	case string(drivers.KindFolder):
		return "INF folder"
	}
	return set
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
