package inject

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/imagelock"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
)

// ErrVerify is wrapped when the image did not read back as planned; the
// run was rolled back.
var ErrVerify = errors.New("inject: verification after writing failed")

// ErrChanged is wrapped when the image no longer holds the values the plan
// was computed from (edited between plan and apply); nothing is kept.
var ErrChanged = errors.New("inject: the image changed since the plan was made")

// Progress receives the fraction done (0..1) and what is happening.
type Progress func(frac float64, action string)

// Apply runs a plan: it refuses (a *safety.Refusal, nothing written) while
// the plan has blockers; otherwise it writes every file and registry value
// through the journal, closes the volume clean, verifies by re-reading the
// image, saves the report in full, seals the journal (its commit point:
// docs/JOURNAL.md) and only then puts the report beside the image, and
// returns it. Any failure or cancellation before the seal rolls the image
// back and says so; a later one says the image was changed and how to undo
// it. On success the journal is kept as the rollback record (see the
// package doc).
func Apply(ctx context.Context, p *Plan, progress Progress) (*Report, error) {
	return ApplyWith(ctx, p, progress, nil)
}

// OutcomeError is a failed apply and what became of the image: Err is the
// cause, Outcome says in words whether the image is as it was. Changed
// marks the one case where it is not (the undo failed); Outcome then ends
// with the rollback command.
type OutcomeError struct {
	Err     error
	Outcome string
	Changed bool
}

func (e *OutcomeError) Error() string {
	if e.Changed {
		return e.Err.Error() + "; " + e.Outcome
	}
	return e.Err.Error() + " (" + e.Outcome + ")"
}

func (e *OutcomeError) Unwrap() error { return e.Err }

// ApplyWith is Apply with the host-file opener beneath the journal (fault
// injection and byte counting in tests; nil is the host filesystem).
func ApplyWith(ctx context.Context, p *Plan, progress Progress, inner disk.Opener) (*Report, error) {
	if progress == nil {
		progress = func(float64, string) {}
	}
	if p.HasBlockers() {
		return nil, p.Refusal()
	}
	// One writer per image: the lock is held until the report is saved, and
	// the journal is kept under the image's canonical name (core/imagelock).
	var lk *imagelock.Lock
	if p.Request.InPlace {
		var err error
		if lk, err = lockImage(p.Target, lockInject); err != nil {
			return nil, err
		}
		defer lk.Release()
	}
	if err := recheckTarget(p); err != nil {
		return nil, err
	}
	data, err := loadFileData(p)
	if err != nil {
		return nil, unsafeSourceRefusal(err)
	}
	rep := newReport(p)
	rep.Started = time.Now().UTC()
	if !p.Request.InPlace {
		return applyOutput(ctx, p, data, rep, progress, inner)
	}
	jimg := lk.Path
	j, err := journal.Begin(jimg, inner)
	if err != nil {
		if errors.Is(err, journal.ErrJournalExists) {
			return nil, &safety.Refusal{Subject: p.Target, Reason: err.Error(), Remedy: "run `pvinject rollback IMAGE` first"}
		}
		return nil, fmt.Errorf("inject: %w", err)
	}
	rep.Journal = j.JournalPath()
	fail := func(cause error) (*Report, error) {
		j.Close()
		res, rbErr := journal.RollbackWith(jimg, journal.Options{})
		var r *safety.Refusal
		if errors.As(cause, &r) && rbErr == nil {
			return nil, cause
		}
		if rbErr != nil {
			return nil, &OutcomeError{Err: cause, Changed: true,
				Outcome: fmt.Sprintf("the image %s WAS CHANGED and undoing it failed (%v); undo it with: pvinject rollback %s", p.Target, rbErr, shellQuote(p.Target))}
		}
		if res.Untouched() {
			return nil, &OutcomeError{Err: cause, Outcome: "nothing was written to the image"}
		}
		return nil, &OutcomeError{Err: cause, Outcome: "the image was rolled back; nothing changed"}
	}
	if err := write(ctx, p, data, j, progress); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("inject: cancelled: %w", err))
	}
	progress(0.85, "verifying")
	vr := VerifyPlan(p)
	rep.Verify = vr
	if !vr.OK {
		return fail(fmt.Errorf("%w: %s", ErrVerify, strings.Join(vr.Problems, "; ")))
	}
	rep.Applied = true
	// The boot check re-reads the written image on its own; a red verdict
	// keeps the journal (rollback stays possible) and is the report's
	// first word.
	progress(0.95, "checking that Windows will boot")
	checkBootInto(ctx, rep, p)
	rep.Finished = time.Now().UTC()
	// The report is saved in full before the point of no return (the seal),
	// so a failure while saving it still rolls the image back.
	staged, err := rep.stage()
	if err != nil {
		return fail(err)
	}
	if err := j.Seal(); err != nil {
		staged.discard()
		return fail(fmt.Errorf("inject: finish the journal: %w", err))
	}
	if err := j.Close(); err != nil {
		slog.Warn("inject: close the sealed journal", "journal", j.JournalPath(), "err", err)
	}
	if err := staged.commit(); err != nil {
		return rep, fmt.Errorf("the drivers were injected into %s and verified, but the report could not be put beside it (%v; it is complete in %s); to undo the injection run: %s",
			p.Target, err, staged.tmp[0], rep.Rollback)
	}
	progress(1, "done")
	return rep, nil
}

// recheckTarget repeats the target checks that may have changed since the
// plan was built.
func recheckTarget(p *Plan) error {
	q := &Plan{Request: p.Request}
	preflightTarget(q)
	if len(q.Blockers) > 0 {
		return q.Refusal()
	}
	return nil
}

// loadFileData reads every file the plan writes before anything is opened
// for writing, and checks it is still what the plan hashed.
func loadFileData(p *Plan) ([][]byte, error) {
	src := p.source
	out := make([][]byte, len(p.Files))
	for i, f := range p.Files {
		b := f.Content
		if b == nil {
			if src == nil {
				s, err := OpenSource(p.DriverSet.Path)
				if err != nil {
					return nil, err
				}
				defer s.Close()
				src = s
			}
			var err error
			if b, err = src.ReadFile(f.Source); err != nil {
				return nil, fmt.Errorf("inject: driver source: %w", err)
			}
		}
		if got := sha256Of(b); got != f.SHA256 {
			return nil, fmt.Errorf("%w: %s (from %s) has sha256 %s, the plan says %s", ErrChanged, f.Path, f.Source, got, f.SHA256)
		}
		out[i] = b
	}
	return out, nil
}

func convertOutput(ctx context.Context, p *Plan, progress Progress) error {
	src, err := image.Open(p.Request.Image, disk.Options{AllowParentOutside: p.Request.AllowBackingOutside})
	if err != nil {
		return fmt.Errorf("inject: open %s: %w", p.Request.Image, err)
	}
	defer src.Close()
	progress(0, "copying the image to "+p.Target)
	err = image.Convert(ctx, src, p.Target, p.TargetFormat, func(done, total int64) {
		if total > 0 {
			progress(0.4*float64(done)/float64(total), "copying the image")
		}
	})
	if err != nil {
		return fmt.Errorf("inject: write %s: %w", p.Target, err)
	}
	return nil
}

// openVolume opens the plan's partition of img as NTFS.
func openVolume(img disk.Image, p *Plan, writable bool) (*ntfs.Volume, *partition.PartView, error) {
	tab, err := partition.Read(img, img.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("inject: partition table of %s: %w", p.Target, err)
	}
	for _, part := range tab.Partitions {
		if part.Start != p.Partition.Start || part.Size != p.Partition.Size {
			continue
		}
		view, err := partition.View(img, part)
		if err != nil {
			return nil, nil, err
		}
		vol, err := ntfs.Open(view, view.Size(), ntfs.Options{Writable: writable})
		if err != nil {
			return nil, nil, fmt.Errorf("inject: NTFS on partition %d of %s: %w", part.Index, p.Target, err)
		}
		return vol, view, nil
	}
	return nil, nil, fmt.Errorf("%w: partition at byte %d not found in %s", ErrChanged, p.Partition.Start, p.Target)
}

func write(ctx context.Context, p *Plan, data [][]byte, op disk.Opener, progress Progress) (err error) {
	opened, err := image.Open(p.Target, disk.Options{Writable: true, Opener: op, AllowParentOutside: p.Request.AllowBackingOutside})
	if errors.Is(err, disk.ErrInUse) { // Windows: another program writes or read-locks it
		return &safety.Refusal{Subject: p.Target, Reason: "another program has the image open (a running virtual machine, a backup, or a mounted disk)",
			Remedy: "shut the VM down or close that program, then try again"}
	}
	if err != nil {
		return fmt.Errorf("inject: open %s for writing: %w", p.Target, err)
	}
	var img disk.Image = opened // a new image (--output) has no journal
	if j, ok := op.(*journal.Opener); ok {
		img = j.Guest(opened) // the journal's seal notes the guest bytes written, to name them in a refused rollback
	}
	defer func() {
		if cerr := img.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("inject: close %s: %w", p.Target, cerr)
		}
	}()
	vol, _, err := openVolume(img, p, true)
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			vol.Close() // leaves the volume dirty after a failed write; the rollback restores it
		}
	}()
	for i, f := range p.Files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("inject: cancelled: %w", err)
		}
		progress(0.4+0.3*float64(i)/float64(max(len(p.Files), 1)), "writing "+f.Path)
		if k := strings.LastIndex(f.Path, `\`); k > 0 {
			if err := vol.MkdirAll(f.Path[:k]); err != nil {
				return fmt.Errorf("inject: create folder for %s: %w", f.Path, err)
			}
		}
		if err := vol.WriteFile(f.Path, data[i]); err != nil {
			return fmt.Errorf("inject: write %s: %w", f.Path, err)
		}
	}
	for i, hv := range []string{HiveSystem, HiveSoftware} {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("inject: cancelled: %w", err)
		}
		progress(0.7+0.075*float64(i), "editing the "+hv+" hive")
		if err := applyHive(vol, p, hv); err != nil {
			return err
		}
	}
	closed = true
	if err := vol.Close(); err != nil {
		return fmt.Errorf("inject: close NTFS volume: %w", err)
	}
	return nil
}

// applyHive edits one hive: reads it (replaying its logs if dirty), checks
// the values the plan replaces are still there, applies the operations,
// commits and writes it back. The committed hive has equal sequence
// numbers, so Windows ignores the old .LOG1/.LOG2 beside it.
func applyHive(vol *ntfs.Volume, p *Plan, hv string) error {
	var ops []RegOp
	for _, op := range p.Registry {
		if op.Hive == hv {
			ops = append(ops, op)
		}
	}
	if len(ops) == 0 {
		return nil
	}
	file := hivePath(p.Guest, hv)
	raw, logs, err := readHive(vol, file)
	if err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	if len(logs) == 0 {
		// Logs the user supplied from elsewhere, as planning read them.
		for _, ln := range hive.LogNames(hv) {
			if b, ok := p.hiveLogs[strings.ToUpper(ln)]; ok {
				logs = append(logs, hive.LogFile{Name: ln, Data: b})
			}
		}
	}
	h, err := hive.Open(hv, raw, logs...)
	if err != nil {
		return fmt.Errorf("inject: open %s hive: %w", hv, err)
	}
	defer h.Close()
	if err := h.Writable(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, op := range ops {
		k := regKey(hv, op.Key, op.Name)
		if op.Op == OpSet || op.Op == OpDeleteValue {
			if !seen[k] {
				seen[k] = true
				cur, gerr := h.Get(op.Key, op.Name)
				switch {
				case op.Old == nil && gerr == nil:
					return fmt.Errorf("%w: %s\\%s [%s] now exists", ErrChanged, hv, op.Key, op.Name)
				case op.Old != nil && (gerr != nil || !cur.Equal(op.Old.Value())):
					return fmt.Errorf("%w: %s\\%s [%s] no longer holds %s", ErrChanged, hv, op.Key, op.Name, op.Old.Text)
				}
			}
		}
		if err := applyOp(h, op); err != nil {
			return fmt.Errorf("inject: %s: %w", op, err)
		}
	}
	out, err := h.Commit()
	if err != nil {
		return fmt.Errorf("inject: commit %s hive: %w", hv, err)
	}
	if err := vol.WriteFile(file, out); err != nil {
		return fmt.Errorf("inject: write %s: %w", file, err)
	}
	return nil
}

// applyOp makes one registry change.
func applyOp(h *hive.Hive, op RegOp) error {
	switch op.Op {
	case OpSet:
		return h.SetValue(op.Key, op.Name, op.New.Value())
	case OpDeleteValue:
		return h.DeleteValue(op.Key, op.Name)
	case OpDeleteKey:
		return h.DeleteKey(op.Key)
	case OpCreateKey:
		return h.CreateKey(op.Key)
	}
	return fmt.Errorf("unknown operation %q", op.Op)
}
