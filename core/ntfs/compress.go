package ntfs

import (
	"encoding/binary"
	"fmt"
)

// NTFS compression works in units of 2^CompUnit clusters (16 on every
// Windows volume). A unit is either all sparse (zeros), fully allocated
// (stored raw), or allocated in part: then its clusters hold LZNT1 chunks
// of up to 4 KiB of output each and the rest of the unit is a hole.

const (
	lzntChunk   = 4096
	maxCompUnit = 1 << 20 // bytes; Windows uses 64 KiB
)

// readCompressed fills b from offset off of a compressed attribute.
func (s *stream) readCompressed(b []byte, off int64) error {
	cs := s.v.boot.ClusterSize
	if s.compUnit > 16 {
		return fmt.Errorf("compression unit 2^%d clusters: %w", s.compUnit, ErrCorrupt)
	}
	unitClusters := int64(1) << s.compUnit
	unitSize := unitClusters * cs
	if unitSize > maxCompUnit {
		return fmt.Errorf("compression unit of %d bytes: %w", unitSize, ErrUnsupported)
	}
	for len(b) > 0 {
		u := off / unitSize
		within := off - u*unitSize
		unit, err := s.readUnit(u*unitClusters, unitClusters)
		if err != nil {
			return err
		}
		n := copy(b, unit[within:])
		// Bytes past the initialized size read as zeros.
		for i := 0; i < n; i++ {
			if off+int64(i) >= s.init {
				clear(b[i:n])
				break
			}
		}
		b = b[n:]
		off += int64(n)
	}
	return nil
}

// readUnit returns one decompressed compression unit starting at vcn.
func (s *stream) readUnit(vcn, clusters int64) ([]byte, error) {
	cs := s.v.boot.ClusterSize
	out := make([]byte, clusters*cs)
	var lcns []int64 // LCN per cluster, -1 for holes
	var at int64
	for _, r := range s.runs {
		if at+r.Length <= vcn {
			at += r.Length
			continue
		}
		for c := max(vcn, at); c < at+r.Length && c < vcn+clusters; c++ {
			if r.LCN == sparseLCN {
				lcns = append(lcns, -1)
			} else {
				lcns = append(lcns, r.LCN+c-at)
			}
		}
		at += r.Length
		if at >= vcn+clusters {
			break
		}
	}
	allocated := 0
	for _, l := range lcns {
		if l >= 0 {
			allocated++
		}
	}
	if allocated == 0 {
		return out, nil // hole, or beyond the runlist
	}
	raw := make([]byte, int64(allocated)*cs)
	for i, l := range lcns[:allocated] {
		if l < 0 {
			return nil, fmt.Errorf("compression unit at VCN %d: hole before data: %w", vcn, ErrCorrupt)
		}
		if _, err := s.v.r.ReadAt(raw[int64(i)*cs:int64(i+1)*cs], l*cs); err != nil {
			return nil, fmt.Errorf("read compressed cluster %d: %w", l, err)
		}
	}
	if int64(allocated) == clusters {
		return raw, nil // stored uncompressed
	}
	if err := lznt1Decompress(out, raw); err != nil {
		return nil, fmt.Errorf("compression unit at VCN %d: %w", vcn, err)
	}
	return out, nil
}

// lznt1Decompress expands LZNT1 chunks from src into dst (which is zero
// filled beyond the decompressed data).
func lznt1Decompress(dst, src []byte) error {
	op := 0
	for len(src) >= 2 && op < len(dst) {
		h := binary.LittleEndian.Uint16(src)
		if h == 0 {
			return nil
		}
		size := int(h&0x0fff) + 1
		if 2+size > len(src) {
			return fmt.Errorf("%w: LZNT1 chunk of %d bytes past the end", ErrCorrupt, size)
		}
		chunk := src[2 : 2+size]
		src = src[2+size:]
		end := min(op+lzntChunk, len(dst))
		if h&0x8000 == 0 { // stored
			copy(dst[op:end], chunk)
			op += lzntChunk
			continue
		}
		start := op
		for i := 0; i < len(chunk) && op < end; {
			flags := chunk[i]
			i++
			for bit := 0; bit < 8 && i < len(chunk) && op < end; bit++ {
				if flags&(1<<bit) == 0 {
					dst[op] = chunk[i]
					op++
					i++
					continue
				}
				if i+1 >= len(chunk) {
					return fmt.Errorf("%w: LZNT1 truncated back-reference", ErrCorrupt)
				}
				tok := int(binary.LittleEndian.Uint16(chunk[i:]))
				i += 2
				pos := op - start
				lmask, oshift := 0xfff, 12
				for p := pos - 1; p >= 0x10; p >>= 1 {
					lmask >>= 1
					oshift--
				}
				length := tok&lmask + 3
				back := tok>>oshift + 1
				if back > pos {
					return fmt.Errorf("%w: LZNT1 back-reference %d before chunk start (at %d)", ErrCorrupt, back, pos)
				}
				for k := 0; k < length && op < end; k++ {
					dst[op] = dst[op-back]
					op++
				}
			}
		}
		op = start + lzntChunk
	}
	return nil
}
