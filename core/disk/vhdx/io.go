package vhdx

import (
	"encoding/binary"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// ReadAt reads guest bytes; it is safe for concurrent use.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("vhdx: read %s: %w", m.path, err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for done := 0; done < len(p); {
		pos := off + int64(done)
		blk := pos >> m.shift
		in := pos & (m.l.bs - 1)
		n := int(min(int64(len(p)-done), m.l.bs-in))
		q := p[done : done+n]
		e := m.bat[m.l.payloadIndex(blk)]
		var err error
		switch e & stateMask {
		case payloadFull:
			err = readFull(m.b, q, entryOffset(e)+in)
		case payloadPartial:
			err = m.readPartial(q, blk, e, in)
		case payloadNotPresent:
			err = m.readParent(q, pos)
		default: // zero, unmapped, undefined: zeros, never the parent's data
			clear(q)
		}
		if err != nil {
			return done, fmt.Errorf("vhdx: read %s at %d: %w", m.path, pos, err)
		}
		done += n
	}
	return len(p), nil
}

// readParent reads what this layer does not hold: see disk.ReadParent.
func (m *Image) readParent(q []byte, pos int64) error { return disk.ReadParent(m.parent, q, pos) }

// readPartial reads a partially present block: sectors whose bit is set in
// the chunk's sector bitmap come from this file, the others from the parent.
func (m *Image) readPartial(q []byte, blk int64, e uint64, in int64) error {
	bm, err := m.sectorBitmap(blk)
	if err != nil {
		return err
	}
	lss := m.l.lss
	end := in + int64(len(q))
	for s := in / lss; s*lss < end; {
		set := bitSet(bm, s)
		t := s + 1
		for t*lss < end && bitSet(bm, t) == set {
			t++
		}
		lo, hi := max(in, s*lss), min(end, t*lss)
		r := q[lo-in : hi-in]
		if set {
			err = readFull(m.b, r, entryOffset(e)+lo)
		} else {
			err = m.readParent(r, blk<<m.shift+lo)
		}
		if err != nil {
			return err
		}
		s = t
	}
	return nil
}

// bitSet: VHDX sector bitmaps are little-endian bit order.
func bitSet(bm []byte, k int64) bool { return bm[k>>3]&(1<<(k&7)) != 0 }

func (m *Image) sectorBitmap(blk int64) ([]byte, error) {
	m.bmMu.Lock()
	defer m.bmMu.Unlock()
	if bm, ok := m.bitmaps[blk]; ok {
		return bm, nil
	}
	// Only the block's part of its chunk's 1 MiB bitmap is read and kept.
	n := m.l.bs / m.l.lss / 8
	e := m.bat[m.l.bitmapIndex(blk/m.l.chunkRatio)]
	bm := make([]byte, n)
	if err := readFull(m.b, bm, entryOffset(e)+blk%m.l.chunkRatio*n); err != nil {
		return nil, fmt.Errorf("sector bitmap of block %d: %w", blk, err)
	}
	m.bitmaps[blk] = bm
	return bm, nil
}

// WriteAt writes guest bytes to this (top) layer only.
func (m *Image) WriteAt(p []byte, off int64) (int, error) {
	if !m.writable {
		return 0, fmt.Errorf("vhdx: write %s: %w", m.path, disk.ErrReadOnly)
	}
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("vhdx: write %s: %w", m.path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("vhdx: write %s: image closed", m.path)
	}
	if m.err != nil {
		return 0, m.err
	}
	if !m.guidsUpdated {
		if err := m.updateHeaders(); err != nil {
			m.err = fmt.Errorf("vhdx: write %s: update headers: %w", m.path, err)
			return 0, m.err
		}
	}
	for done := 0; done < len(p); {
		pos := off + int64(done)
		blk := pos >> m.shift
		in := pos & (m.l.bs - 1)
		n := int(min(int64(len(p)-done), m.l.bs-in))
		if err := m.writeBlock(p[done:done+n], blk, in); err != nil {
			m.err = fmt.Errorf("vhdx: write %s at %d: %w", m.path, pos, err)
			return done, m.err
		}
		done += n
	}
	return len(p), nil
}

// writeBlock writes q at offset in of payload block blk. A new block is
// written completely (data, and the parent's bytes around it in a
// differencing disk) before its BAT entry, so a crash leaves at worst a
// leaked block.
func (m *Image) writeBlock(q []byte, blk, in int64) error {
	idx := m.l.payloadIndex(blk)
	e := m.bat[idx]
	st := e & stateMask
	if st == payloadFull {
		_, err := m.b.WriteAt(q, entryOffset(e)+in)
		return err
	}
	blockLen := min(m.l.bs, m.size-blk<<m.shift)
	var start int64
	switch st {
	case payloadPartial:
		// Fill the sectors this file lacks from the parent, then the block is full.
		start = entryOffset(e)
		if err := m.fillPartial(blk, start, blockLen); err != nil {
			return err
		}
	default:
		fromParent := st == payloadNotPresent && m.parent != nil
		if !fromParent && disk.AllZero(q) {
			return nil // reads as zeros already; keep the disk sparse
		}
		start = m.fileEnd
		if err := m.b.Truncate(start + m.l.bs); err != nil {
			return fmt.Errorf("grow file for block %d: %w", blk, err)
		}
		m.fileEnd = start + m.l.bs
		if fromParent {
			if err := m.copyFromParent(blk, start, 0, in); err != nil {
				return err
			}
			if err := m.copyFromParent(blk, start, in+int64(len(q)), blockLen); err != nil {
				return err
			}
		}
	}
	if _, err := m.b.WriteAt(q, start+in); err != nil {
		return err
	}
	ne := uint64(start) | payloadFull
	var le [8]byte
	binary.LittleEndian.PutUint64(le[:], ne)
	if _, err := m.b.WriteAt(le[:], m.batOff+8*idx); err != nil {
		return fmt.Errorf("BAT entry %d: %w", idx, err)
	}
	m.bat[idx] = ne
	return nil
}

// copyFromParent copies the parent's bytes of block blk in [lo, hi) (block
// offsets) to the block's place in the file at start.
func (m *Image) copyFromParent(blk, start, lo, hi int64) error {
	buf := make([]byte, min(hi-lo, 1*mib))
	for pos := lo; pos < hi; {
		n := min(hi-pos, int64(len(buf)))
		if err := m.readParent(buf[:n], blk<<m.shift+pos); err != nil {
			return err
		}
		if !disk.AllZero(buf[:n]) { // the grown file already reads as zeros
			if _, err := m.b.WriteAt(buf[:n], start+pos); err != nil {
				return err
			}
		}
		pos += n
	}
	return nil
}

// fillPartial copies from the parent every sector of a partially present
// block whose bitmap bit is clear.
func (m *Image) fillPartial(blk, start, blockLen int64) error {
	bm, err := m.sectorBitmap(blk)
	if err != nil {
		return err
	}
	lss := m.l.lss
	for s := int64(0); s*lss < blockLen; {
		t := s + 1
		set := bitSet(bm, s)
		for t*lss < blockLen && bitSet(bm, t) == set {
			t++
		}
		if !set {
			// The sectors are zero-filled first: what the file held there is not guest data.
			if err := m.zeroRange(start+s*lss, (t-s)*lss); err != nil {
				return err
			}
			if err := m.copyFromParent(blk, start, s*lss, min(t*lss, blockLen)); err != nil {
				return err
			}
		}
		s = t
	}
	return nil
}

func (m *Image) zeroRange(off, n int64) error {
	z := make([]byte, min(n, 1*mib))
	for n > 0 {
		c := min(n, int64(len(z)))
		if _, err := m.b.WriteAt(z[:c], off); err != nil {
			return err
		}
		off, n = off+c, n-c
	}
	return nil
}

// updateHeaders gives the file new FileWriteGuid and DataWriteGuid before
// its first change, as the spec requires, writing the non-current header
// first so that one valid header survives a crash at any point. Both slots
// are written so neither keeps stale GUIDs.
func (m *Image) updateHeaders() error {
	fw, err := newGUID()
	if err != nil {
		return err
	}
	dw, err := newGUID()
	if err != nil {
		return err
	}
	h := m.hdr
	h.FileWriteGUID, h.DataWriteGUID = fw, dw
	h.LogGUID = guid{} // the log is replayed (or was never used): nothing to replay again
	for range 2 {
		h.Sequence++
		slot := 1 - m.hdrSlot
		if _, err := m.b.WriteAt(h.marshal(), []int64{header1Offset, header2Offset}[slot]); err != nil {
			return err
		}
		if err := m.b.Sync(); err != nil {
			return err
		}
		m.hdr, m.hdrSlot = h, slot
	}
	m.guidsUpdated = true
	return nil
}

// Map reports which parts of [off, off+length) this layer holds.
func (m *Image) Map(off, length int64) ([]disk.Extent, error) {
	if off < 0 || length < 0 || off > m.size || length > m.size-off {
		return nil, fmt.Errorf("vhdx: map %s: %w: offset %d length %d size %d", m.path, disk.ErrOutOfRange, off, length, m.size)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var ext []disk.Extent
	for pos, end := off, off+length; pos < end; {
		blk := pos >> m.shift
		in := pos & (m.l.bs - 1)
		n := min(end-pos, m.l.bs-in)
		switch m.bat[m.l.payloadIndex(blk)] & stateMask {
		case payloadFull:
			ext = appendExtent(ext, disk.Extent{Offset: pos, Length: n, Allocated: true})
		case payloadPartial:
			bm, err := m.sectorBitmap(blk)
			if err != nil {
				return nil, fmt.Errorf("vhdx: map %s: %w", m.path, err)
			}
			lss := m.l.lss
			for s := in / lss; s*lss < in+n; s++ {
				lo, hi := max(in, s*lss), min(in+n, (s+1)*lss)
				ext = appendExtent(ext, disk.Extent{Offset: pos - in + lo, Length: hi - lo, Allocated: bitSet(bm, s)})
			}
		case payloadNotPresent:
			ext = appendExtent(ext, disk.Extent{Offset: pos, Length: n})
		default:
			ext = appendExtent(ext, disk.Extent{Offset: pos, Length: n, Allocated: m.parent != nil, Zero: m.parent != nil})
		}
		pos += n
	}
	return ext, nil
}

func appendExtent(ext []disk.Extent, x disk.Extent) []disk.Extent {
	if k := len(ext); k > 0 && ext[k-1].Allocated == x.Allocated && ext[k-1].Zero == x.Zero && ext[k-1].Offset+ext[k-1].Length == x.Offset {
		ext[k-1].Length += x.Length
		return ext
	}
	return append(ext, x)
}

// Flush syncs the host file; metadata is written as it changes.
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
		return fmt.Errorf("vhdx: sync %s: %w", m.path, err)
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
			err = fmt.Errorf("vhdx: close %s: %w", m.path, cerr)
		}
	}
	return err
}
