package inspect

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/imagelock"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/target"
)

// ErrNoSuchInstall is wrapped when Options.Install names an install that
// does not exist.
var ErrNoSuchInstall = target.ErrNoSuchInstall

// ErrWriteAttempt is wrapped when anything below Inspect tries to write.
var ErrWriteAttempt = target.ErrWriteAttempt

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
	t, err := target.Open(ctx, path, target.Options{Opener: opts.Opener, OpenHive: opts.OpenHive, Logger: opts.Logger, AllowParentOutside: opts.AllowBackingOutside})
	if err != nil {
		return nil, image.Named(path, err)
	}
	defer func() {
		if cerr := t.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("inspect %s: closing: %w", path, cerr)
		}
	}()
	sel := t
	if len(t.Installs) > 0 || opts.Install != 0 {
		if sel, err = t.Select(opts.Install); err != nil {
			return nil, fmt.Errorf("inspect %s: %w", path, err)
		}
	}
	return FromTarget(ctx, sel, opts.Sets, opts.Logger)
}

// FromTarget describes an opened target, for its chosen install: the report
// Inspect returns, without reading the guest again. sets nil means
// matrix.Builtin().
func FromTarget(ctx context.Context, t *target.Target, sets []matrix.Set, log *slog.Logger) (*Report, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := t.Path
	r := &Report{Selected: t.Selected()}
	if err := describeImage(t.Opener, t.Image, path, r); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("inspect %s: %w", path, err)
	}
	if t.NoTable() {
		r.Safety.add(noTableFinding())
	} else {
		r.Partitions = t.Table.Partitions
		r.Image.PartitionScheme = t.Table.Scheme
		r.Image.SectorSize = t.Table.SectorSize
		r.Image.DiskID = t.Table.DiskID
	}
	for _, in := range t.Installs {
		r.Installs = append(r.Installs, Install{Partition: in.Partition, Windows: in.Windows})
	}

	chosenPart := -1
	if in, ok := t.Install(); ok {
		chosenPart = in.Partition
	}
	for _, v := range t.Volumes {
		found := v.Checks[:len(v.Checks):len(v.Checks)]
		if v.Err != nil {
			// One unreadable volume must not hide the others.
			log.Debug("inspect: NTFS partition unreadable", "image", path, "partition", v.Partition.Index, "err", v.Err)
			found = append(found, ntfsUnreadableFinding(v.Err))
		}
		if v.FS != nil {
			// The network of every install on the volume, in Installs order.
			var ws []guest.Windows
			for _, in := range t.Installs {
				if in.Partition == v.Partition.Index {
					ws = append(ws, in.Windows)
				}
			}
			nets, nf := networksOf(v.FS.Volume, ws)
			r.nets = append(r.nets, nets...)
			found = append(found, nf...)
		}
		for _, f := range found {
			if v.Partition.Index == chosenPart {
				r.Safety.add(f)
			} else {
				r.Safety.add(prefixed(v.Partition.Index, f))
			}
		}
	}
	r.Safety.add(encryptedFindings(r.Partitions, r.Selected >= 0)...)

	if in, ok := t.Install(); !ok {
		r.Safety.add(noWindowsFinding())
	} else {
		w := in.Windows
		r.Safety.add(w.Safety.Blockers...)
		r.Safety.add(w.Safety.Warnings...)
		if sets == nil {
			var err error
			if sets, err = matrix.Builtin(); err != nil {
				return nil, fmt.Errorf("inspect %s: driver-set matrices: %w", path, err)
			}
		}
		r.Matrix = matrix.EvaluateAll(sets, w)
	}
	bootReadiness(t.Image, r)
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
		r.Safety.add(childrenUnknownFinding(err))
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
