package ntfs

import (
	"encoding/binary"
	"fmt"
)

// Attribute type codes.
const (
	atStandardInfo  uint32 = 0x10
	atAttributeList uint32 = 0x20
	atFileName      uint32 = 0x30
	atVolumeInfo    uint32 = 0x70
	atData          uint32 = 0x80
	atIndexRoot     uint32 = 0x90
	atIndexAlloc    uint32 = 0xa0
	atBitmap        uint32 = 0xb0
	atEnd           uint32 = 0xffffffff
)

// Attribute flags.
const (
	afCompressed uint16 = 0x0001
	afEncrypted  uint16 = 0x4000
	afSparse     uint16 = 0x8000
)

// attr is one decoded attribute record. Unmodified attributes are written
// back byte for byte from raw; setting dirty re-encodes them.
type attr struct {
	Type   uint32
	Name   []uint16
	Flags  uint16
	ID     uint16
	NonRes bool

	// resident
	Value    []byte
	ResFlags uint8

	// non-resident
	LowVCN, HighVCN int64
	CompUnit        uint8
	AllocSize       int64
	DataSize        int64
	InitSize        int64
	CompSize        int64
	Runs            []run

	raw   []byte
	dirty bool
}

func (a *attr) is(typ uint32, name string) bool {
	return a.Type == typ && fromUTF16(a.Name) == name
}

// parseAttr decodes the attribute at the start of b (bounded by the record).
// It returns the attribute and its on-disk length, or a length of 0 at the
// end marker.
func parseAttr(b []byte, clusters int64) (*attr, int, error) {
	if len(b) < 4 {
		return nil, 0, fmt.Errorf("%w: attribute header truncated", ErrCorrupt)
	}
	typ := binary.LittleEndian.Uint32(b)
	if typ == atEnd {
		return nil, 0, nil
	}
	if len(b) < 0x18 {
		return nil, 0, fmt.Errorf("%w: attribute header truncated", ErrCorrupt)
	}
	length := int(binary.LittleEndian.Uint32(b[4:]))
	if length < 0x18 || length > len(b) || length%8 != 0 {
		return nil, 0, fmt.Errorf("%w: attribute %#x length %d (room %d)", ErrCorrupt, typ, length, len(b))
	}
	b = b[:length]
	a := &attr{Type: typ, NonRes: b[8] != 0, Flags: binary.LittleEndian.Uint16(b[0xc:]), ID: binary.LittleEndian.Uint16(b[0xe:])}
	nameLen, nameOfs := int(b[9]), int(binary.LittleEndian.Uint16(b[0xa:]))
	if nameLen > 0 {
		if nameOfs+2*nameLen > length {
			return nil, 0, fmt.Errorf("%w: attribute %#x name out of bounds", ErrCorrupt, typ)
		}
		a.Name = decodeUTF16(b[nameOfs : nameOfs+2*nameLen])
	}
	if !a.NonRes {
		vlen := int(binary.LittleEndian.Uint32(b[0x10:]))
		vofs := int(binary.LittleEndian.Uint16(b[0x14:]))
		if vofs > length || vlen > length-vofs {
			return nil, 0, fmt.Errorf("%w: resident attribute %#x value %d+%d outside %d", ErrCorrupt, typ, vofs, vlen, length)
		}
		a.Value = append([]byte(nil), b[vofs:vofs+vlen]...)
		a.ResFlags = b[0x16]
	} else {
		if length < 0x40 {
			return nil, 0, fmt.Errorf("%w: non-resident attribute %#x header too short", ErrCorrupt, typ)
		}
		a.LowVCN = int64(binary.LittleEndian.Uint64(b[0x10:]))
		a.HighVCN = int64(binary.LittleEndian.Uint64(b[0x18:]))
		mpo := int(binary.LittleEndian.Uint16(b[0x20:]))
		a.CompUnit = b[0x22]
		a.AllocSize = int64(binary.LittleEndian.Uint64(b[0x28:]))
		a.DataSize = int64(binary.LittleEndian.Uint64(b[0x30:]))
		a.InitSize = int64(binary.LittleEndian.Uint64(b[0x38:]))
		if (a.CompUnit != 0 || a.Flags&(afCompressed|afSparse) != 0) && length >= 0x48 && mpo >= 0x48 {
			a.CompSize = int64(binary.LittleEndian.Uint64(b[0x40:]))
		}
		if a.LowVCN < 0 || a.HighVCN < a.LowVCN-1 || a.AllocSize < 0 || a.DataSize < 0 || a.InitSize < 0 ||
			a.InitSize > a.AllocSize || a.DataSize > a.AllocSize {
			return nil, 0, fmt.Errorf("%w: non-resident attribute %#x sizes alloc %d data %d init %d vcn %d-%d",
				ErrCorrupt, typ, a.AllocSize, a.DataSize, a.InitSize, a.LowVCN, a.HighVCN)
		}
		if mpo < 0x40 || mpo > length {
			return nil, 0, fmt.Errorf("%w: mapping pairs offset %d", ErrCorrupt, mpo)
		}
		runs, err := decodeRuns(b[mpo:], clusters)
		if err != nil {
			return nil, 0, fmt.Errorf("attribute %#x: %w", typ, err)
		}
		if got := runsClusters(runs); got != a.HighVCN-a.LowVCN+1 {
			return nil, 0, fmt.Errorf("%w: attribute %#x runlist maps %d clusters, VCNs %d-%d", ErrCorrupt, typ, got, a.LowVCN, a.HighVCN)
		}
		a.Runs = runs
	}
	a.raw = append([]byte(nil), b...)
	return a, length, nil
}

func align8(n int) int { return (n + 7) &^ 7 }

// marshal encodes the attribute record.
func (a *attr) marshal() []byte {
	if !a.dirty && a.raw != nil {
		return a.raw
	}
	name := encodeUTF16(a.Name)
	var b []byte
	if !a.NonRes {
		nameOfs := 0x18
		vofs := align8(nameOfs + len(name))
		length := align8(vofs + len(a.Value))
		b = make([]byte, length)
		binary.LittleEndian.PutUint32(b[0x10:], uint32(len(a.Value)))
		binary.LittleEndian.PutUint16(b[0x14:], uint16(vofs))
		b[0x16] = a.ResFlags
		binary.LittleEndian.PutUint16(b[0xa:], uint16(nameOfs))
		copy(b[nameOfs:], name)
		copy(b[vofs:], a.Value)
	} else {
		hdr := 0x40
		if a.CompUnit != 0 {
			hdr = 0x48
		}
		pairs := encodeRuns(a.Runs)
		mpo := align8(hdr + len(name))
		length := align8(mpo + len(pairs))
		b = make([]byte, length)
		binary.LittleEndian.PutUint16(b[0xa:], uint16(hdr))
		copy(b[hdr:], name)
		binary.LittleEndian.PutUint64(b[0x10:], uint64(a.LowVCN))
		binary.LittleEndian.PutUint64(b[0x18:], uint64(a.HighVCN))
		binary.LittleEndian.PutUint16(b[0x20:], uint16(mpo))
		b[0x22] = a.CompUnit
		binary.LittleEndian.PutUint64(b[0x28:], uint64(a.AllocSize))
		binary.LittleEndian.PutUint64(b[0x30:], uint64(a.DataSize))
		binary.LittleEndian.PutUint64(b[0x38:], uint64(a.InitSize))
		if a.CompUnit != 0 {
			binary.LittleEndian.PutUint64(b[0x40:], uint64(a.CompSize))
		}
		copy(b[mpo:], pairs)
		b[8] = 1
	}
	binary.LittleEndian.PutUint32(b, a.Type)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	b[9] = byte(len(a.Name))
	binary.LittleEndian.PutUint16(b[0xc:], a.Flags)
	binary.LittleEndian.PutUint16(b[0xe:], a.ID)
	a.raw = b
	a.dirty = false
	return b
}

// setRuns replaces the runlist of a whole (single-extent) non-resident
// attribute and its sizes.
func (a *attr) setRuns(runs []run, clusterSize, dataSize, initSize int64) {
	a.Runs = runs
	n := runsClusters(runs)
	a.LowVCN = 0
	a.HighVCN = n - 1
	a.AllocSize = n * clusterSize
	a.DataSize = dataSize
	a.InitSize = initSize
	a.dirty = true
}

// lessAttr orders attributes inside a record: by type, then name.
func lessAttr(a, b *attr) bool {
	if a.Type != b.Type {
		return a.Type < b.Type
	}
	return compareRaw(a.Name, b.Name) < 0
}
