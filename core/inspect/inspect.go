package inspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/imagelock"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/netid"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
)

// ErrNoSuchInstall is wrapped when Options.Install names an install that
// does not exist.
var ErrNoSuchInstall = errors.New("inspect: no such Windows installation")

// Options control Inspect. The zero value inspects with the shipped matrices.
type Options struct {
	// Install chooses among the Windows installs found (index into
	// Report.Installs, in partition order); 0, the first, by default.
	Install int
	// Opener opens the host files; nil means disk.OSOpener. Whatever it is,
	// Inspect only ever asks it for read-only opens.
	Opener disk.Opener
	// AllowBackingOutside lets parent (backing) images lie outside the
	// image's folder (core/image.ResolveParentIn).
	AllowBackingOutside bool
	// Sets are the driver sets to evaluate; nil means matrix.Builtin().
	Sets []matrix.Set
	// OpenHive opens registry hives; nil means core/hive read-only: clean
	// SOFTWARE and SYSTEM hives read in place, only the cells detection
	// needs, others whole through guest.OpenHive (replaying transaction
	// logs in memory). See guest.Detect.
	OpenHive guest.HiveOpener
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Inspect describes the image at path without writing to it. It fails only
// when the image cannot be opened or read at all; everything else (no
// partition table, an unreadable NTFS volume, no Windows, a damaged hive)
// comes back as findings in a usable Report.
func Inspect(ctx context.Context, path string, opts Options) (_ *Report, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inner := opts.Opener
	if inner == nil {
		inner = disk.OSOpener{}
	}
	ro := readOnlyOpener{inner}
	im, err := image.Open(path, disk.Options{Opener: ro, AllowParentOutside: opts.AllowBackingOutside})
	if err != nil {
		return nil, image.Named(path, err)
	}
	defer func() {
		// A read-only image has nothing to flush; an error here means some
		// layer tried to write (ErrWriteAttempt), which must not pass silently.
		if cerr := im.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("inspect %s: closing: %w", path, cerr)
		}
	}()

	r := &Report{Selected: -1}
	if err := describeImage(ro, im, path, r); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}

	table, err := partition.Read(im, im.Size())
	switch {
	case errors.Is(err, partition.ErrNoTable):
		r.Safety.add(safety.Finding{Severity: safety.Warning, Code: CodeNoTable,
			Message: "no partition table or known filesystem on the disk",
			Remedy:  "check that this is a Windows system disk and that it is not encrypted or blank"})
	case err != nil:
		return nil, fmt.Errorf("inspect %s: partition table: %w", path, err)
	default:
		r.Partitions = table.Partitions
		r.Image.PartitionScheme = table.Scheme
		r.Image.SectorSize = table.SectorSize
		r.Image.DiskID = table.DiskID
	}

	// NTFS checks per partition, kept until the chosen install is known.
	checks := map[int][]safety.Finding{}
	for _, p := range r.Partitions {
		if p.Filesystem != partition.FSNTFS {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("inspect %s: %w", path, err)
		}
		found, ws, nets, err := inspectNTFS(im, p, opts.OpenHive, log)
		if err != nil {
			// One unreadable volume must not hide the others.
			log.Debug("inspect: NTFS partition unreadable", "image", path, "partition", p.Index, "err", err)
			checks[p.Index] = []safety.Finding{{Severity: safety.Warning, Code: CodeNTFSOpen,
				Message: fmt.Sprintf("the NTFS volume cannot be read: %v", err),
				Remedy:  "boot Windows and run `chkdsk /f` on the volume, shut down fully, then try again"}}
			continue
		}
		checks[p.Index] = found
		for _, w := range ws {
			r.Installs = append(r.Installs, Install{Partition: p.Index, Windows: w})
		}
		r.nets = append(r.nets, nets...)
	}

	if len(r.Installs) > 0 {
		if opts.Install < 0 || opts.Install >= len(r.Installs) {
			return nil, fmt.Errorf("inspect %s: %w: install %d chosen, %d found", path, ErrNoSuchInstall, opts.Install, len(r.Installs))
		}
		r.Selected = opts.Install
	} else if opts.Install != 0 {
		return nil, fmt.Errorf("inspect %s: %w: install %d chosen, none found", path, ErrNoSuchInstall, opts.Install)
	}

	chosenPart := -1
	if r.Selected >= 0 {
		chosenPart = r.Installs[r.Selected].Partition
	}
	for _, p := range r.Partitions {
		for _, f := range checks[p.Index] {
			if p.Index == chosenPart {
				r.Safety.add(f)
			} else {
				r.Safety.add(prefixed(p.Index, f))
			}
		}
	}
	r.Safety.add(encryptedFindings(r.Partitions, r.Selected >= 0)...)

	if r.Selected < 0 {
		r.Safety.add(noWindowsFinding())
	} else {
		w := r.Installs[r.Selected].Windows
		r.Safety.add(w.Safety.Blockers...)
		r.Safety.add(w.Safety.Warnings...)
		sets := opts.Sets
		if sets == nil {
			if sets, err = matrix.Builtin(); err != nil {
				return nil, fmt.Errorf("inspect %s: driver-set matrices: %w", path, err)
			}
		}
		r.Matrix = matrix.EvaluateAll(sets, w)
	}
	bootReadiness(im, r)
	r.normalize()
	return r, nil
}

// describeImage fills r.Image and the image-level findings.
func describeImage(ro disk.Opener, im *image.Image, path string, r *Report) error {
	info := im.Info()
	r.Image.Path = path
	r.Image.Format = info.Format
	r.Image.Subformat = info.Subformat
	r.Image.VirtualSize = im.Size()
	r.Image.ReadOnlyFormat = info.ReadOnly
	for _, l := range im.Chain() {
		layer := Layer{Format: l.Format, Subformat: l.Subformat, VirtualSize: l.VirtualSize, Parent: l.Parent}
		if len(l.Files) > 0 {
			layer.Path = l.Files[0]
		}
		r.Image.Chain = append(r.Image.Chain, layer)
	}
	children, err := image.Children(path)
	if err != nil {
		// An unlistable folder (permissions) must not hide the disk itself;
		// writes in place still go through image.RefuseIfParent.
		r.Safety.add(safety.Finding{Severity: safety.Warning, Code: CodeHasChildren,
			Message: fmt.Sprintf("could not look for images that use %s as their parent: %v", path, err),
			Remedy:  "check that the image's folder can be listed, or write the result to a new image (--output)"})
	}
	r.Image.Children = children
	if journal.Exists(imagelock.Name(path)) { // the journal lives beside the canonical name
		r.Safety.add(pendingJournalFinding())
	}
	if len(children) > 0 {
		r.Safety.add(childrenFinding(path, children))
	}
	if info.ReadOnly {
		r.Safety.add(readOnlyFormatFinding(info))
	}
	for _, l := range r.Image.Chain {
		if l.Format != "vhdx" || l.Path == "" {
			continue
		}
		b, err := ro.Open(l.Path, false)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", l.Path, err)
		}
		pending := vhdxLogPending(b)
		b.Close()
		if pending {
			r.Safety.add(vhdxLogFinding(l.Path))
		}
	}
	return nil
}

// inspectNTFS opens one NTFS partition read-only, checks it and detects the
// Windows installs on it. No Windows is not an error.
func inspectNTFS(im disk.Image, p partition.Partition, open guest.HiveOpener, log *slog.Logger) ([]safety.Finding, []guest.Windows, [][]netid.Adapter, error) {
	view, err := partition.View(im, p)
	if err != nil {
		return nil, nil, nil, err
	}
	vol, err := ntfs.Open(view, view.Size(), ntfs.Options{Logger: log})
	if err != nil {
		return nil, nil, nil, err
	}
	defer vol.Close()
	findings := ntfs.Check(vol)
	ws, err := guest.Detect(guest.FromNTFS(vol), open)
	if errors.Is(err, guest.ErrNoWindows) {
		return findings, nil, nil, nil
	}
	if err != nil {
		// The volume opened but could not be listed: say so, keep going.
		findings = append(findings, safety.Finding{Severity: safety.Warning, Code: CodeNTFSOpen,
			Message: fmt.Sprintf("looking for Windows on the volume failed: %v", err),
			Remedy:  "boot Windows and run `chkdsk /f` on the volume, shut down fully, then try again"})
		return findings, nil, nil, nil
	}
	nets, nf := networksOf(vol, ws)
	return append(findings, nf...), ws, nets, nil
}
