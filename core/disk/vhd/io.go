package vhd

import (
	"encoding/binary"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// ReadAt reads guest bytes; it is safe for concurrent use.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("vpc: read %s: %w", m.path, err)
	}
	if m.diskType == typeFixed {
		if err := readFull(m.b, p, off); err != nil {
			return 0, fmt.Errorf("vpc: read %s at %d: %w", m.path, off, err)
		}
		return len(p), nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for done := 0; done < len(p); {
		pos := off + int64(done)
		blk := pos >> m.shift
		in := pos & (m.bs - 1)
		n := int(min(int64(len(p)-done), m.bs-in))
		q := p[done : done+n]
		e := m.bat[blk]
		var err error
		switch {
		case e == batUnused:
			err = m.readParent(q, pos)
		case m.diskType == typeDifferencing:
			err = m.readMixed(q, uint32(blk), e, in)
		default:
			err = readFull(m.b, q, int64(e)*sectorSize+m.bmSize+in)
		}
		if err != nil {
			return done, fmt.Errorf("vpc: read %s at %d: %w", m.path, pos, err)
		}
		done += n
	}
	return len(p), nil
}

// readParent reads what this layer does not hold: see disk.ReadParent.
func (m *Image) readParent(q []byte, pos int64) error { return disk.ReadParent(m.parent, q, pos) }

// readMixed reads a differencing block: sectors whose bitmap bit is set come
// from this file, the others from the parent.
func (m *Image) readMixed(q []byte, blk, e uint32, in int64) error {
	bm, err := m.bitmap(blk, e)
	if err != nil {
		return err
	}
	base := int64(blk) << m.shift
	end := in + int64(len(q))
	for s := in / sectorSize; s*sectorSize < end; {
		set := bitSet(bm, s)
		t := s + 1
		for t*sectorSize < end && bitSet(bm, t) == set {
			t++
		}
		lo, hi := max(in, s*sectorSize), min(end, t*sectorSize)
		r := q[lo-in : hi-in]
		if set {
			err = readFull(m.b, r, int64(e)*sectorSize+m.bmSize+lo)
		} else {
			err = m.readParent(r, base+lo)
		}
		if err != nil {
			return err
		}
		s = t
	}
	return nil
}

func bitSet(bm []byte, s int64) bool { return bm[s>>3]&(0x80>>(s&7)) != 0 }

// bitmap returns the cached sector bitmap of an allocated block.
func (m *Image) bitmap(blk, e uint32) ([]byte, error) {
	m.bmMu.Lock()
	defer m.bmMu.Unlock()
	if bm, ok := m.bitmaps[blk]; ok {
		return bm, nil
	}
	bm := make([]byte, m.bmSize)
	if err := readFull(m.b, bm, int64(e)*sectorSize); err != nil {
		return nil, fmt.Errorf("sector bitmap of block %d: %w", blk, err)
	}
	m.bitmaps[blk] = bm
	return bm, nil
}

// WriteAt writes guest bytes to this (top) layer only.
func (m *Image) WriteAt(p []byte, off int64) (int, error) {
	if !m.writable {
		return 0, fmt.Errorf("vpc: write %s: %w", m.path, disk.ErrReadOnly)
	}
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("vpc: write %s: %w", m.path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("vpc: write %s: image closed", m.path)
	}
	if m.err != nil {
		return 0, m.err
	}
	if m.diskType == typeFixed {
		if _, err := m.b.WriteAt(p, off); err != nil {
			m.err = fmt.Errorf("vpc: write %s at %d: %w", m.path, off, err)
			return 0, m.err
		}
		return len(p), nil
	}
	for done := 0; done < len(p); {
		pos := off + int64(done)
		blk := pos >> m.shift
		in := pos & (m.bs - 1)
		n := int(min(int64(len(p)-done), m.bs-in))
		if err := m.writeBlock(p[done:done+n], uint32(blk), in); err != nil {
			m.err = fmt.Errorf("vpc: write %s at %d: %w", m.path, pos, err)
			return done, m.err
		}
		done += n
	}
	return len(p), nil
}

// writeBlock writes q at offset in of block blk. Order: (new block and moved
// footer,) data, bitmap, BAT entry: a crash leaves at worst a leaked block.
func (m *Image) writeBlock(q []byte, blk uint32, in int64) error {
	e := m.bat[blk]
	fresh := e == batUnused
	if fresh {
		if m.parent == nil && disk.AllZero(q) {
			return nil // reads as zeros already; keep the disk sparse
		}
		var err error
		if e, err = m.allocBlock(blk); err != nil {
			return err
		}
	}
	bm, err := m.bitmap(blk, e)
	if err != nil {
		return err
	}
	data := int64(e)*sectorSize + m.bmSize
	lo := in / sectorSize * sectorSize
	hi := (in + int64(len(q)) + sectorSize - 1) / sectorSize * sectorSize
	buf := q
	if m.diskType == typeDifferencing && (lo != in || hi != in+int64(len(q))) {
		// A partial sector not yet in this layer takes the rest from the parent.
		buf = make([]byte, hi-lo)
		for _, s := range []int64{lo / sectorSize, hi/sectorSize - 1} {
			sec := buf[s*sectorSize-lo : (s+1)*sectorSize-lo]
			if bitSet(bm, s) {
				err = readFull(m.b, sec, data+s*sectorSize)
			} else {
				err = m.readParent(sec, int64(blk)<<m.shift+s*sectorSize)
			}
			if err != nil {
				return err
			}
		}
		copy(buf[in-lo:], q)
	} else {
		lo = in
	}
	if _, err := m.b.WriteAt(buf, data+lo); err != nil {
		return err
	}
	changed := false
	for s := in / sectorSize; s < hi/sectorSize; s++ {
		if !bitSet(bm, s) {
			bm[s>>3] |= 0x80 >> (s & 7)
			changed = true
		}
	}
	if changed {
		if _, err := m.b.WriteAt(bm, int64(e)*sectorSize); err != nil {
			return fmt.Errorf("sector bitmap of block %d: %w", blk, err)
		}
	}
	if fresh {
		var be [4]byte
		binary.BigEndian.PutUint32(be[:], e)
		if _, err := m.b.WriteAt(be[:], m.batOff+4*int64(blk)); err != nil {
			return fmt.Errorf("BAT entry %d: %w", blk, err)
		}
		m.bat[blk] = e
	}
	return nil
}

// allocBlock appends a block (bitmap + data) where the footer was and
// writes the footer after it first, so the file always ends in a footer.
func (m *Image) allocBlock(blk uint32) (uint32, error) {
	// Rounded up: a file whose footer does not end on a sector boundary
	// must not shift the new block off the sector grid the BAT counts in.
	start := (m.fileEnd + sectorSize - 1) / sectorSize * sectorSize
	if start/sectorSize > batUnused-1 {
		return 0, fmt.Errorf("file would grow past what a VHD BAT can address (%d bytes)", start)
	}
	end := start + m.bmSize + m.bs
	if m.fileSize > start+m.bmSize {
		// Leftovers after a damaged footer must not show through as data.
		if err := m.b.Truncate(start + m.bmSize); err != nil {
			return 0, err
		}
	}
	if _, err := m.b.WriteAt(m.ftRaw, end); err != nil {
		return 0, fmt.Errorf("move footer to %d: %w", end, err)
	}
	m.fileEnd, m.fileSize, m.footerDirty = end, end+footerSize, false
	bm := make([]byte, m.bmSize)
	if _, err := m.b.WriteAt(bm, start); err != nil {
		return 0, fmt.Errorf("sector bitmap of block %d: %w", blk, err)
	}
	m.bmMu.Lock()
	m.bitmaps[blk] = bm
	m.bmMu.Unlock()
	return uint32(start / sectorSize), nil
}

// Map reports which parts of [off, off+length) this layer holds.
func (m *Image) Map(off, length int64) ([]disk.Extent, error) {
	if length < 0 || disk.CheckRange(off, 0, m.size) != nil || length > m.size-off {
		return nil, fmt.Errorf("vpc: map %s: %w: offset %d length %d size %d", m.path, disk.ErrOutOfRange, off, length, m.size)
	}
	if length == 0 {
		return nil, nil
	}
	if m.diskType == typeFixed {
		return []disk.Extent{{Offset: off, Length: length, Allocated: true}}, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var ext []disk.Extent
	for pos, end := off, off+length; pos < end; {
		blk := pos >> m.shift
		in := pos & (m.bs - 1)
		n := min(end-pos, m.bs-in)
		e := m.bat[blk]
		switch {
		case e == batUnused:
			ext = appendExtent(ext, pos, n, false)
		case m.diskType == typeDifferencing:
			bm, err := m.bitmap(uint32(blk), e)
			if err != nil {
				return nil, fmt.Errorf("vpc: map %s: %w", m.path, err)
			}
			for s := in / sectorSize; s*sectorSize < in+n; s++ {
				lo, hi := max(in, s*sectorSize), min(in+n, (s+1)*sectorSize)
				ext = appendExtent(ext, pos-in+lo, hi-lo, bitSet(bm, s))
			}
		default:
			ext = appendExtent(ext, pos, n, true)
		}
		pos += n
	}
	return ext, nil
}

func appendExtent(ext []disk.Extent, off, n int64, alloc bool) []disk.Extent {
	if k := len(ext); k > 0 && ext[k-1].Allocated == alloc && ext[k-1].Offset+ext[k-1].Length == off {
		ext[k-1].Length += n
		return ext
	}
	return append(ext, disk.Extent{Offset: off, Length: n, Allocated: alloc})
}

// Flush rewrites a repaired footer if needed and syncs the host file.
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
	if m.footerDirty {
		if err := m.b.Truncate(m.fileEnd + footerSize); err != nil {
			m.err = fmt.Errorf("vpc: repair footer of %s: %w", m.path, err)
			return m.err
		}
		if _, err := m.b.WriteAt(m.ftRaw, m.fileEnd); err != nil {
			m.err = fmt.Errorf("vpc: repair footer of %s: %w", m.path, err)
			return m.err
		}
		m.footerDirty = false
	}
	if m.headDirty {
		if _, err := m.b.WriteAt(m.ftRaw, 0); err != nil {
			m.err = fmt.Errorf("vpc: repair footer copy of %s: %w", m.path, err)
			return m.err
		}
		m.headDirty = false
	}
	if err := m.b.Sync(); err != nil {
		return fmt.Errorf("vpc: sync %s: %w", m.path, err)
	}
	return nil
}

// Close flushes; it closes the host file only when Create opened it.
func (m *Image) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	err := m.flushLocked()
	m.closed = true
	if m.owned {
		if cerr := m.b.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("vpc: close %s: %w", m.path, cerr)
		}
	}
	return err
}
