package hive

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrNeedsReplay is returned by OpenLazy for a hive that cannot be read in
// place: it is dirty (its header sequence numbers differ, or its header
// checksum is wrong), so its latest state is only reached by replaying its
// transaction logs into the whole file. Open it with OpenReadOnly instead.
var ErrNeedsReplay = errors.New("hive: dirty hive, open it whole to replay its transaction logs")

// Lazy is a read-only view of a clean hive that reads only the cells its
// lookups touch, through an io.ReaderAt over the hive file. It answers
// KeyExists, Get, Values and Subkeys as Hive does; unlike Open, it does not
// check the whole hive's structure up front, so damage in cells it never
// reaches goes unseen, and damage in those it reaches is reported by the
// call that reaches it. A Lazy is safe for concurrent use; calls are
// serialized.
type Lazy struct {
	mu     sync.Mutex
	name   string
	r      *reader
	closed bool
}

// OpenLazy reads and checks the base block of the hive file behind ra
// (size bytes long) and returns a lazy reader over it. name labels errors.
// A dirty hive gives an error wrapping ErrNeedsReplay: never read a dirty
// hive in place, its logs hold changes the file lacks.
func OpenLazy(name string, ra io.ReaderAt, size int64) (*Lazy, error) {
	hdr := make([]byte, baseBlockSize)
	if size < baseBlockSize {
		// Too short to be anything but garbage: let the base block parser
		// name what it is (not a hive, truncated, Win9x).
		hdr = hdr[:max(size, 0)]
	}
	if err := readFullAt(ra, hdr, 0); err != nil {
		return nil, fmt.Errorf("hive %s: reading the base block: %w", name, err)
	}
	bb, err := parseBaseBlock(name, hdr)
	if err != nil {
		return nil, err
	}
	if bb.Seq1 != bb.Seq2 || !bb.ChecksumOK {
		return nil, fmt.Errorf("hive %s: sequence numbers %d and %d, checksum right: %t: %w",
			name, bb.Seq1, bb.Seq2, bb.ChecksumOK, ErrNeedsReplay)
	}
	switch {
	case bb.Major != 1 || bb.Minor < 2 || bb.Minor > 6:
		return nil, formatErr(name, offMajor, "base block", ErrCorrupt,
			"hive format version %d.%d is not supported (want 1.2 to 1.6)", bb.Major, bb.Minor)
	case size < baseBlockSize:
		return nil, formatErr(name, 0, "base block", ErrTruncated, "file is %d bytes, a base block alone is %d", size, baseBlockSize)
	case bb.FileType != fileTypePrimary:
		return nil, formatErr(name, offFileType, "base block", ErrNotHive, "file type %d: this is a transaction log, not a primary hive file", bb.FileType)
	case bb.HbinsSize == 0 || bb.HbinsSize%binAlign != 0 || bb.HbinsSize > maxHiveSize:
		return nil, formatErr(name, offHbinsSize, "base block", ErrCorrupt, "hive bins size 0x%x is not a non-zero multiple of 4096", bb.HbinsSize)
	case int64(baseBlockSize)+int64(bb.HbinsSize) > size:
		return nil, formatErr(name, offHbinsSize, "base block", ErrTruncated,
			"header says %d bytes of hive bins, file has %d", bb.HbinsSize, size-baseBlockSize)
	}
	r := &reader{name: name, minor: bb.Minor, root: bb.RootCell, pages: newPageCache(ra, bb.HbinsSize)}
	// The first bin's header and the root key are read by every lookup;
	// checking them now turns "not a hive inside" into an error at open.
	hb, err := r.pages.read(0, hbinHeaderSize)
	if err != nil {
		return nil, fmt.Errorf("hive %s: %w", name, err)
	}
	if string(hb[:4]) != "hbin" {
		return nil, r.err(0, "hbin", ErrCorrupt, "missing hbin signature")
	}
	if _, err := r.nk(r.root); err != nil {
		return nil, err
	}
	return &Lazy{name: name, r: r}, nil
}

// lazyCell is cell for a reader over a pageCache: the same checks, with
// the cell's bytes read on demand.
func (r *reader) lazyCell(off uint32, st string) ([]byte, error) {
	size := r.pages.size
	if off == noOffset || uint64(off)+4 > uint64(size) {
		return nil, r.err(off, st, ErrCorrupt, "cell offset out of range")
	}
	h, err := r.pages.read(off, 4)
	if err != nil {
		return nil, fmt.Errorf("hive %s: %s at 0x%x: %w", r.name, st, baseBlockSize+int64(off), err)
	}
	sz := int32(uint32(h[0]) | uint32(h[1])<<8 | uint32(h[2])<<16 | uint32(h[3])<<24)
	if sz >= 0 {
		return nil, r.err(off, st, ErrCorrupt, "points at an unallocated cell")
	}
	n := uint64(-int64(sz))
	if n < 8 || uint64(off)+n > uint64(size) {
		return nil, r.err(off, st, ErrCorrupt, "cell size %d out of range", sz)
	}
	if n > maxValueDataLen+8 {
		return nil, r.err(off, st, ErrTooLarge, "cell of %d bytes", n)
	}
	c, err := r.pages.read(off+4, uint32(n-4))
	if err != nil {
		return nil, fmt.Errorf("hive %s: %s at 0x%x: %w", r.name, st, baseBlockSize+int64(off), err)
	}
	return c, nil
}

func (l *Lazy) lookup(path string) (nkRecord, error) {
	if l.closed {
		return nkRecord{}, ErrClosed
	}
	k, ok, err := l.r.lookup(splitPath(path))
	if err != nil {
		return nkRecord{}, fmt.Errorf("hive %s: key %q: %w", l.name, path, err)
	}
	if !ok {
		return nkRecord{}, l.notFound(fmt.Sprintf("key %q", path))
	}
	return k, nil
}

func (l *Lazy) notFound(what string) error {
	return fmt.Errorf("hive %s: %s: %w", l.name, what, ErrNotFound)
}

// KeyExists reports whether the key at path exists.
func (l *Lazy) KeyExists(path string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.lookup(path)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Get returns one value of a key; "" names the default value. Missing keys
// or values give an error matching ErrNotFound.
func (l *Lazy) Get(path, name string) (Value, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := l.lookup(path)
	if err != nil {
		return Value{}, err
	}
	v, ok, err := l.r.value(k, name)
	if err != nil {
		return Value{}, fmt.Errorf("hive %s: key %q: %w", l.name, path, err)
	}
	if !ok {
		return Value{}, l.notFound(fmt.Sprintf("value %q in key %q", name, path))
	}
	return v, nil
}

// Values returns all values of a key in stored order.
func (l *Lazy) Values(path string) ([]NamedValue, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := l.lookup(path)
	if err != nil {
		return nil, err
	}
	vs, err := l.r.valueRecords(k)
	if err != nil {
		return nil, fmt.Errorf("hive %s: key %q: %w", l.name, path, err)
	}
	out := make([]NamedValue, 0, len(vs))
	for _, v := range vs {
		d, err := l.r.data(v)
		if err != nil {
			return nil, fmt.Errorf("hive %s: key %q: %w", l.name, path, err)
		}
		out = append(out, NamedValue{Name: decodeName(v.rawName, v.compName), Value: Value{Type: v.typ, Data: d}})
	}
	return out, nil
}

// Subkeys returns the names of a key's direct subkeys, in stored order.
func (l *Lazy) Subkeys(path string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, err := l.lookup(path)
	if err != nil {
		return nil, err
	}
	offs, err := l.r.subkeys(k)
	if err != nil {
		return nil, fmt.Errorf("hive %s: key %q: %w", l.name, path, err)
	}
	out := make([]string, 0, len(offs))
	for _, o := range offs {
		c, err := l.r.nk(o)
		if err != nil {
			return nil, fmt.Errorf("hive %s: key %q: %w", l.name, path, err)
		}
		out = append(out, c.name())
	}
	return out, nil
}

// BytesRead is how many bytes of the hive file have been read so far.
func (l *Lazy) BytesRead() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return baseBlockSize + l.r.pages.bytesRead
}

// Close drops the cached pages. It does not close the ReaderAt, which
// OpenLazy did not open. Close is idempotent.
func (l *Lazy) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.r.pages.drop()
	return nil
}
