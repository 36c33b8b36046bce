package qcow2

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
)

const (
	// offsetMask keeps bits 9-55: the host offset in L1, L2 and refcount
	// table entries.
	offsetMask     = 0x00fffffffffffe00
	flagCopied     = 1 << 63
	flagCompressed = 1 << 62
	flagZero       = 1 << 0
)

type kind int

const (
	unallocated kind = iota
	zeroCluster      // reads as zeros; host may hold a preallocation
	dataCluster
	compressedCluster
)

// mapping is where one guest cluster lives.
type mapping struct {
	kind  kind
	host  int64  // host offset of a data cluster (or preallocated zero cluster)
	entry uint64 // the raw L2 entry
	l2off int64  // host offset of the L2 table, 0 when none
	l2idx int64
}

// classify decodes an L2 entry.
func (m *Image) classify(e uint64) (kind, int64) {
	if e&flagCompressed != 0 {
		return compressedCluster, 0
	}
	host := int64(e & offsetMask)
	if m.h.version >= 3 && e&flagZero != 0 {
		return zeroCluster, host
	}
	if host == 0 {
		return unallocated, 0
	}
	return dataCluster, host
}

// compressedRange decodes a compressed cluster descriptor into the host
// byte range holding its deflate stream.
func compressedRange(e uint64, clusterBits uint32) (off, n int64) {
	x := 62 - (clusterBits - 8)
	off = int64(e & (1<<x - 1))
	sectors := int64((e >> x) & (1<<(62-x) - 1))
	return off, (sectors+1)*512 - off&511
}

// l2Table returns the L2 table for L1 index i (nil when unallocated).
// Called with m.mu held.
func (m *Image) l2Table(i int64) ([]uint64, int64, error) {
	if i >= int64(len(m.l1)) {
		return nil, 0, nil
	}
	off := int64(m.l1[i] & offsetMask)
	if off == 0 {
		return nil, 0, nil
	}
	if off%m.cs != 0 || off+m.cs > m.fileEnd {
		return nil, 0, m.ferr("L1 table", int64(m.h.l1Offset)+i*8, fmt.Sprintf("L2 table offset %d is unaligned or past the end of the file (%d)", off, m.fileEnd), nil)
	}
	if t, ok := m.l2cache.Get(off); ok {
		return t, off, nil
	}
	t, err := m.readTable(off, int(m.l2n), "L2 table")
	if err != nil {
		return nil, 0, err
	}
	m.l2cache.Put(off, t)
	return t, off, nil
}

// lookup maps the guest cluster holding guest offset off. Called with m.mu held.
func (m *Image) lookup(off int64) (mapping, error) {
	ci := off >> m.bits
	t, l2off, err := m.l2Table(ci / m.l2n)
	if err != nil || t == nil {
		return mapping{}, err
	}
	idx := ci % m.l2n
	e := t[idx]
	k, host := m.classify(e)
	mp := mapping{kind: k, host: host, entry: e, l2off: l2off, l2idx: idx}
	if k == dataCluster && (host%m.cs != 0 || host >= m.fileEnd) {
		return mp, m.ferr("L2 table", l2off+idx*8, fmt.Sprintf("data cluster offset %d is unaligned or past the end of the file (%d)", host, m.fileEnd), nil)
	}
	if k == compressedCluster {
		if coff, n := compressedRange(e, m.bits); coff >= m.fileEnd || n > 2*m.cs+512 {
			return mp, m.ferr("L2 table", l2off+idx*8, fmt.Sprintf("compressed cluster at %d (%d bytes) is past the end of the file or too long", coff, n), nil)
		}
	}
	return mp, nil
}

// decompress returns the cluster held by compressed L2 entry e.
// held says whether the caller holds m.mu (writers do).
func (m *Image) decompress(e uint64, held bool) ([]byte, error) {
	lock := func() {
		if !held {
			m.mu.Lock()
		}
	}
	unlock := func() {
		if !held {
			m.mu.Unlock()
		}
	}
	lock()
	c, ok := m.zcache.Get(int64(e))
	unlock()
	if ok {
		return c, nil
	}
	off, n := compressedRange(e, m.bits)
	buf := make([]byte, n)
	got, err := m.b.ReadAt(buf, off)
	if got < len(buf) && err != nil && err != io.EOF {
		return nil, fmt.Errorf("qcow2: read compressed cluster of %s at %d: %w", m.path, off, err)
	}
	// The last sector may be cut short by the end of the file.
	out := make([]byte, m.cs)
	r := flate.NewReader(bytes.NewReader(buf[:got]))
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, m.ferr("compressed cluster", off, "deflate stream does not decode to a full cluster", err)
	}
	lock()
	m.zcache.Put(int64(e), out)
	unlock()
	return out, nil
}

// writeEntry stores one big-endian table entry both in the cached table
// and in the file.
func (m *Image) writeEntry(table []uint64, tableOff, idx int64, v uint64) error {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	if _, err := m.b.WriteAt(b[:], tableOff+idx*8); err != nil {
		return fmt.Errorf("qcow2: write table entry of %s at %d: %w", m.path, tableOff+idx*8, err)
	}
	table[idx] = v
	return nil
}
