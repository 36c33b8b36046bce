package journal

import (
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

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

	mu      sync.Mutex
	f       *os.File
	files   map[string]*fileState
	nextID  uint32
	err     error // sticky: once the journal failed, nothing more is written
	done    bool
	sealed  bool
	pos     int64 // where the next record goes
	alloc   int64 // bytes of the journal file allocated (zeros past pos)
	seq     uint32
	guestMu sync.Mutex
	guest   intervals // guest bytes written through Guest
	// touched is when the journal's modification time was last refreshed
	// (see heartbeat).
	touched time.Time
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
	f, err := createJournal(jp)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%s: %w", imagePath, ErrJournalExists)
	}
	if err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", jp, err)
	}
	return &Opener{inner: inner, path: jp, f: f, files: map[string]*fileState{}, pos: headerSize, alloc: headerSize, touched: time.Now()}, nil
}

// createJournal makes the journal file with its header complete and synced
// before it appears under its name: it is written under a temporary name
// and hard-linked into place (link fails if the name exists, like O_EXCL).
// So a journal at its name always has a readable header, and a short or
// empty one is damage, never a run cut off at its start. Where hard links
// are not supported the journal is created in place, header first.
func createJournal(jp string) (*os.File, error) {
	tmp := fmt.Sprintf("%s.%d.new", jp, os.Getpid())
	os.Remove(tmp) // a leftover of a killed run with the same pid
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp)
	head := append(header{alloc: headerSize}.marshal(), make([]byte, headerSize-headerLen)...)
	_, err = f.Write(head)
	if err == nil {
		err = f.Sync()
	}
	linked := false
	if err == nil {
		err = os.Link(tmp, jp)
		linked = err == nil
		if err != nil && !errors.Is(err, os.ErrExist) {
			f.Close()
			return createInPlace(jp, head)
		}
	}
	if err == nil {
		err = syncDir(filepath.Dir(jp))
	}
	if err != nil {
		f.Close()
		if linked {
			os.Remove(jp)
		}
		return nil, err
	}
	return releaseTemp(f, tmp, jp)
}

func createInPlace(jp string, head []byte) (*os.File, error) {
	f, err := os.OpenFile(jp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(head)
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(jp))
	}
	if err != nil {
		f.Close()
		os.Remove(jp)
		return nil, err
	}
	return f, nil
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
	// Checked before the record goes in: a rollback deletes what the
	// journal says was created, and must never delete a file that was there.
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("journal: create %s: %w", path, os.ErrExist)
	}
	o.nextID++
	st := &fileState{id: o.nextID, path: abs, logged: true}
	if err := o.appendLocked(record{kind: kindCreate, id: st.id, path: abs}); err != nil {
		return nil, err
	}
	b, err := o.inner.Create(path)
	if err != nil {
		// The record is in: the run cannot be sealed and must roll back.
		o.err = fmt.Errorf("journal: create %s: %w", path, err)
		return nil, o.err
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
	if rs[len(rs)-1].kind != kindSeal {
		rs = append(rs, record{kind: kindEnd})
	}
	var buf []byte
	for i, r := range rs {
		r.seq = o.seq + uint32(i)
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
		// Only once the zeros are allocated and synced does the header say
		// so: a journal shorter than its header's size was cut short.
		if err := o.writeHeader(header{alloc: n}); err != nil {
			return err
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
	o.seq += uint32(len(rs))
	o.touched = time.Now()
	return nil
}

// writeHeader rewrites the header (one sector) and syncs it.
func (o *Opener) writeHeader(h header) error {
	_, err := o.f.WriteAt(h.marshal(), 0)
	if err == nil {
		err = datasync(o.f)
	}
	if err != nil {
		o.err = fmt.Errorf("journal: update the header of %s: %w", o.path, err)
	}
	return o.err
}

// heartbeat bounds how long the Opener writes to the files without the
// journal's modification time moving (checkUnfinished relies on it).
const heartbeat = 5 * time.Second

// alive refreshes the journal's modification time when a write did not
// append (growing a file, rewriting bytes already saved) for a while.
func (o *Opener) alive() {
	if time.Since(o.touched) > heartbeat {
		o.touched = time.Now()
		touch(o.path)
	}
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

// sealChunk is the largest piece of a file one seal hash covers, so that a
// refused rollback can say where a file changed: 4 KiB, the usual NTFS
// cluster, costs 48 bytes of seal per 4 KiB written (1.2%).
const sealChunk = 4 << 10

// Seal marks the run finished: every write is complete and verified. It
// appends the seal record, with the size of each file the run changed and
// the SHA-256 of every piece the run wrote (the bytes a rollback would
// overwrite or cut off, as they are now), then marks the header sealed with
// the number of records and the journal's length. From then on a rollback
// restores only if all of it still matches (Rollback). Call it after the
// files are closed; nothing may be written through the Opener afterwards.
func (o *Opener) Seal() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil {
		return o.err
	}
	if o.done || o.sealed {
		return fmt.Errorf("journal: %s already sealed, committed or closed", o.path)
	}
	var sf []sealFile
	for _, st := range o.files {
		if !st.logged {
			continue
		}
		s, err := sealOf(st)
		if err != nil {
			return fmt.Errorf("journal: seal %s: %w", o.path, err)
		}
		sf = append(sf, s)
	}
	slices.SortFunc(sf, func(a, b sealFile) int { return cmp.Compare(a.id, b.id) })
	if err := o.appendLocked(record{kind: kindSeal, seal: sf, guest: o.guestRanges()}); err != nil {
		return err
	}
	if err := o.writeHeader(header{flags: flagSealed, alloc: o.alloc, count: int64(o.seq), end: o.pos}); err != nil {
		return err
	}
	o.sealed = true
	// The zeros allocated ahead are not needed any more; a sealed journal
	// is checked against its header's end, so cutting them is safe at any
	// moment.
	if err := o.f.Truncate(o.pos); err == nil {
		_ = o.f.Sync()
	}
	return nil
}

// sealOf hashes what the run left in one file: every range whose old bytes
// are saved and, when it grew, everything past its original size (the part
// a rollback cuts off).
func sealOf(st *fileState) (sealFile, error) {
	f, err := os.Open(st.path)
	if err != nil {
		return sealFile{}, err
	}
	defer f.Close()
	size, err := fileSize(st.path)
	if err != nil {
		return sealFile{}, err
	}
	s := sealFile{id: st.id, size: size}
	ranges := append([][2]int64(nil), st.saved...)
	if s.size > st.origSize {
		ranges = append(ranges, [2]int64{st.origSize, s.size})
	}
	buf := make([]byte, sealChunk)
	for _, r := range ranges {
		for off := r[0]; off < min(r[1], s.size); {
			end := min(r[1], s.size, (off/sealChunk+1)*sealChunk)
			b := buf[:end-off]
			if _, err := f.ReadAt(b, off); err != nil {
				return sealFile{}, fmt.Errorf("read %s at %d: %w", st.path, off, err)
			}
			s.chunks = append(s.chunks, chunk{off: off, n: end - off, sum: sha256.Sum256(b)})
			off = end
		}
	}
	return s, nil
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
