package qcow2

import (
	"encoding/binary"
	"fmt"
)

// Refcounts are written through: every change goes to the file at once, so
// that the on-disk refcounts are never lower than the mappings need.

// refBits is the width of one refcount entry.
func (m *Image) refBits() int64 { return 1 << m.h.refcountOrder }

// refPerBlock is the number of entries in one refcount block.
func (m *Image) refPerBlock() int64 { return m.cs * 8 / m.refBits() }

func (m *Image) refBlock(off int64) ([]byte, error) {
	if b, ok := m.rbcache.Get(off); ok {
		return b, nil
	}
	if off%m.cs != 0 || off+m.cs > m.fileEnd {
		return nil, m.ferr("refcount table", int64(m.h.refTableOffset), fmt.Sprintf("refcount block offset %d is unaligned or past the end of the file", off), nil)
	}
	b := make([]byte, m.cs)
	if _, err := readFullAt(m.b, b, off); err != nil {
		return nil, m.ferr("refcount block", off, "cannot be read", err)
	}
	m.rbcache.Put(off, b)
	return b, nil
}

// getRef reads entry i of a refcount block.
func getRef(b []byte, i int64, order uint32) uint64 {
	bits := int64(1) << order
	if bits < 8 {
		bit := i * bits
		return uint64(b[bit/8]>>(bit%8)) & (1<<bits - 1)
	}
	w := bits / 8
	p := b[i*w : i*w+w]
	switch w {
	case 1:
		return uint64(p[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(p))
	case 4:
		return uint64(binary.BigEndian.Uint32(p))
	}
	return binary.BigEndian.Uint64(p)
}

// putRef sets entry i and returns the byte range [lo, hi) that changed.
func putRef(b []byte, i int64, order uint32, v uint64) (lo, hi int64) {
	bits := int64(1) << order
	if bits < 8 {
		bit := i * bits
		mask := byte(1<<bits-1) << (bit % 8)
		b[bit/8] = b[bit/8]&^mask | byte(v<<(bit%8))&mask
		return bit / 8, bit/8 + 1
	}
	w := bits / 8
	p := b[i*w : i*w+w]
	switch w {
	case 1:
		p[0] = byte(v)
	case 2:
		binary.BigEndian.PutUint16(p, uint16(v))
	case 4:
		binary.BigEndian.PutUint32(p, uint32(v))
	default:
		binary.BigEndian.PutUint64(p, v)
	}
	return i * w, i*w + w
}

// refcount returns the refcount of host cluster c.
func (m *Image) refcount(c int64) (uint64, error) {
	ti := c / m.refPerBlock()
	if ti >= int64(len(m.refTable)) {
		return 0, nil
	}
	off := int64(m.refTable[ti] & offsetMask)
	if off == 0 {
		return 0, nil
	}
	b, err := m.refBlock(off)
	if err != nil {
		return 0, err
	}
	return getRef(b, c%m.refPerBlock(), m.h.refcountOrder), nil
}

// setRefcount sets the refcount of host cluster c, creating refcount
// blocks and growing the refcount table as needed. depth bounds the
// recursion that allocating metadata for metadata implies.
func (m *Image) setRefcount(c int64, v uint64, depth int) error {
	if depth > 8 {
		return fmt.Errorf("qcow2: %s: refcount allocation does not converge", m.path)
	}
	if max := uint64(1)<<m.refBits() - 1; m.refBits() < 64 && v > max {
		return fmt.Errorf("qcow2: %s: refcount %d overflows %d bits", m.path, v, m.refBits())
	}
	per := m.refPerBlock()
	ti := c / per
	if ti >= int64(len(m.refTable)) {
		if err := m.growRefTable(ti, depth); err != nil {
			return err
		}
	}
	off := int64(m.refTable[ti] & offsetMask)
	if off == 0 {
		var err error
		if off, err = m.newRefBlock(ti, depth); err != nil {
			return err
		}
	}
	b, err := m.refBlock(off)
	if err != nil {
		return err
	}
	lo, hi := putRef(b, c%per, m.h.refcountOrder, v)
	if _, err := m.b.WriteAt(b[lo:hi], off+lo); err != nil {
		return fmt.Errorf("qcow2: write refcount block of %s at %d: %w", m.path, off, err)
	}
	return nil
}

// newRefBlock allocates the refcount block for refcount table index ti at
// the end of the file. The block is written (with its own refcount when it
// covers itself) before the table points at it.
func (m *Image) newRefBlock(ti int64, depth int) (int64, error) {
	off := m.fileEnd
	m.fileEnd += m.cs
	b := make([]byte, m.cs)
	self := off / m.cs
	covered := self/m.refPerBlock() == ti
	if covered {
		putRef(b, self%m.refPerBlock(), m.h.refcountOrder, 1)
	}
	if _, err := m.b.WriteAt(b, off); err != nil {
		return 0, fmt.Errorf("qcow2: write refcount block of %s at %d: %w", m.path, off, err)
	}
	m.rbcache.Put(off, b)
	if !covered {
		if err := m.setRefcount(self, 1, depth+1); err != nil {
			return 0, err
		}
	}
	if err := m.writeEntry(m.refTable, int64(m.h.refTableOffset), ti, uint64(off)); err != nil {
		return 0, err
	}
	return off, nil
}

// growRefTable moves the refcount table to a bigger copy at the end of the
// file so that it has an entry for index need. Order: the new table is
// written and its own clusters are counted, the file is synced, the header
// switches to it, and only then are the old table's clusters freed.
func (m *Image) growRefTable(need int64, depth int) error {
	old := int64(m.h.refTableOffset)
	oldClusters := int64(m.h.refTableClusts)
	per := m.refPerBlock()
	n := max(2*oldClusters, 1)
	for {
		end := m.fileEnd + (n+4)*m.cs // the table itself plus room for its refcount blocks
		entries := max(need+1, end/m.cs/per+2)
		if entries*8 <= n*m.cs {
			break
		}
		n++
	}
	if n*m.cs > maxRefTableBytes {
		return fmt.Errorf("qcow2: %s: refcount table would grow past %d bytes", m.path, maxRefTableBytes)
	}
	off := m.fileEnd
	m.fileEnd += n * m.cs
	t := make([]uint64, n*m.cs/8)
	copy(t, m.refTable)
	buf := make([]byte, n*m.cs)
	for i, e := range t {
		binary.BigEndian.PutUint64(buf[i*8:], e)
	}
	if _, err := m.b.WriteAt(buf, off); err != nil {
		return fmt.Errorf("qcow2: write refcount table of %s at %d: %w", m.path, off, err)
	}
	m.refTable, m.h.refTableOffset, m.h.refTableClusts = t, uint64(off), uint32(n)
	for c := off / m.cs; c < off/m.cs+n; c++ {
		if err := m.setRefcount(c, 1, depth+1); err != nil {
			return err
		}
	}
	if err := m.b.Sync(); err != nil {
		return fmt.Errorf("qcow2: sync %s: %w", m.path, err)
	}
	var hb [12]byte
	binary.BigEndian.PutUint64(hb[:], uint64(off))
	binary.BigEndian.PutUint32(hb[8:], uint32(n))
	if _, err := m.b.WriteAt(hb[:], offRefTableOffset); err != nil {
		return fmt.Errorf("qcow2: write header of %s: %w", m.path, err)
	}
	if err := m.b.Sync(); err != nil {
		return fmt.Errorf("qcow2: sync %s: %w", m.path, err)
	}
	for c := old / m.cs; c < old/m.cs+oldClusters; c++ {
		if err := m.setRefcount(c, 0, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// allocClusters reserves n contiguous clusters at the end of the file with
// refcount 1 and returns the host offset of the first.
func (m *Image) allocClusters(n int64) (int64, error) {
	// Skip clusters that a (damaged) refcount structure claims past the end.
	for tries := 0; ; tries++ {
		if tries > 1024 {
			return 0, m.ferr("refcount block", -1, "refcounts claim clusters past the end of the file", nil)
		}
		busy := false
		for c := m.fileEnd / m.cs; c < m.fileEnd/m.cs+n; c++ {
			r, err := m.refcount(c)
			if err != nil {
				return 0, err
			}
			if r != 0 {
				busy = true
				m.fileEnd = (c + 1) * m.cs
				break
			}
		}
		if !busy {
			break
		}
	}
	off := m.fileEnd
	m.fileEnd += n * m.cs
	for c := off / m.cs; c < off/m.cs+n; c++ {
		if err := m.setRefcount(c, 1, 0); err != nil {
			return 0, err
		}
	}
	return off, nil
}

// unref decrements the refcount of every cluster in [off, off+n).
func (m *Image) unref(off, n int64) error {
	for c := off / m.cs; c <= (off+n-1)/m.cs; c++ {
		r, err := m.refcount(c)
		if err != nil {
			return err
		}
		if r == 0 {
			return m.ferr("refcount block", -1, fmt.Sprintf("cluster %d is in use but has refcount 0", c), nil)
		}
		if err := m.setRefcount(c, r-1, 0); err != nil {
			return err
		}
	}
	return nil
}
