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

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
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

// BuildPlan opens the image read-only, detects the Windows on it, selects
// the driver packages and computes every file and registry change with the
// values they replace. It never writes. A plan with blockers is returned
// with a nil error: Apply refuses it, the caller shows why.
func BuildPlan(ctx context.Context, req Request) (_ *Plan, err error) {
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
	if req.Output != "" {
		p.Target = req.Output
	}

	// A journal means an earlier run was cut off (the image may be half
	// written and unreadable) or finished and was not accepted: reading the
	// guest now would describe an unknown state.
	if HasJournal(req.Image) {
		return nil, journalRefusal(req.Image)
	}
	img, err := image.Open(req.Image, disk.Options{Opener: req.Opener, AllowParentOutside: req.AllowBackingOutside})
	if err != nil {
		return nil, image.Named(req.Image, err)
	}
	defer img.Close()
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
			Message: fmt.Sprintf("%s (%s %s) can be read but not written in place", req.Image, img.Info().Format, img.Info().Subformat),
			Remedy:  "write the result to a new image with --output PATH"})
	}
	vol, part, wins, err := findWindows(img, log)
	if err != nil {
		return nil, err
	}
	p.Partition = PartitionRef{Index: part.Index, Start: part.Start, Size: part.Size}
	w := wins[0]
	if len(wins) > 1 {
		p.Warnings = append(p.Warnings, safety.Finding{Severity: safety.Warning, Code: "inject.multiple-windows",
			Message: fmt.Sprintf("%d Windows installations found; injecting into %s only", len(wins), w.SystemRoot)})
	}
	p.Guest = w
	if len(w.ControlSets.Present) == 0 {
		if w.ControlSet == "" {
			p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.no-control-set",
				Message: "the SYSTEM hive has no ControlSetNNN key", Remedy: "check that this is a bootable Windows system volume"})
		} else {
			p.Guest.ControlSets.Present = []string{w.ControlSet}
		}
	}
	w = p.Guest
	p.Blockers = append(p.Blockers, w.Safety.Blockers...)
	p.Warnings = append(p.Warnings, w.Safety.Warnings...)
	for _, f := range ntfs.Check(vol.Volume) {
		addFinding(p, f)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	src, err := drivers.OpenSource(req.Drivers, inf.Options{})
	if err != nil {
		return nil, fmt.Errorf("inject: driver source %s: %w", req.Drivers, err)
	}
	defer src.Close()
	if req.Set != "" && req.Set != "auto" && string(src.Kind) != req.Set {
		p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.set-mismatch",
			Message: fmt.Sprintf("--set %s but %s looks like a %s source", req.Set, req.Drivers, src.Kind),
			Remedy:  "point --drivers at the right source or use --set auto"})
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
				Message: fmt.Sprintf("no driver package in %s fits %s %s: %v", req.Drivers, w.ProductName, w.Arch, err),
				Remedy:  "use a driver source that has drivers for this Windows version and architecture"})
			return p, nil
		}
		return nil, fmt.Errorf("inject: select drivers for %s: %w", w.ProductName, err)
	}
	for _, r := range sel.Rejected {
		p.Rejected = append(p.Rejected, Rejected{Name: r.Name, Path: r.Path, Reason: r.Reason})
	}
	reviewPackages(p, src, sel, inf.Arch(w.Arch))
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

	pl := &planner{p: p, vol: vol, src: src, w: w, guestArch: inf.Arch(w.Arch), log: log}
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
				Message: r.Reason, Remedy: r.Remedy})
		}
		if err := image.RefuseIfParent(p.Request.Image); err != nil {
			var r *safety.Refusal
			if errors.As(err, &r) {
				p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.image-is-parent",
					Message: r.Reason, Remedy: r.Remedy})
			} else {
				p.Warnings = append(p.Warnings, safety.Finding{Severity: safety.Warning, Code: "inject.children-unknown",
					Message: fmt.Sprintf("could not check for child images: %v", err)})
			}
		}
		return
	}
	if _, err := statFile(p.Request.Output); err == nil {
		p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: "inject.output-exists",
			Message: fmt.Sprintf("the output %s already exists", p.Request.Output),
			Remedy:  "choose a new file name; pvinject never overwrites an existing file"})
	}
}

// findWindows opens every NTFS partition read-only and returns the first
// one that holds Windows.
func findWindows(img disk.Image, log *slog.Logger) (*hiveMemo, partition.Partition, []guest.Windows, error) {
	tab, err := partition.Read(img, img.Size())
	if err != nil {
		return nil, partition.Partition{}, nil, fmt.Errorf("inject: partition table: %w", err)
	}
	var lastErr error = guest.ErrNoWindows
	for _, part := range tab.Partitions {
		if part.Filesystem != partition.FSNTFS {
			if part.Filesystem == partition.FSBitLocker {
				lastErr = &safety.Refusal{Subject: fmt.Sprintf("partition %d", part.Index),
					Reason: "the partition is BitLocker-encrypted", Remedy: "decrypt it in Windows (or suspend and decrypt BitLocker) before injecting"}
			}
			continue
		}
		view, err := partition.View(img, part)
		if err != nil {
			lastErr = err
			continue
		}
		vol, err := ntfs.Open(view, view.Size(), ntfs.Options{Logger: log})
		if err != nil {
			log.Debug("partition not readable as NTFS", "index", part.Index, "err", err)
			lastErr = fmt.Errorf("partition %d: %w", part.Index, err)
			continue
		}
		memo := &hiveMemo{Volume: vol, files: map[string][]byte{}}
		wins, err := guest.Detect(guest.FromNTFS(memo), guest.OpenHive)
		if err != nil || len(wins) == 0 {
			if err != nil && !errors.Is(err, guest.ErrNoWindows) {
				lastErr = fmt.Errorf("partition %d: %w", part.Index, err)
			}
			continue
		}
		return memo, part, wins, nil
	}
	return nil, partition.Partition{}, nil, fmt.Errorf("inject: no Windows found on the image: %w", lastErr)
}

// hiveMemo keeps the bytes of the hives and logs that detection read, so the
// planner does not read a 10-100 MiB hive from the image a second time
// (BenchmarkInjectInPlace64G/real-win10-system-hive: 2x the hive size read
// while planning before, 1x after). Only files under a config folder are
// kept; other reads go straight to the volume.
type hiveMemo struct {
	*ntfs.Volume
	files map[string][]byte
}

func memoKey(p string) string {
	return strings.ToLower(strings.Trim(strings.ReplaceAll(p, "/", `\`), `\`))
}

func (m *hiveMemo) ReadFile(p string) ([]byte, error) {
	k := memoKey(p)
	if b, ok := m.files[k]; ok {
		return b, nil
	}
	b, err := m.Volume.ReadFile(p)
	if err == nil && strings.Contains(k, `\system32\config\`) {
		m.files[k] = b
	}
	return b, err
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
func evaluateMatrix(p *Plan, src *drivers.Source) error {
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
			msg := "the driver set does not support this Windows"
			remedy := ""
			for _, r := range v.Reasons {
				if r.Severity == "unsupported" {
					msg = r.Message
					remedy = r.Remedy
					break
				}
			}
			f := safety.Finding{Severity: safety.Blocker, Code: "inject.matrix-unsupported",
				Message: fmt.Sprintf("%s: %s", v.Name, msg), Remedy: remedy, Source: "core/matrix " + v.DriverSet}
			if p.Request.AllowUnsupported {
				f.Severity = safety.Warning
				f.Message += " (overridden by the user)"
			} else if f.Remedy == "" {
				f.Remedy = "use a driver set that supports this Windows, or override explicitly if you know it works"
			}
			addFinding(p, f)
		}
		for _, r := range v.Reasons {
			if r.Severity != "unsupported" {
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
		Remedy: "run `pvinject rollback IMAGE` to restore the original, or accept the earlier injection first"}
}
