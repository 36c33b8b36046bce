package journal

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/internal/hostfile"
)

// Change is one thing that differs from what the journaled run left: a
// host file, or a byte range of it, was changed by someone else since.
type Change struct {
	File       string
	Off, End   int64  // host byte range [Off, End); End 0 when the whole file is meant
	What       string // in words: "changed", "no longer exists", ...
	Created    bool   // the file was created by the run
	WholeFile  bool
	DataChange bool // bytes in [Off, End) differ (the others are size, existence, time)
}

func (c Change) String() string {
	if c.DataChange {
		return fmt.Sprintf("bytes at offset %d..%d of %s changed after pvinject wrote them", c.Off, c.End-1, c.File)
	}
	return fmt.Sprintf("%s %s", c.File, c.What)
}

// ChangedError: files the journal would restore changed since the run, so
// restoring its old bytes would mix two states of the disk. Nothing was
// restored and the journal was kept.
type ChangedError struct {
	Journal  string
	Changes  []Change
	Finished bool // the run had finished (sealed); else it was interrupted
	// Guest is what the run wrote of the virtual disk, as offset and
	// length pairs (sealed journals of runs that wrote through Guest).
	Guest [][2]int64
}

func (e *ChangedError) Error() string {
	var b strings.Builder
	if e.Finished {
		fmt.Fprintf(&b, "%d part(s) of the image changed after pvinject injected it", len(e.Changes))
	} else {
		fmt.Fprintf(&b, "%d file(s) of the image changed after pvinject's interrupted run", len(e.Changes))
	}
	for _, c := range e.Changes {
		b.WriteString("; ")
		b.WriteString(c.String())
	}
	b.WriteString("; nothing was restored and the journal was kept")
	return b.String()
}

// Options control a rollback.
type Options struct {
	// Force restores even when files changed since the run (the caller has
	// shown the ChangedError's list first).
	Force bool
	// Opener opens the files to restore (nil: the host filesystem); tests
	// inject faults here. It is only ever asked to open existing files.
	Opener disk.Opener
}

// Result says what a rollback did.
type Result struct {
	Files    int   // files restored or removed
	Bytes    int64 // old bytes written back
	Finished bool  // the journal was of a finished run
	Forced   []Change
}

// Untouched reports whether the run had written nothing, so the rollback
// restored nothing.
func (r *Result) Untouched() bool { return r.Files == 0 }

// unfinishedSlack is how much later than the journal an interrupted run's
// file may have been modified and still count as written by that run. The
// Opener refreshes the journal's time at least every heartbeat while it
// writes without appending (heartbeat in backing.go), so a later time means
// another writer.
const unfinishedSlack = 2 * time.Minute

// Rollback restores every file the journaled run changed to its state
// before the run, byte for byte, then removes the journal. It refuses,
// restoring nothing and keeping the journal, when the journal fails its
// checks (*DamagedError) or a file changed since the run (*ChangedError).
// It is safe to run again after an interruption.
func Rollback(imagePath string) error {
	_, err := RollbackWith(imagePath, Options{})
	return err
}

// RollbackWith is Rollback with options.
func RollbackWith(imagePath string, opt Options) (*Result, error) {
	jp := Path(imagePath)
	st, err := os.Lstat(jp)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", imagePath, ErrNoJournal)
	}
	if err == nil && !st.Mode().IsRegular() {
		// pvinject writes its journal as a regular file, never anything
		// else; a FIFO would read as empty, a folder would not open, and a
		// link could lead anywhere: say what is there instead.
		return nil, &DamagedError{Image: imagePath, Journal: jp, Reason: "it is " + hostfile.Kind(st.Mode()) + ", not a file that pvinject writes"}
	}
	f, err := os.OpenFile(jp, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", jp, err)
	}
	defer f.Close()
	j, err := readJournal(f, jp)
	var de *DamagedError
	if errors.As(err, &de) {
		de.Image = imagePath
	}
	if err != nil {
		return nil, err
	}
	changes, err := j.check()
	if err != nil {
		return nil, fmt.Errorf("journal: check %s against %s: %w", imagePath, jp, err)
	}
	res := &Result{Finished: j.sealed}
	if len(changes) > 0 {
		if !opt.Force {
			return nil, &ChangedError{Journal: jp, Changes: changes, Finished: j.sealed, Guest: j.guest}
		}
		res.Forced = changes
	}
	if j.hdr.flags&flagRestoring == 0 {
		// Marked before the first old byte goes back, so that a rollback cut
		// off half-way is recognised and accepted by the next one.
		h := j.hdr
		h.flags |= flagRestoring
		_, err := f.WriteAt(h.marshal(), 0)
		if err == nil {
			err = datasync(f)
		}
		if err != nil {
			return nil, fmt.Errorf("journal: mark %s as being restored: %w", jp, err)
		}
	}
	opener := opt.Opener
	if opener == nil {
		opener = disk.OSOpener{}
	}
	if err := j.apply(f, opener, res); err != nil {
		return nil, fmt.Errorf("journal: rollback %s: %w (the journal %s is kept; fix the cause and run the rollback again)", imagePath, err, jp)
	}
	f.Close()
	if err := os.Remove(jp); err != nil {
		return nil, fmt.Errorf("journal: rollback %s: remove journal: %w", imagePath, err)
	}
	return res, syncDir(filepath.Dir(jp))
}

// check compares the files with what the run left. A sealed journal holds
// the SHA-256 of every piece the run wrote, taken after it verified: each
// must still match. An unsealed journal has no such hashes, and neither is
// a half-restored file comparable to them (a piece can hold old bytes of
// some records and new bytes of others); see checkUnfinished for both.
func (j *journalFile) check() ([]Change, error) {
	if !j.sealed || j.hdr.flags&flagRestoring != 0 {
		return j.checkUnfinished(), nil
	}
	var out []Change
	for _, s := range j.seal {
		path := j.paths[s.id]
		size, err := fileSize(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			out = append(out, Change{File: path, What: "no longer exists", Created: j.created[s.id], WholeFile: true})
			continue
		case errors.Is(err, errNotFile):
			out = append(out, Change{File: path, What: "is no longer a file or a disk", WholeFile: true})
			continue
		case err != nil:
			return nil, err
		}
		if size != s.size {
			out = append(out, Change{File: path, What: fmt.Sprintf("changed size from %d to %d bytes", s.size, size), WholeFile: true})
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		var bad [][2]int64
		for _, c := range s.chunks {
			cur := make([]byte, c.n)
			if _, err := f.ReadAt(cur, c.off); err != nil {
				f.Close()
				return nil, fmt.Errorf("read %s at %d: %w", path, c.off, err)
			}
			if sha256.Sum256(cur) == c.sum {
				continue
			}
			if k := len(bad); k > 0 && bad[k-1][1] == c.off {
				bad[k-1][1] = c.off + c.n
			} else {
				bad = append(bad, [2]int64{c.off, c.off + c.n})
			}
		}
		f.Close()
		for _, r := range bad {
			out = append(out, Change{File: path, Off: r[0], End: r[1], What: "changed", Created: j.created[s.id], DataChange: true})
		}
	}
	return out, nil
}

// checkUnfinished judges the journal of a run that never finished (it was
// killed, the machine lost power, or it failed and could not roll itself
// back), and of a rollback that never finished. The first has no hashes of
// what the run wrote (it never reached the point where its writes were
// complete and verified); in the second, files hold a mix of old and new
// bytes that no hash describes, and the rollback that was cut off checked
// them before it wrote anything. So the bytes cannot be compared. What can
// be checked:
//   - every file the run changed still exists (old bytes cannot be put back
//     into a file that was deleted, and rollback never creates one);
//   - no file was modified clearly after the run stopped. The journal file's
//     modification time is the run's last sign of life: every record append
//     updates it, and the Opener refreshes it while it writes without
//     appending. A file modified more than unfinishedSlack later was written
//     by someone else (a guest booted on the half-injected image, a second
//     tool), and restoring old bytes under those writes would corrupt it.
//     A rollback refreshes the journal's time the same way while it writes.
//
// Within that slack, nobody else is assumed to have written: an interrupted
// image is not a bootable state a user should start, inject refuses to run
// over the journal, and this matches the crash campaign (kill at every
// write, rollback right after) that must restore byte for byte.
func (j *journalFile) checkUnfinished() []Change {
	who := "the interrupted run"
	if j.hdr.flags&flagRestoring != 0 {
		who = "the interrupted rollback"
	}
	var out []Change
	ids := make([]uint32, 0, len(j.paths))
	for id := range j.paths {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	for _, id := range ids {
		path := j.paths[id]
		fi, err := os.Stat(path)
		if err != nil {
			if !j.created[id] {
				out = append(out, Change{File: path, What: "no longer exists", WholeFile: true})
			}
			continue
		}
		if !fi.Mode().IsRegular() && fi.Mode()&os.ModeDevice == 0 {
			out = append(out, Change{File: path, What: "is no longer a file or a disk", WholeFile: true})
			continue
		}
		if late := fi.ModTime().Sub(j.mtime); late > unfinishedSlack {
			out = append(out, Change{File: path, WholeFile: true, Created: j.created[id],
				What: fmt.Sprintf("was modified at %s, %s after %s last wrote", fi.ModTime().Format(time.DateTime), late.Round(time.Second), who)})
		}
	}
	return out
}

// apply undoes the entries newest first, so the oldest copy of a byte, its
// original value, is what remains.
func (j *journalFile) apply(jf *os.File, opener disk.Opener, res *Result) error {
	open := map[uint32]disk.Backing{}
	defer func() {
		for _, f := range open {
			f.Close()
		}
	}()
	file := func(id uint32) (disk.Backing, error) {
		if f, ok := open[id]; ok {
			return f, nil
		}
		// Never created here: a missing file was reported by check, and a
		// rollback must not leave a new file where there was none.
		f, err := opener.Open(j.paths[id], true)
		if err != nil {
			return nil, err
		}
		open[id] = f
		return f, nil
	}
	beat := time.Now()
	for i := len(j.entries) - 1; i >= 0; i-- {
		if time.Since(beat) > heartbeat {
			beat = time.Now()
			touch(j.path)
		}
		e := j.entries[i]
		switch e.kind {
		case kindData:
			old := make([]byte, e.dataN)
			if _, err := jf.ReadAt(old, e.dataAt); err != nil && !errors.Is(err, io.EOF) {
				return err
			}
			f, err := file(e.id)
			if errors.Is(err, os.ErrNotExist) {
				continue // check reported it; only a forced rollback gets here
			}
			if err != nil {
				return err
			}
			if _, err := f.WriteAt(old, e.off); err != nil {
				// pvinject's writes into a sparse image's holes took the
				// disk's last free space; writing the zeros back would need
				// it again. Punching the holes back restores the same bytes
				// without any (docs/JOURNAL.md, "A full disk").
				if !errors.Is(err, syscall.ENOSPC) || restoreSparse(f, old, e.off) != nil {
					return fmt.Errorf("restore %s at %d: %w", f.Name(), e.off, err)
				}
			}
			res.Bytes += e.dataN
		case kindFile:
			f, err := file(e.id)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			if err := f.Truncate(e.size); err != nil {
				return fmt.Errorf("restore size of %s: %w", f.Name(), err)
			}
			res.Files++
		case kindCreate:
			if f, ok := open[e.id]; ok {
				f.Close()
				delete(open, e.id)
			}
			err := os.Remove(e.path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove created %s: %w", e.path, err)
			}
			res.Files++
		}
	}
	for _, f := range open {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync %s: %w", f.Name(), err)
		}
	}
	return nil
}

var errNotFile = errors.New("neither a regular file nor a device")

// fileSize is the size of a regular file or a block device (whose Stat
// size is 0), following symbolic links as the run's writes did.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	if fi.Mode()&os.ModeDevice == 0 {
		return 0, errNotFile
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Seek(0, io.SeekEnd)
}

// touch sets the journal's modification time to now: a sign of life for
// checkUnfinished.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now) // best effort: only a heuristic relies on it
}

// restoreSparse writes old back at off block by block, punching a hole for
// each block of zeros instead of writing it: a block that was a hole before
// pvinject wrote it is a hole again, and a block that held data was
// allocated and is overwritten in place, so no free space is needed.
func restoreSparse(f disk.Backing, old []byte, off int64) error {
	const block = 4096
	for pos := int64(0); pos < int64(len(old)); {
		n := min(block-(off+pos)%block, int64(len(old))-pos)
		chunk := old[pos : pos+n]
		var err error
		if allZero(chunk) {
			err = punchHole(f, off+pos, n)
		} else {
			_, err = f.WriteAt(chunk, off+pos)
		}
		if err != nil {
			return err
		}
		pos += n
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
