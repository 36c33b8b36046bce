package vmdk

import (
	"fmt"
	"io"
	"sort"

	"github.com/pvinject/pvinject/core/disk"
)

// extentAt returns the extent holding guest offset off.
func (m *Image) extentAt(off int64) *extent {
	i := sort.Search(len(m.extents), func(i int) bool { return m.extents[i].start+m.extents[i].length > off })
	return m.extents[i]
}

// chunk is the largest run from off that stays within one extent and, for
// sparse extents, one grain.
func (m *Image) chunk(e *extent, off int64, n int) int {
	lim := e.start + e.length - off
	if e.sp != nil {
		rel := off - e.start
		lim = min(lim, e.sp.grainBytes-rel%e.sp.grainBytes)
	}
	return int(min(int64(n), lim))
}

func (m *Image) lock(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f()
}

// ReadAt reads guest bytes. It is safe for concurrent use.
func (m *Image) ReadAt(p []byte, off int64) (int, error) {
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("vmdk: read %s: %w", m.path, err)
	}
	done := 0
	for done < len(p) {
		o := off + int64(done)
		e := m.extentAt(o)
		n := m.chunk(e, o, len(p)-done)
		if err := m.readExtent(e, p[done:done+n], o); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

func (m *Image) readExtent(e *extent, p []byte, off int64) error {
	rel := off - e.start
	if e.line.access == "NOACCESS" {
		return m.ferr("descriptor", -1, fmt.Sprintf("extent %q is NOACCESS", e.line.file), nil)
	}
	switch e.kind {
	case extZero:
		clear(p)
		return nil
	case extFlat:
		return readHost(e.b, p, e.fileOff+rel)
	}
	var k grainKind
	var host int64
	var err error
	m.lock(func() { k, host, err = e.sp.lookup(rel / e.sp.grainBytes) })
	if err != nil {
		return err
	}
	within := rel % e.sp.grainBytes
	switch k {
	case grainUnallocated:
		return m.readParent(p, off)
	case grainZero:
		clear(p)
	case grainData:
		return readHost(e.b, p, host+within)
	case grainCompressed:
		g, err := e.sp.readCompressed(host, m.lock)
		if err != nil {
			return err
		}
		copy(p, g[within:])
	}
	return nil
}

// readHost reads from an extent file; bytes past its end read as zeros
// (the last grain of a file may be cut short).
func readHost(b disk.Backing, p []byte, off int64) error {
	n, err := b.ReadAt(p, off)
	if n < len(p) {
		if err != nil && err != io.EOF {
			return fmt.Errorf("vmdk: read %s at %d: %w", b.Name(), off, err)
		}
		clear(p[n:])
	}
	return nil
}

func (m *Image) readParent(p []byte, off int64) error {
	n := 0
	if m.parent != nil && off < m.parent.Size() {
		n = int(min(int64(len(p)), m.parent.Size()-off))
		if got, err := m.parent.ReadAt(p[:n], off); got < n {
			return fmt.Errorf("vmdk: %s: read parent at %d: %w", m.path, off, err)
		}
	}
	clear(p[n:])
	return nil
}

// WriteAt writes guest bytes, allocating grains in sparse extents.
func (m *Image) WriteAt(p []byte, off int64) (int, error) {
	if !m.writable {
		return 0, fmt.Errorf("vmdk: write %s: %w", m.path, disk.ErrReadOnly)
	}
	if m.readOnly != nil {
		return 0, m.readOnly
	}
	if err := disk.CheckRange(off, len(p), m.size); err != nil {
		return 0, fmt.Errorf("vmdk: write %s: %w", m.path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("vmdk: write %s: image closed", m.path)
	}
	if m.err != nil {
		return 0, m.err
	}
	// Check the whole range first so that a bad table or a read-only
	// extent is reported before anything (even the CID) is written.
	for done := 0; done < len(p); {
		o := off + int64(done)
		e := m.extentAt(o)
		n := m.chunk(e, o, len(p)-done)
		if err := m.preflight(e, o); err != nil {
			return 0, fmt.Errorf("vmdk: write %s at guest offset %d: %w", m.path, o, err)
		}
		done += n
	}
	if err := m.updateCID(); err != nil {
		m.err = err
		return 0, err
	}
	done := 0
	for done < len(p) {
		o := off + int64(done)
		e := m.extentAt(o)
		if e.kind == extSparse && (o-e.start)%e.sp.grainBytes == 0 {
			n, err := m.writeNewGrains(e, p[done:], o)
			if err != nil {
				m.err = fmt.Errorf("vmdk: write %s at guest offset %d: %w", m.path, o, err)
				return done, m.err
			}
			if n > 0 {
				done += n
				continue
			}
		}
		n := m.chunk(e, o, len(p)-done)
		if err := m.writeExtent(e, p[done:done+n], o); err != nil {
			m.err = fmt.Errorf("vmdk: write %s at guest offset %d: %w", m.path, o, err)
			return done, m.err
		}
		done += n
	}
	return done, nil
}

// preflight reports why a write at off into e would fail, without writing.
func (m *Image) preflight(e *extent, off int64) error {
	if e.line.access != "RW" || e.kind == extZero {
		return fmt.Errorf("extent %q (%s %s) cannot be written: %w", e.line.file, e.line.access, e.line.typ, disk.ErrReadOnlyFormat)
	}
	if e.kind != extSparse {
		return nil
	}
	_, _, err := e.sp.lookup((off - e.start) / e.sp.grainBytes)
	return err
}

func (m *Image) writeExtent(e *extent, p []byte, off int64) error {
	if err := m.preflight(e, off); err != nil {
		return err
	}
	rel := off - e.start
	if e.kind == extFlat {
		if _, err := e.b.WriteAt(p, e.fileOff+rel); err != nil {
			return fmt.Errorf("write %s at %d: %w", e.path, e.fileOff+rel, err)
		}
		return nil
	}
	s := e.sp
	g := rel / s.grainBytes
	within := rel % s.grainBytes
	if uint64((g+1)*s.grainBytes/sector) > s.h.capacity+s.h.grainSize {
		return s.ferr("sparse header", 12, fmt.Sprintf("descriptor extent is larger than the capacity of %d sectors", s.h.capacity), nil)
	}
	k, host, err := s.lookup(g)
	if err != nil {
		return err
	}
	if k == grainData {
		if _, err := e.b.WriteAt(p, host+within); err != nil {
			return fmt.Errorf("write %s at %d: %w", e.path, host+within, err)
		}
		return nil
	}
	// A new grain: what the guest saw there, then the new bytes.
	grainStart := off - within
	buf := make([]byte, s.grainBytes)
	if k == grainUnallocated && m.parent != nil { // without one, buf already holds the zeros the guest saw
		n := min(s.grainBytes, m.size-grainStart, e.start+e.length-grainStart)
		if err := m.readParent(buf[:n], grainStart); err != nil {
			return err
		}
	}
	baseZero := disk.AllZero(buf)
	copy(buf[within:], p)
	if disk.AllZero(buf) {
		if baseZero {
			return nil // reads as zeros already: stay sparse
		}
		if s.h.flags&flagZeroGrain != 0 {
			return s.setGTE(g, 1) // a zeroed grain hides the parent's data
		}
	}
	sec, err := s.appendGrain(buf)
	if err != nil {
		return err
	}
	return s.setGTE(g, sec)
}

// writeNewGrains writes the leading whole grains of p (off is grain
// aligned in sparse extent e) that are unallocated and not all zeros, as one
// run appended to the extent file, then points their entries of one grain
// table at it (redundant table, then primary): the order the package
// documents, batched. Nothing old is read: every grain is replaced whole.
// It returns the bytes written; 0 leaves the first grain to writeExtent.
func (m *Image) writeNewGrains(e *extent, p []byte, off int64) (int, error) {
	s := e.sp
	g := (off - e.start) / s.grainBytes
	room := min(int64(len(p)), e.start+e.length-off) / s.grainBytes
	var k int64
	for k < room && (g+k)/s.gtes == g/s.gtes {
		if uint64((g+k+1)*s.grainBytes/sector) > s.h.capacity+s.h.grainSize {
			break // writeExtent reports it
		}
		kind, _, err := s.lookup(g + k)
		if err != nil {
			return 0, err
		}
		if kind != grainUnallocated || disk.AllZero(p[k*s.grainBytes:(k+1)*s.grainBytes]) {
			break
		}
		k++
	}
	if k == 0 {
		return 0, nil
	}
	n := k * s.grainBytes
	first, err := s.appendGrains(p[:n])
	if err != nil {
		return 0, err
	}
	vs := make([]uint32, k)
	for i := range vs {
		vs[i] = first + uint32(int64(i)*s.grainBytes/sector)
	}
	return int(n), s.setGTEs(g, vs)
}

// updateCID gives the disk a new content ID before its first change, so
// that children made from the old content notice.
func (m *Image) updateCID() error {
	if m.cidUpdated {
		return nil
	}
	cid := newCID(m.desc.cid)
	text := m.desc.withCID(cid)
	if m.embedded != nil {
		h := m.embedded.h
		if h.descOffset == 0 || h.descSize == 0 {
			m.cidUpdated = true
			return nil // a bare extent has no descriptor to update
		}
		if int64(len(text)) > int64(h.descSize)*sector {
			return m.ferr("embedded descriptor", int64(h.descOffset)*sector, "no room to update the CID", nil)
		}
		buf := make([]byte, h.descSize*sector)
		copy(buf, text)
		if _, err := m.b.WriteAt(buf, int64(h.descOffset)*sector); err != nil {
			return fmt.Errorf("vmdk: write descriptor of %s: %w", m.path, err)
		}
	} else {
		if _, err := m.b.WriteAt([]byte(text), 0); err != nil {
			return fmt.Errorf("vmdk: write descriptor %s: %w", m.path, err)
		}
		if err := m.b.Truncate(int64(len(text))); err != nil {
			return fmt.Errorf("vmdk: write descriptor %s: %w", m.path, err)
		}
	}
	m.desc.text, m.desc.cid, m.cidUpdated = text, cid, true
	return nil
}

// Map reports which parts of [off, off+length) this layer holds.
func (m *Image) Map(off, length int64) ([]disk.Extent, error) {
	if length < 0 || off < 0 || off > m.size || length > m.size-off {
		return nil, fmt.Errorf("vmdk: map %s: %w: offset %d length %d", m.path, disk.ErrOutOfRange, off, length)
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
	for o, end := off, off+length; o < end; {
		e := m.extentAt(o)
		n := int64(m.chunk(e, o, int(min(end-o, 1<<62))))
		switch e.kind {
		case extZero:
			add(o, n, true, true)
		case extFlat:
			add(o, n, true, false)
		case extSparse:
			rel := o - e.start
			g := rel / e.sp.grainBytes
			if gdi := g / e.sp.gtes; gdi >= int64(len(e.sp.gd)) || e.sp.gd[gdi] == 0 {
				// a whole grain table's span is unallocated
				span := e.sp.grainBytes * e.sp.gtes
				n = min(end-o, e.start+e.length-o, span-rel%span)
				add(o, n, false, false)
				break
			}
			k, _, err := e.sp.lookup(g)
			if err != nil {
				return nil, err
			}
			add(o, n, k != grainUnallocated, k == grainZero)
		}
		o += n
	}
	return out, nil
}
