package qcow2

import (
	"encoding/binary"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

// WriteAt writes guest bytes, allocating clusters at the end of the file.
func (m *Image) WriteAt(p []byte, off int64) (int, error) {
	if !m.writable {
		return 0, fmt.Errorf("qcow2: write %s: %w", m.path, disk.ErrReadOnly)
	}
	if err := disk.CheckRange(off, len(p), int64(m.h.size)); err != nil {
		return 0, fmt.Errorf("qcow2: write %s: %w", m.path, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, fmt.Errorf("qcow2: write %s: image closed", m.path)
	}
	if m.err != nil {
		return 0, m.err
	}
	if err := m.prepareWrite(); err != nil {
		m.err = err
		return 0, err
	}
	done := 0
	for done < len(p) {
		o := off + int64(done)
		if o&(m.cs-1) == 0 {
			n, err := m.writeNew(p[done:], o)
			if err != nil {
				m.err = fmt.Errorf("qcow2: write %s at guest offset %d: %w", m.path, o, err)
				return done, m.err
			}
			if n > 0 {
				done += n
				continue
			}
		}
		n := int(min(int64(len(p)-done), m.cs-o&(m.cs-1)))
		if err := m.writeCluster(p[done:done+n], o); err != nil {
			m.err = fmt.Errorf("qcow2: write %s at guest offset %d: %w", m.path, o, err)
			return done, m.err
		}
		done += n
	}
	return done, nil
}

// prepareWrite clears the autoclear feature bits before the first change:
// this writer does not maintain what they vouch for (e.g. dirty bitmaps).
func (m *Image) prepareWrite() error {
	if m.prepared {
		return nil
	}
	if m.h.version >= 3 && m.h.autoclear != 0 {
		var z [8]byte
		if _, err := m.b.WriteAt(z[:], offAutoclear); err != nil {
			return fmt.Errorf("qcow2: write header of %s: %w", m.path, err)
		}
		m.h.autoclear = 0
	}
	m.prepared = true
	return nil
}

// writeNew writes the leading whole clusters of p (off is cluster aligned)
// that this layer does not map yet and that are not all zeros, as one run
// of new host clusters: their refcounts first, then the data in one write,
// then their L2 entries in one write (all in one L2 table), the order the
// package documents. Nothing of the old cluster is read: it is replaced
// whole. It returns the bytes written; 0 leaves the first cluster to
// writeCluster.
func (m *Image) writeNew(p []byte, off int64) (int, error) {
	ci := off >> m.bits
	ti, first := ci/m.l2n, ci%m.l2n
	t, _, err := m.l2Table(ti)
	if err != nil {
		return 0, err
	}
	var k int64
	for k < int64(len(p))/m.cs && first+k < m.l2n {
		if t != nil && t[first+k] != 0 {
			break // mapped, zero or compressed: writeCluster knows what to keep
		}
		if disk.AllZero(p[k*m.cs : (k+1)*m.cs]) {
			break // may stay sparse: writeCluster decides
		}
		k++
	}
	if k == 0 {
		return 0, nil
	}
	host, err := m.allocClusters(k)
	if err != nil {
		return 0, err
	}
	n := k * m.cs
	if _, err := m.b.WriteAt(p[:n], host); err != nil {
		return 0, fmt.Errorf("write %d new clusters at %d: %w", k, host, err)
	}
	t, l2off, err := m.ensureL2(ti)
	if err != nil {
		return 0, err
	}
	ents := make([]byte, 8*k)
	for j := range k {
		binary.BigEndian.PutUint64(ents[8*j:], uint64(host+j*m.cs)|flagCopied)
	}
	at := l2off + first*8
	if _, err := m.b.WriteAt(ents, at); err != nil {
		return 0, fmt.Errorf("qcow2: write L2 entries of %s at %d: %w", m.path, at, err)
	}
	for j := range k {
		t[first+j] = uint64(host+j*m.cs) | flagCopied
	}
	return int(n), nil
}

// writeCluster writes p, which lies within one guest cluster, at off.
func (m *Image) writeCluster(p []byte, off int64) error {
	mp, err := m.lookup(off)
	if err != nil {
		return err
	}
	within := off & (m.cs - 1)
	if mp.kind == dataCluster {
		inPlace := mp.entry&flagCopied != 0
		if !inPlace {
			r, err := m.refcount(mp.host / m.cs)
			if err != nil {
				return err
			}
			if inPlace = r == 1; inPlace {
				if err := m.setL2(off, mp.entry|flagCopied); err != nil {
					return err
				}
			}
		}
		if inPlace {
			if _, err := m.b.WriteAt(p, mp.host+within); err != nil {
				return fmt.Errorf("write data cluster at %d: %w", mp.host+within, err)
			}
			return nil
		}
	}
	if int64(len(p)) == m.cs && !disk.AllZero(p) {
		// The whole cluster is replaced: nothing of the old one is needed.
		return m.replaceCluster(p, off, mp)
	}
	// Copy on write: build the whole new cluster from what the guest saw.
	start := off - within
	base := make([]byte, m.cs)
	switch mp.kind {
	case unallocated:
		n := min(m.cs, int64(m.h.size)-start)
		if m.parent != nil { // without one, base is already the zeros the guest saw
			if err := m.readParent(base[:n], start); err != nil {
				return err
			}
		}
	case dataCluster:
		if _, err := readFullAt(m.b, base, mp.host); err != nil {
			return fmt.Errorf("read shared cluster at %d: %w", mp.host, err)
		}
	case compressedCluster:
		c, err := m.decompress(mp.entry, true)
		if err != nil {
			return err
		}
		copy(base, c)
	}
	baseZero := disk.AllZero(base)
	copy(base[within:], p)
	if disk.AllZero(base) {
		switch {
		case mp.kind == zeroCluster || (mp.kind == unallocated && baseZero):
			return nil // already reads as zeros: stay sparse
		case m.h.version >= 3:
			if err := m.setL2(off, flagZero); err != nil {
				return err
			}
			return m.release(mp)
		}
	}
	return m.replaceCluster(base, off, mp)
}

// replaceCluster writes the whole cluster c to a new host cluster, maps the
// guest cluster holding off to it and drops the old mapping mp.
func (m *Image) replaceCluster(c []byte, off int64, mp mapping) error {
	host, err := m.allocClusters(1)
	if err != nil {
		return err
	}
	if _, err := m.b.WriteAt(c, host); err != nil {
		return fmt.Errorf("write new cluster at %d: %w", host, err)
	}
	if err := m.setL2(off, uint64(host)|flagCopied); err != nil {
		return err
	}
	return m.release(mp)
}

// release drops this layer's reference to what an L2 entry pointed to.
func (m *Image) release(mp mapping) error {
	switch mp.kind {
	case dataCluster, zeroCluster:
		if mp.host != 0 {
			return m.unref(mp.host, m.cs)
		}
	case compressedCluster:
		off, n := compressedRange(mp.entry, m.bits)
		// Refcounts cover whole 512-byte sectors of the compressed stream.
		return m.unref(off&^511, n+off&511)
	}
	return nil
}

// setL2 stores the L2 entry for the guest cluster holding off, allocating
// the L2 table if there is none yet.
func (m *Image) setL2(off int64, e uint64) error {
	ci := off >> m.bits
	t, l2off, err := m.ensureL2(ci / m.l2n)
	if err != nil {
		return err
	}
	return m.writeEntry(t, l2off, ci%m.l2n, e)
}

func (m *Image) ensureL2(i int64) ([]uint64, int64, error) {
	if i >= int64(len(m.l1)) {
		return nil, 0, m.ferr("L1 table", int64(m.h.l1Offset), fmt.Sprintf("index %d beyond its %d entries", i, len(m.l1)), nil)
	}
	t, off, err := m.l2Table(i)
	if err != nil {
		return nil, 0, err
	}
	if t != nil {
		if m.l1[i]&flagCopied == 0 {
			r, err := m.refcount(off / m.cs)
			if err != nil {
				return nil, 0, err
			}
			if r != 1 {
				return nil, 0, m.ferr("L1 table", int64(m.h.l1Offset)+i*8, fmt.Sprintf("L2 table at %d is shared (refcount %d); writing shared tables is not supported", off, r), nil)
			}
			if err := m.writeEntry(m.l1, int64(m.h.l1Offset), i, m.l1[i]|flagCopied); err != nil {
				return nil, 0, err
			}
		}
		return t, off, nil
	}
	off, err = m.allocClusters(1)
	if err != nil {
		return nil, 0, err
	}
	if _, err := m.b.WriteAt(make([]byte, m.cs), off); err != nil {
		return nil, 0, fmt.Errorf("write new L2 table at %d: %w", off, err)
	}
	t = make([]uint64, m.l2n)
	m.l2cache.Put(off, t)
	if err := m.writeEntry(m.l1, int64(m.h.l1Offset), i, uint64(off)|flagCopied); err != nil {
		return nil, 0, err
	}
	return t, off, nil
}
