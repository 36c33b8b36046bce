package qcow2

import (
	"fmt"
	"io"

	"github.com/pvinject/pvinject/core/disk"
)

// ReadAt reads guest bytes. It is safe for concurrent use.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if err := disk.CheckRange(off, len(p), int64(m.h.size)); err != nil {
		return 0, fmt.Errorf("qcow2: read %s: %w", m.path, err)
	}
	done := 0
	for done < len(p) {
		o := off + int64(done)
		n := int(min(int64(len(p)-done), m.cs-o&(m.cs-1)))
		m.mu.Lock()
		mp, err := m.lookup(o)
		m.mu.Unlock()
		if err == nil {
			err = m.readMapped(p[done:done+n], o, mp)
		}
		if err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// readMapped reads p (within one guest cluster) at guest offset off.
func (m *Image) readMapped(p []byte, off int64, mp mapping) error {
	within := off & (m.cs - 1)
	switch mp.kind {
	case unallocated:
		return m.readParent(p, off)
	case zeroCluster:
		clear(p)
	case dataCluster:
		n, err := m.b.ReadAt(p, mp.host+within)
		if n < len(p) {
			if err != nil && err != io.EOF {
				return fmt.Errorf("qcow2: read %s at %d: %w", m.path, mp.host+within, err)
			}
			clear(p[n:]) // a last cluster cut short by the end of file reads as zeros
		}
	case compressedCluster:
		c, err := m.decompress(mp.entry, false)
		if err != nil {
			return err
		}
		copy(p, c[within:])
	}
	return nil
}

// readParent reads from the backing file, zeros past its end or without one.
func (m *Image) readParent(p []byte, off int64) error {
	n := 0
	if m.parent != nil && off < m.parent.Size() {
		n = int(min(int64(len(p)), m.parent.Size()-off))
		if got, err := m.parent.ReadAt(p[:n], off); got < n {
			return fmt.Errorf("qcow2: %s: read backing file at %d: %w", m.path, off, err)
		}
	}
	clear(p[n:])
	return nil
}

// Map reports which clusters of [off, off+length) this layer holds.
func (m *Image) Map(off, length int64) ([]disk.Extent, error) {
	if length < 0 || off < 0 || off > int64(m.h.size) || length > int64(m.h.size)-off {
		return nil, fmt.Errorf("qcow2: map %s: %w: offset %d length %d", m.path, disk.ErrOutOfRange, off, length)
	}
	var out []disk.Extent
	add := func(o, n int64, alloc, zero bool) {
		if l := len(out); l > 0 && out[l-1].Allocated == alloc && out[l-1].Zero == zero && out[l-1].Offset+out[l-1].Length == o {
			out[l-1].Length += n
			return
		}
		out = append(out, disk.Extent{Offset: o, Length: n, Allocated: alloc, Zero: zero})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	end := off + length
	for o := off; o < end; {
		ci := o >> m.bits
		t, _, err := m.l2Table(ci / m.l2n)
		if err != nil {
			return nil, err
		}
		if t == nil { // a whole L2 table's span is unallocated
			next := min(end, ((ci/m.l2n)+1)*m.l2n<<m.bits)
			add(o, next-o, false, false)
			o = next
			continue
		}
		next := min(end, (ci+1)<<m.bits)
		mp, err := m.lookup(o)
		if err != nil {
			return nil, err
		}
		add(o, next-o, mp.kind != unallocated, mp.kind == zeroCluster)
		o = next
	}
	return out, nil
}
