package inject

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/imagelock"
)

// applyOutput writes a plan to a new image (Request.Output) without a
// journal: the image is built and verified in a temporary folder beside the
// target, synced, and only then moved into place under its final name. A
// failure at any point leaves nothing at the target; undoing a finished run
// is deleting the new image. The folder keeps the final file names, so the
// names a VMDK descriptor records for its extents stay right after the move.
func applyOutput(ctx context.Context, p *Plan, data [][]byte, rep *Report, progress Progress, inner disk.Opener) (*Report, error) {
	// Keep in-place writers of the source out while it is copied.
	src, err := imagelock.Acquire(p.Request.Image, imagelock.Shared)
	if err != nil {
		return nil, lockRefusal(p.Request.Image, err)
	}
	defer src.Release()

	dir, base := filepath.Dir(p.Target), filepath.Base(p.Target)
	tmp, err := os.MkdirTemp(dir, "."+base+stagingMark)
	if err != nil {
		return nil, fmt.Errorf("inject: create a temporary folder beside %s: %w", p.Target, err)
	}
	defer os.RemoveAll(tmp) // empty after a successful move
	q := *p
	q.Target = filepath.Join(tmp, base)
	fail := func(cause error) (*Report, error) {
		return nil, &OutcomeError{Err: cause, Outcome: fmt.Sprintf("no new image was written; %s was not changed", p.Request.Image)}
	}
	if err := convertOutput(ctx, &q, progress); err != nil {
		return fail(err)
	}
	if err := write(ctx, &q, data, inner, progress); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(fmt.Errorf("inject: cancelled: %w", err))
	}
	progress(0.85, "verifying")
	vr := VerifyPlan(&q)
	rep.Verify = vr
	if !vr.OK {
		return fail(fmt.Errorf("%w: %s", ErrVerify, strings.Join(vr.Problems, "; ")))
	}
	rep.Applied = true
	// As in place: the boot check re-reads the written image on its own,
	// and its verdict leads the report.
	progress(0.95, "checking that Windows will boot")
	checkBootInto(ctx, rep, &q)
	if err := moveInto(tmp, dir); err != nil {
		return fail(err)
	}
	rep.Finished = time.Now().UTC()
	if err := rep.Save(); err != nil {
		return rep, fmt.Errorf("%w (the new image %s is complete and verified; only its report could not be saved)", err, p.Target)
	}
	progress(1, "done")
	return rep, nil
}

// moveInto syncs every file in tmp and moves it into dir under the same
// name, never replacing a file that appeared there meanwhile, then syncs dir.
func moveInto(tmp, dir string) error {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	for _, e := range ents {
		if err := syncFile(filepath.Join(tmp, e.Name())); err != nil {
			return err
		}
	}
	var moved []string
	for _, e := range ents {
		from, to := filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())
		// link(2) fails when the name exists, where rename(2) would
		// replace it; filesystems without hard links fall back to a check.
		err := os.Link(from, to)
		if err == nil {
			err = os.Remove(from)
		} else if !errors.Is(err, os.ErrExist) {
			if _, serr := os.Lstat(to); serr == nil {
				err = os.ErrExist
			} else {
				err = os.Rename(from, to)
			}
		}
		if err != nil {
			for _, m := range moved {
				os.Remove(m)
			}
			if errors.Is(err, os.ErrExist) {
				return fmt.Errorf("inject: %s appeared while the new image was written; nothing was replaced", to)
			}
			return fmt.Errorf("inject: move the new image to %s: %w", to, err)
		}
		moved = append(moved, to)
	}
	return syncFile(dir)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("inject: sync %s: %w", path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("inject: sync %s: %w", path, err)
	}
	return nil
}

// checkBootInto runs the boot check on p's target and puts its verdict at
// the top of the report.
func checkBootInto(ctx context.Context, rep *Report, p *Plan) {
	rep.Boot = CheckBoot(ctx, p)
	rep.Attention.Boots, rep.Attention.Boot = rep.Boot.Boots(), rep.Boot.Summary
}

// stagingMark is in the name of the folder a new image is built in, beside
// where it goes ("." + its name + stagingMark + a random suffix).
const stagingMark = ".pvinject-"

// FullDisk reports whether err is a disk that ran out of space and, when
// its chain names the host file, the folder to name to the admin.
func FullDisk(err error) (folder string, ok bool) {
	full := false
	for _, e := range diskFullErrnos {
		full = full || errors.Is(err, e)
	}
	if !full {
		return "", false
	}
	if p := hostPath(err); p != "" {
		return userFolder(p), true
	}
	return "", true
}

// FullDiskWhere is FullDisk in the words told to an admin: "the disk
// holding DIR", or "the disk" when the error names no host file.
func FullDiskWhere(err error) (where string, ok bool) {
	dir, ok := FullDisk(err)
	switch {
	case !ok:
		return "", false
	case dir == "":
		return "the disk", true
	}
	return "the disk holding " + dir, true
}

// hostPath is the first absolute path of a file operation in err's chain:
// the host file a write failed on (the chain also holds paths inside the
// guest's NTFS, which are relative).
func hostPath(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && filepath.IsAbs(pe.Path) {
		return pe.Path
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		if next := u.Unwrap(); next != nil {
			return hostPath(next)
		}
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			if p := hostPath(e); p != "" {
				return p
			}
		}
	}
	return ""
}

// userFolder is the folder to name to an admin for a host file pvinject
// wrote: the new image's folder for a file in its staging folder, else the
// file's own folder.
func userFolder(path string) string {
	dir := filepath.Dir(path)
	if b := filepath.Base(dir); strings.HasPrefix(b, ".") && strings.Contains(b, stagingMark) {
		return filepath.Dir(dir)
	}
	return dir
}
