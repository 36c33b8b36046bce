package qcow2

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/internal/lru"
)

// Format is the qcow2 container.
var Format = disk.Format{
	Name:   "qcow2",
	Probe:  Probe,
	Open:   Open,
	Create: Create,
}

// Probe reports a qcow2 magic and a version this package knows.
func Probe(head []byte, size int64) bool {
	if len(head) < 8 || string(head[:4]) != magic {
		return false
	}
	v := binary.BigEndian.Uint32(head[4:])
	return v == 2 || v == 3
}

// metadata cache budget, in bytes, for each of the L2 and refcount caches.
const cacheBytes = 8 << 20

// Image is an open qcow2 image.
type Image struct {
	path     string
	b        disk.Backing
	owned    bool // b was created by Create and is closed by Close
	h        *header
	cs       int64 // cluster size
	bits     uint32
	l2n      int64 // entries per L2 table
	writable bool
	parent   disk.Image

	mu       sync.Mutex // guards everything below
	l1       []uint64
	l2cache  *lru.Cache[[]uint64]
	rbcache  *lru.Cache[[]byte]
	refTable []uint64
	zcache   *lru.Cache[[]byte] // decompressed compressed clusters, by L2 entry
	fileEnd  int64              // next free host offset, cluster aligned
	prepared bool               // first-write header fixes done
	err      error              // sticky write error
	closed   bool
}

var (
	_ disk.Image     = (*Image)(nil)
	_ disk.Describer = (*Image)(nil)
	_ disk.Mapper    = (*Image)(nil)
)

func (m *Image) ferr(structure string, off int64, reason string, err error) error {
	return &disk.FormatError{File: m.path, Format: "qcow2", Structure: structure, Offset: off, Reason: reason, Err: err}
}

// Open opens the qcow2 image in b. The parent (backing file), if any, is
// opened through opts.OpenParent; Close does not close b or the parent.
func Open(path string, b disk.Backing, opts disk.Options) (disk.Image, error) {
	return open(path, b, opts, false)
}

func open(path string, b disk.Backing, opts disk.Options, owned bool) (*Image, error) {
	fsize, err := b.Size()
	if err != nil {
		return nil, fmt.Errorf("qcow2: size of %s: %w", path, err)
	}
	m := &Image{path: path, b: b, owned: owned, writable: opts.Writable}
	head := make([]byte, min(fsize, 1<<maxClusterBits))
	if _, err := readFullAt(b, head, 0); err != nil {
		return nil, fmt.Errorf("qcow2: read header of %s: %w", path, err)
	}
	h, err := parseHeader(head)
	if err != nil {
		var he *headerError
		if errors.As(err, &he) {
			return nil, m.ferr(he.structure, he.offset, he.reason, nil)
		}
		return nil, err
	}
	m.h, m.bits, m.cs, m.l2n = h, h.clusterBits, int64(1)<<h.clusterBits, int64(1)<<(h.clusterBits-3)
	if err := m.checkFeatures(); err != nil {
		return nil, err
	}
	if uint64(fsize) < h.l1Offset+uint64(h.l1Size)*8 {
		return nil, m.ferr("L1 table", int64(min(h.l1Offset, 1<<62)), fmt.Sprintf("%d entries run past the end of the %d-byte file", h.l1Size, fsize), nil)
	}
	if uint64(fsize) < h.refTableOffset+uint64(h.refTableClusts)*uint64(m.cs) {
		return nil, m.ferr("refcount table", int64(min(h.refTableOffset, 1<<62)), fmt.Sprintf("%d clusters run past the end of the %d-byte file", h.refTableClusts, fsize), nil)
	}
	if m.l1, err = m.readTable(int64(h.l1Offset), int(h.l1Size), "L1 table"); err != nil {
		return nil, err
	}
	if m.refTable, err = m.readTable(int64(h.refTableOffset), int(int64(h.refTableClusts)*m.cs/8), "refcount table"); err != nil {
		return nil, err
	}
	ncache := max(16, cacheBytes/int(m.cs))
	m.l2cache, m.rbcache, m.zcache = lru.New[[]uint64](ncache), lru.New[[]byte](ncache), lru.New[[]byte](4)
	m.fileEnd = (fsize + m.cs - 1) &^ (m.cs - 1)
	if h.backingFile != "" {
		if opts.OpenParent == nil {
			return nil, fmt.Errorf("qcow2: %s has backing file %q but no way to open parents was given", path, h.backingFile)
		}
		p, err := opts.OpenParent(h.backingFile, path)
		if err != nil {
			return nil, fmt.Errorf("qcow2: %s: open backing file %q: %w", path, h.backingFile, err)
		}
		m.parent = p
	}
	return m, nil
}

// checkFeatures applies the feature policy: refuse what cannot be read
// correctly, and refuse writes that could damage the image.
func (m *Image) checkFeatures() error {
	h := m.h
	if h.cryptMethod != 0 || h.hasCryptoExt {
		return m.ferr("header", 32, fmt.Sprintf("encrypted images (crypt_method %d) are not supported; decrypt with `qemu-img convert --object secret,... --image-opts` first", h.cryptMethod), nil)
	}
	if unk := h.incompatible &^ incKnown; unk != 0 {
		for bit := uint(0); bit < 64; bit++ {
			if unk&(1<<bit) != 0 {
				return m.ferr("header", offIncompatible, fmt.Sprintf("unsupported incompatible feature %q (bit %d)", h.featureName(bit), bit), nil)
			}
		}
	}
	if h.incompatible&incDataFile != 0 || h.dataFile != "" {
		return m.ferr("header", offIncompatible, fmt.Sprintf("external data file %q is not supported; flatten with `qemu-img convert` first", h.dataFile), nil)
	}
	if h.incompatible&incExtendedL2 != 0 {
		return m.ferr("header", offIncompatible, "extended L2 entries (subclusters) are not supported; convert with `qemu-img convert -O qcow2` first", nil)
	}
	if h.incompatible&incCompressType != 0 && h.compressionType != 0 {
		return m.ferr("header", 104, fmt.Sprintf("compression type %d (zstd) is not supported, only zlib; convert with `qemu-img convert -O qcow2` first", h.compressionType), nil)
	}
	if !m.writable {
		return nil
	}
	switch {
	case h.incompatible&incCorrupt != 0:
		return m.ferr("header", offIncompatible, "image is marked corrupt and must not be written; repair it with `qemu-img check -r all` or write the result to a new image with --output", nil)
	case h.incompatible&incDirty != 0 && h.compatible&compatLazyRefcounts != 0:
		return m.ferr("header", offIncompatible, "image is dirty (lazy refcounts not written back after a crash); run `qemu-img check -r all` on it first", nil)
	case h.incompatible&incDirty != 0:
		return m.ferr("header", offIncompatible, "image is marked dirty (refcounts may be wrong); run `qemu-img check -r all` on it first", nil)
	case h.hasBitmaps:
		// Clearing the autoclear bit would orphan the bitmap clusters
		// (leaks for qemu-img check); keeping it would leave stale bitmaps.
		return fmt.Errorf("qcow2: %s has persistent dirty bitmaps, which pvinject cannot keep up to date; remove them with `qemu-img bitmap --remove` first: %w", m.path, disk.ErrReadOnlyFormat)
	case h.nbSnapshots != 0:
		return fmt.Errorf("qcow2: %s has %d internal snapshots: %w", m.path, h.nbSnapshots, disk.ErrReadOnlyFormat)
	}
	return nil
}

// readTable reads n big-endian uint64 entries at off.
func (m *Image) readTable(off int64, n int, what string) ([]uint64, error) {
	buf := make([]byte, n*8)
	if _, err := readFullAt(m.b, buf, off); err != nil {
		return nil, m.ferr(what, off, "cannot be read", err)
	}
	t := make([]uint64, n)
	for i := range t {
		t[i] = binary.BigEndian.Uint64(buf[i*8:])
	}
	return t, nil
}

// readFullAt reads len(p) bytes; io.EOF after a full read is not an error.
func readFullAt(r io.ReaderAt, p []byte, off int64) (int, error) {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// Size is the virtual size.
func (m *Image) Size() int64 { return int64(m.h.size) }

// Info describes the image.
func (m *Image) Info() disk.Info {
	sub := "v3"
	if m.h.version == 2 {
		sub = "v2"
	}
	return disk.Info{
		Format:      "qcow2",
		Subformat:   sub,
		VirtualSize: int64(m.h.size),
		Files:       []string{m.path},
		Parent:      m.h.backingFile,
		ReadOnly:    m.h.nbSnapshots != 0 || m.h.hasBitmaps || m.h.incompatible&(incCorrupt|incDirty) != 0,
	}
}

// Flush syncs the file: metadata is written through, so it is durable
// once the data is.
func (m *Image) Flush() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.flushLocked()
}

func (m *Image) flushLocked() error {
	if m.err != nil {
		return m.err
	}
	if !m.writable || m.closed {
		return nil
	}
	if err := m.b.Sync(); err != nil {
		m.err = fmt.Errorf("qcow2: sync %s: %w", m.path, err)
		return m.err
	}
	return nil
}

// Close flushes. It closes the host file only when Create made it.
func (m *Image) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	err := m.flushLocked()
	m.closed = true
	if m.owned {
		if cerr := m.b.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
