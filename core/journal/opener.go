package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
)

// Suffix is appended to the image path to name its journal.
const Suffix = ".pvinject-journal"

// ErrJournalExists: a journal is already beside the image, so an earlier run
// did not finish; the image must be rolled back first.
var ErrJournalExists = errors.New("journal: an unfinished journal exists (an earlier run was interrupted); run `pvinject rollback IMAGE` first")

// ErrNoJournal: there is nothing to roll back.
var ErrNoJournal = errors.New("journal: no journal beside the image")

// Path is the journal file of the image at imagePath.
func Path(imagePath string) string { return imagePath + Suffix }

// Exists reports whether the image has a journal (an unfinished run).
func Exists(imagePath string) bool {
	_, err := os.Lstat(Path(imagePath))
	return err == nil
}

// Opener journals every change made through the files it opens. It is safe
// for concurrent use.
type Opener struct {
	inner disk.Opener
	path  string

	mu     sync.Mutex
	f      *os.File
	files  map[string]*fileState
	nextID uint32
	err    error // sticky: once the journal failed, nothing more is written
	done   bool
	pos    int64 // where the next record goes
	alloc  int64 // bytes of the journal file allocated (zeros past pos)
}

type fileState struct {
	id       uint32
	path     string
	origSize int64
	logged   bool // the file record is in the journal
	saved    intervals
}

// Begin creates the journal for imagePath and returns an Opener that
// journals through inner (nil: the host filesystem). It refuses with
// ErrJournalExists when a journal is already there.
func Begin(imagePath string, inner disk.Opener) (*Opener, error) {
	if inner == nil {
		inner = disk.OSOpener{}
	}
	jp := Path(imagePath)
	f, err := os.OpenFile(jp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%s: %w", imagePath, ErrJournalExists)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", jp, err)
	}
	_, err = f.Write([]byte(magic))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(jp))
	}
	if err != nil {
		f.Close()
		os.Remove(jp)
		return nil, fmt.Errorf("journal: create %s: %w", jp, err)
	}
	return &Opener{inner: inner, path: jp, f: f, files: map[string]*fileState{}, pos: int64(len(magic)), alloc: int64(len(magic))}, nil
}

// JournalPath is the journal file this Opener appends to.
func (o *Opener) JournalPath() string { return o.path }

// Open opens a host file; writable files are journaled.
func (o *Opener) Open(path string, writable bool) (disk.Backing, error) {
	b, err := o.inner.Open(path, writable)
	if err != nil || !writable {
		return b, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	st, ok := o.files[abs]
	if !ok {
		size, err := b.Size()
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("journal: size of %s: %w", path, err)
		}
		o.nextID++
		st = &fileState{id: o.nextID, path: abs, origSize: size}
		o.files[abs] = st
	}
	return wrap(&backing{Backing: b, o: o, st: st}), nil
}

// Create records the new file in the journal, then creates it.
func (o *Opener) Create(path string) (disk.Backing, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", path, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.files[abs]; ok {
		return nil, fmt.Errorf("journal: create %s: already opened in this run", path)
	}
	o.nextID++
	st := &fileState{id: o.nextID, path: abs, logged: true}
	if err := o.appendLocked(record{kind: kindCreate, id: st.id, path: abs}); err != nil {
		return nil, err
	}
	b, err := o.inner.Create(path)
	if err != nil {
		return nil, err
	}
	o.files[abs] = st
	return wrap(&backing{Backing: b, o: o, st: st}), nil
}

// appendLocked appends records and syncs the journal: after it returns nil,
// the old bytes survive a crash.
func (o *Opener) appendLocked(rs ...record) error {
	if o.err != nil {
		return o.err
	}
	if o.done {
		return fmt.Errorf("journal: %s already committed or closed", o.path)
	}
	var buf []byte
	for _, r := range rs {
		buf = append(buf, r.marshal()...)
	}
	// Records go into space allocated (as zeros) ahead of time, so that the
	// per-record sync is a data-only sync that needs no metadata update.
	// The zeros after the last record read as a torn record: the end.
	need := o.pos + int64(len(buf))
	if need > o.alloc {
		n := max(need, o.alloc+preallocStep)
		if err := preallocate(o.f, n); err != nil {
			o.err = fmt.Errorf("journal: grow %s: %w", o.path, err)
			return o.err
		}
		o.alloc = n
	}
	if _, err := o.f.WriteAt(buf, o.pos); err != nil {
		o.err = fmt.Errorf("journal: append to %s: %w", o.path, err)
		return o.err
	}
	if err := datasync(o.f); err != nil {
		o.err = fmt.Errorf("journal: sync %s: %w", o.path, err)
		return o.err
	}
	o.pos = need
	return nil
}

// preserve journals the original bytes of [a, b) of the file that are not
// journaled yet, reading them from the file (they are still original: any
// earlier change to them was journaled first).
func (o *Opener) preserve(bk disk.Backing, st *fileState, a, b int64) error {
	b = min(b, st.origSize)
	if a >= b {
		return o.logFile(st)
	}
	var rs []record
	if !st.logged {
		rs = append(rs, record{kind: kindFile, id: st.id, size: st.origSize, path: st.path})
	}
	for _, m := range st.saved.missing(a, b) {
		for off := m[0]; off < m[1]; off += maxData {
			n := min(maxData, m[1]-off)
			old := make([]byte, n)
			k, err := bk.ReadAt(old, off)
			if k < len(old) {
				// Past the current end (after a journaled shrink) there is
				// nothing left to read; those bytes are already saved.
				if err == nil || errors.Is(err, io.EOF) {
					old = old[:k]
				} else {
					return fmt.Errorf("journal: read old bytes of %s at %d: %w", st.path, off, err)
				}
			}
			if len(old) > 0 {
				rs = append(rs, record{kind: kindData, id: st.id, off: off, data: old})
			}
		}
	}
	if len(rs) == 0 {
		return nil
	}
	if err := o.appendLocked(rs...); err != nil {
		return err
	}
	st.logged = true
	st.saved.add(a, b)
	return nil
}

// logFile journals the file's original size before its first change.
func (o *Opener) logFile(st *fileState) error {
	if st.logged {
		return nil
	}
	if err := o.appendLocked(record{kind: kindFile, id: st.id, size: st.origSize, path: st.path}); err != nil {
		return err
	}
	st.logged = true
	return nil
}

// Commit ends the run successfully: the journal is closed and removed.
func (o *Opener) Commit() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return fmt.Errorf("journal: %s already committed or closed", o.path)
	}
	o.done = true
	o.f.Close()
	if err := os.Remove(o.path); err != nil {
		return fmt.Errorf("journal: commit: %w", err)
	}
	return syncDir(filepath.Dir(o.path))
}

// Close closes the journal file but keeps it, so that Rollback can undo the
// run (the path for any failure).
func (o *Opener) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done {
		return nil
	}
	o.done = true
	return o.f.Close()
}

// Commit removes the journal of the image at imagePath: the run that made it
// finished and was verified.
func Commit(imagePath string) error {
	if err := os.Remove(Path(imagePath)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%s: %w", imagePath, ErrNoJournal)
		}
		return fmt.Errorf("journal: commit %s: %w", imagePath, err)
	}
	return syncDir(filepath.Dir(imagePath))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
