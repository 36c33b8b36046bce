package ntfs

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// Record flags.
const (
	rfInUse     uint16 = 0x0001
	rfDirectory uint16 = 0x0002
)

// record is a decoded MFT file record segment.
type record struct {
	Num      uint64
	Seq      uint16
	Links    uint16
	Flags    uint16
	Base     uint64 // file reference of the base record, 0 for a base record
	NextID   uint16
	LSN      uint64
	Attrs    []*attr
	size     int
	usaOfs   int
	usaCount int
	firstOfs int
	usn      uint16 // last update sequence number, preserved across writes
}

// fileRef packs a record number and sequence number into a file reference.
func fileRef(num uint64, seq uint16) uint64 { return num&0xffffffffffff | uint64(seq)<<48 }

func refNum(ref uint64) uint64 { return ref & 0xffffffffffff }

// parseRecord decodes an MFT record (update sequence still applied) of
// exactly the volume's record size.
func parseRecord(b []byte, num uint64, clusters int64, off int64) (*record, error) {
	structure := fmt.Sprintf("MFT record %d", num)
	if len(b) < 0x30 || string(b[:4]) != "FILE" {
		if len(b) >= 4 && string(b[:4]) == "BAAD" {
			return nil, corrupt(structure, off, "marked BAAD by chkdsk")
		}
		return nil, corrupt(structure, off, "no FILE signature")
	}
	buf := append([]byte(nil), b...)
	if err := unfixup(buf, structure, off); err != nil {
		return nil, err
	}
	r := &record{Num: num, size: len(buf)}
	r.usaOfs = int(binary.LittleEndian.Uint16(buf[4:]))
	r.usaCount = int(binary.LittleEndian.Uint16(buf[6:]))
	r.usn = binary.LittleEndian.Uint16(buf[r.usaOfs:])
	r.LSN = binary.LittleEndian.Uint64(buf[8:])
	r.Seq = binary.LittleEndian.Uint16(buf[0x10:])
	r.Links = binary.LittleEndian.Uint16(buf[0x12:])
	r.firstOfs = int(binary.LittleEndian.Uint16(buf[0x14:]))
	r.Flags = binary.LittleEndian.Uint16(buf[0x16:])
	used := int(binary.LittleEndian.Uint32(buf[0x18:]))
	alloc := int(binary.LittleEndian.Uint32(buf[0x1c:]))
	r.Base = binary.LittleEndian.Uint64(buf[0x20:])
	r.NextID = binary.LittleEndian.Uint16(buf[0x28:])
	if alloc != len(buf) || used > alloc || used < r.firstOfs || r.firstOfs < r.usaOfs+2*r.usaCount || r.firstOfs%8 != 0 {
		return nil, corrupt(structure, off, "header sizes used %d alloc %d first attribute %d", used, alloc, r.firstOfs)
	}
	for pos := r.firstOfs; ; {
		a, n, err := parseAttr(buf[pos:used], clusters)
		if err != nil {
			return nil, &CorruptError{Structure: structure, Offset: off + int64(pos), Reason: err.Error()}
		}
		if a == nil {
			break
		}
		r.Attrs = append(r.Attrs, a)
		pos += n
		if len(r.Attrs) > used/0x18 {
			return nil, corrupt(structure, off, "too many attributes")
		}
	}
	return r, nil
}

// marshal encodes the record with its update sequence applied, ready to
// write. It fails when the attributes no longer fit.
func (r *record) marshal() ([]byte, error) {
	b := make([]byte, r.size)
	copy(b, "FILE")
	binary.LittleEndian.PutUint16(b[4:], uint16(r.usaOfs))
	binary.LittleEndian.PutUint16(b[6:], uint16(r.usaCount))
	binary.LittleEndian.PutUint16(b[r.usaOfs:], r.usn)
	binary.LittleEndian.PutUint64(b[8:], r.LSN)
	binary.LittleEndian.PutUint16(b[0x10:], r.Seq)
	binary.LittleEndian.PutUint16(b[0x12:], r.Links)
	binary.LittleEndian.PutUint16(b[0x14:], uint16(r.firstOfs))
	binary.LittleEndian.PutUint16(b[0x16:], r.Flags)
	binary.LittleEndian.PutUint32(b[0x1c:], uint32(r.size))
	binary.LittleEndian.PutUint64(b[0x20:], r.Base)
	binary.LittleEndian.PutUint16(b[0x28:], r.NextID)
	if r.usaOfs >= 0x30 { // NTFS 3.0 records keep their USA at 0x2a instead
		binary.LittleEndian.PutUint32(b[0x2c:], uint32(r.Num))
	}
	pos := r.firstOfs
	for _, a := range r.Attrs {
		ab := a.marshal()
		if pos+len(ab)+8 > r.size {
			return nil, fmt.Errorf("%w: MFT record %d: attributes need more than %d bytes", errRecordFull, r.Num, r.size)
		}
		copy(b[pos:], ab)
		pos += len(ab)
	}
	binary.LittleEndian.PutUint32(b[pos:], atEnd)
	binary.LittleEndian.PutUint32(b[0x18:], uint32(pos+8))
	fixup(b)
	r.usn = binary.LittleEndian.Uint16(b[r.usaOfs:])
	return b, nil
}

// errRecordFull is internal: callers react by moving attributes out or
// refusing with ErrUnsupported.
var errRecordFull = fmt.Errorf("%w: MFT record full", ErrUnsupported)

// freeSpace is the number of bytes still available for attributes.
func (r *record) freeSpace() int {
	used := r.firstOfs + 8
	for _, a := range r.Attrs {
		used += len(a.marshal())
	}
	return r.size - used
}

// find returns the first attribute of a type and name, or nil.
func (r *record) find(typ uint32, name string) *attr {
	for _, a := range r.Attrs {
		if a.is(typ, name) {
			return a
		}
	}
	return nil
}

// add inserts an attribute in sorted position, assigning it a fresh id.
func (r *record) add(a *attr) {
	a.ID = r.NextID
	r.NextID++
	a.dirty = true
	r.Attrs = append(r.Attrs, a)
	sort.SliceStable(r.Attrs, func(i, j int) bool { return lessAttr(r.Attrs[i], r.Attrs[j]) })
}

func (r *record) remove(a *attr) {
	for i, x := range r.Attrs {
		if x == a {
			r.Attrs = append(r.Attrs[:i], r.Attrs[i+1:]...)
			return
		}
	}
}

// newRecord builds an empty in-use record in the layout this volume uses.
func newRecordLayout(num uint64, size int, seq uint16) *record {
	usaCount := size/fixupStride + 1
	first := align8(0x30 + 2*usaCount)
	return &record{Num: num, Seq: seq, size: size, usaOfs: 0x30, usaCount: usaCount, firstOfs: first, Flags: rfInUse}
}
