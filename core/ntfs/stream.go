package ntfs

import (
	"fmt"
	"io"
)

// stream reads (and for non-resident attributes writes in place) an
// attribute value.
type stream struct {
	v          *Volume
	nonRes     bool
	value      []byte // resident
	runs       []run
	size       int64
	init       int64
	alloc      int64
	compressed bool
	compUnit   uint8
}

// extentAt maps a byte offset to its volume offset and how many bytes stay
// contiguous from there; volume offset -1 is a sparse hole.
func (s *stream) extentAt(off int64) (vol int64, n int64, ok bool) {
	cs := s.v.boot.ClusterSize
	vcn := off / cs
	var at int64
	for _, r := range s.runs {
		if vcn < at+r.Length {
			within := off - at*cs
			n = r.Length*cs - within
			if r.LCN == sparseLCN {
				return -1, n, true
			}
			return r.LCN*cs + within, n, true
		}
		at += r.Length
	}
	return 0, 0, false
}

func (s *stream) volOffset(off int64) int64 {
	if !s.nonRes {
		return -1
	}
	vol, _, ok := s.extentAt(off)
	if !ok {
		return -1
	}
	return vol
}

// readFull fills b from offset off; bytes past the initialized size read as
// zeros, as Windows returns them.
func (s *stream) readFull(b []byte, off int64) error {
	if off < 0 || off > s.size || int64(len(b)) > s.size-off {
		return fmt.Errorf("read %d bytes at %d past end of attribute (%d): %w", len(b), off, s.size, io.ErrUnexpectedEOF)
	}
	if !s.nonRes {
		copy(b, s.value[off:])
		return nil
	}
	if s.compressed {
		return s.readCompressed(b, off)
	}
	for len(b) > 0 {
		if off >= s.init {
			clear(b)
			return nil
		}
		vol, n, ok := s.extentAt(off)
		if !ok {
			return fmt.Errorf("offset %d not mapped by runlist: %w", off, ErrCorrupt)
		}
		n = min(n, int64(len(b)), s.init-off)
		if vol < 0 {
			clear(b[:n])
		} else if _, err := s.v.r.ReadAt(b[:n], vol); err != nil {
			return fmt.Errorf("read volume at %d: %w", vol, err)
		}
		b = b[n:]
		off += n
	}
	return nil
}

// readAll returns the whole value, refusing values larger than limit.
func (s *stream) readAll(limit int64) ([]byte, error) {
	if s.size > limit {
		return nil, fmt.Errorf("attribute of %d bytes exceeds the %d-byte limit: %w", s.size, limit, ErrUnsupported)
	}
	b := make([]byte, s.size)
	return b, s.readFull(b, 0)
}

// writeFull writes b at offset off of an already allocated non-resident
// stream (off+len within the allocation).
func (s *stream) writeFull(b []byte, off int64) error {
	for len(b) > 0 {
		vol, n, ok := s.extentAt(off)
		if !ok || vol < 0 {
			return fmt.Errorf("write at %d: not allocated: %w", off, ErrCorrupt)
		}
		n = min(n, int64(len(b)))
		if err := s.v.writeAt(b[:n], vol); err != nil {
			return err
		}
		b = b[n:]
		off += n
	}
	return nil
}

// writeAt is the only path to the device.
func (v *Volume) writeAt(b []byte, off int64) error {
	if err := v.writable(); err != nil {
		return err
	}
	if off < 0 || off+int64(len(b)) > v.size {
		v.err = fmt.Errorf("ntfs: write of %d bytes at %d beyond volume end %d", len(b), off, v.size)
		return v.err
	}
	if err := v.markDirty(); err != nil {
		return err
	}
	v.writes++
	if _, err := v.w.WriteAt(b, off); err != nil {
		v.err = fmt.Errorf("ntfs: write %d bytes at volume offset %d: %w", len(b), off, err)
		return v.err
	}
	return nil
}

// writeRecord encodes and writes an MFT record, and its $MFTMirr copy for
// the first records.
func (v *Volume) writeRecord(r *record) error { return v.writeRecordOrdered(r, false) }

// writeRecordOrdered can write the $MFTMirr copy first: clearing the dirty
// flag does so, so a cut between the two writes leaves $MFT still dirty.
func (v *Volume) writeRecordOrdered(r *record, mirrorFirst bool) error {
	b, err := r.marshal()
	if err != nil {
		return err
	}
	off := int64(r.Num) * int64(v.boot.RecordSize)
	writeMain := func() error {
		if err := v.mft.writeFull(b, off); err != nil {
			return fmt.Errorf("ntfs: write MFT record %d: %w", r.Num, err)
		}
		return nil
	}
	writeMirror := func() error {
		if r.Num >= uint64(v.mirrorRecs) {
			return nil
		}
		mirr, err := v.openFile(recMFTMirr)
		if err != nil {
			return err
		}
		ms, err := mirr.stream(atData, "")
		if err != nil {
			return err
		}
		if err := ms.writeFull(b, off); err != nil {
			return fmt.Errorf("ntfs: write $MFTMirr copy of record %d: %w", r.Num, err)
		}
		return nil
	}
	v.cache[r.Num] = r
	steps := []func() error{writeMain, writeMirror}
	if mirrorFirst {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
