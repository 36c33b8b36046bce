package ntfs

import (
	"encoding/binary"
	"fmt"
)

// Index entry flags.
const (
	ieSubnode uint16 = 0x01
	ieLast    uint16 = 0x02
)

// Index header flags.
const ihLarge uint8 = 0x01 // node (or root) has children

// indexEntry is one $I30 entry; Key is a $FILE_NAME value.
type indexEntry struct {
	Ref   uint64
	Flags uint16
	Key   []byte
	Child int64 // VCN of the subnode when Flags&ieSubnode
}

func (e *indexEntry) last() bool    { return e.Flags&ieLast != 0 }
func (e *indexEntry) subnode() bool { return e.Flags&ieSubnode != 0 }

func (e *indexEntry) size() int {
	n := align8(0x10 + len(e.Key))
	if e.subnode() {
		n += 8
	}
	return n
}

// maxIndexEntries bounds a node; a 64 KiB block holds fewer.
const maxIndexEntries = 4096

// parseIndexEntries decodes entries until the last-entry marker.
func parseIndexEntries(b []byte) ([]indexEntry, error) {
	var out []indexEntry
	for pos := 0; ; {
		if pos+0x10 > len(b) {
			return nil, fmt.Errorf("%w: index entries run past the node (offset %d of %d)", ErrCorrupt, pos, len(b))
		}
		e := indexEntry{
			Ref:   binary.LittleEndian.Uint64(b[pos:]),
			Flags: binary.LittleEndian.Uint16(b[pos+0xc:]),
		}
		length := int(binary.LittleEndian.Uint16(b[pos+8:]))
		keyLen := int(binary.LittleEndian.Uint16(b[pos+0xa:]))
		if length < 0x10 || length%8 != 0 || pos+length > len(b) || 0x10+keyLen > length {
			return nil, fmt.Errorf("%w: index entry at %d: length %d key %d", ErrCorrupt, pos, length, keyLen)
		}
		if e.subnode() {
			if length < 0x18 || 0x10+keyLen > length-8 {
				return nil, fmt.Errorf("%w: index entry at %d: no room for subnode VCN", ErrCorrupt, pos)
			}
			e.Child = int64(binary.LittleEndian.Uint64(b[pos+length-8:]))
			if e.Child < 0 {
				return nil, fmt.Errorf("%w: index entry at %d: subnode VCN %d", ErrCorrupt, pos, e.Child)
			}
		}
		if !e.last() {
			if keyLen < fileNameHeader {
				return nil, fmt.Errorf("%w: index entry at %d: key of %d bytes", ErrCorrupt, pos, keyLen)
			}
			e.Key = append([]byte(nil), b[pos+0x10:pos+0x10+keyLen]...)
		}
		out = append(out, e)
		if e.last() {
			return out, nil
		}
		if len(out) > maxIndexEntries {
			return nil, fmt.Errorf("%w: more than %d index entries in a node", ErrCorrupt, maxIndexEntries)
		}
		pos += length
	}
}

func encodeIndexEntries(es []indexEntry) []byte {
	n := 0
	for i := range es {
		n += es[i].size()
	}
	b := make([]byte, n)
	pos := 0
	for i := range es {
		e := &es[i]
		sz := e.size()
		binary.LittleEndian.PutUint64(b[pos:], e.Ref)
		binary.LittleEndian.PutUint16(b[pos+8:], uint16(sz))
		binary.LittleEndian.PutUint16(b[pos+0xa:], uint16(len(e.Key)))
		binary.LittleEndian.PutUint16(b[pos+0xc:], e.Flags)
		copy(b[pos+0x10:], e.Key)
		if e.subnode() {
			binary.LittleEndian.PutUint64(b[pos+sz-8:], uint64(e.Child))
		}
		pos += sz
	}
	return b
}

func entriesSize(es []indexEntry) int {
	n := 0
	for i := range es {
		n += es[i].size()
	}
	return n
}

// indexRoot is a decoded $INDEX_ROOT value.
type indexRoot struct {
	AttrType   uint32
	Collation  uint32
	BlockSize  int
	ClustersPB uint8
	Flags      uint8
	Entries    []indexEntry
}

const indexRootHeader = 0x20 // root fields + index header

func parseIndexRoot(b []byte) (*indexRoot, error) {
	if len(b) < indexRootHeader {
		return nil, fmt.Errorf("%w: $INDEX_ROOT of %d bytes", ErrCorrupt, len(b))
	}
	ir := &indexRoot{
		AttrType:   binary.LittleEndian.Uint32(b),
		Collation:  binary.LittleEndian.Uint32(b[4:]),
		BlockSize:  int(binary.LittleEndian.Uint32(b[8:])),
		ClustersPB: b[0xc],
		Flags:      b[0x1c],
	}
	eofs := int(binary.LittleEndian.Uint32(b[0x10:]))
	ilen := int(binary.LittleEndian.Uint32(b[0x14:]))
	if ir.BlockSize < 512 || ir.BlockSize > maxIndexBlock || ir.BlockSize&(ir.BlockSize-1) != 0 {
		return nil, fmt.Errorf("%w: $INDEX_ROOT block size %d", ErrCorrupt, ir.BlockSize)
	}
	if eofs < 0x10 || ilen < eofs || 0x10+ilen > len(b) {
		return nil, fmt.Errorf("%w: $INDEX_ROOT entries %d..%d in %d bytes", ErrCorrupt, eofs, ilen, len(b))
	}
	es, err := parseIndexEntries(b[0x10+eofs : 0x10+ilen])
	if err != nil {
		return nil, fmt.Errorf("$INDEX_ROOT: %w", err)
	}
	ir.Entries = es
	return ir, nil
}

func (ir *indexRoot) marshal() []byte {
	es := encodeIndexEntries(ir.Entries)
	b := make([]byte, indexRootHeader+len(es))
	binary.LittleEndian.PutUint32(b, ir.AttrType)
	binary.LittleEndian.PutUint32(b[4:], ir.Collation)
	binary.LittleEndian.PutUint32(b[8:], uint32(ir.BlockSize))
	b[0xc] = ir.ClustersPB
	binary.LittleEndian.PutUint32(b[0x10:], 0x10)
	binary.LittleEndian.PutUint32(b[0x14:], uint32(0x10+len(es)))
	binary.LittleEndian.PutUint32(b[0x18:], uint32(0x10+len(es)))
	b[0x1c] = ir.Flags
	copy(b[indexRootHeader:], es)
	return b
}

// indexBlock is a decoded INDX block of $INDEX_ALLOCATION.
type indexBlock struct {
	VCN      int64
	Flags    uint8
	Entries  []indexEntry
	LSN      uint64
	size     int
	usaCount int
	usn      uint16
}

const indexBlockHeader = 0x28 // up to the update sequence array

func parseIndexBlock(b []byte, structure string, off int64) (*indexBlock, error) {
	if len(b) < 0x40 || string(b[:4]) != "INDX" {
		return nil, corrupt(structure, off, "no INDX signature")
	}
	buf := append([]byte(nil), b...)
	if err := unfixup(buf, structure, off); err != nil {
		return nil, err
	}
	ib := &indexBlock{
		LSN:      binary.LittleEndian.Uint64(buf[8:]),
		VCN:      int64(binary.LittleEndian.Uint64(buf[0x10:])),
		Flags:    buf[0x24],
		size:     len(buf),
		usaCount: int(binary.LittleEndian.Uint16(buf[6:])),
		usn:      binary.LittleEndian.Uint16(buf[binary.LittleEndian.Uint16(buf[4:]):]),
	}
	eofs := int(binary.LittleEndian.Uint32(buf[0x18:]))
	ilen := int(binary.LittleEndian.Uint32(buf[0x1c:]))
	if eofs < 0x10 || ilen < eofs || 0x18+ilen > len(buf) {
		return nil, corrupt(structure, off, "entries %d..%d in %d bytes", eofs, ilen, len(buf))
	}
	es, err := parseIndexEntries(buf[0x18+eofs : 0x18+ilen])
	if err != nil {
		return nil, &CorruptError{Structure: structure, Offset: off, Reason: err.Error()}
	}
	ib.Entries = es
	return ib, nil
}

// entriesOffset is where entries start in a block, after the USA.
func blockEntriesOffset(size int) int {
	return align8(indexBlockHeader + 2*(size/fixupStride+1))
}

// capacity is the room for entries in a block of this size.
func blockCapacity(size int) int { return size - blockEntriesOffset(size) }

// marshal encodes the block with its update sequence applied.
func (ib *indexBlock) marshal() ([]byte, error) {
	es := encodeIndexEntries(ib.Entries)
	eofs := blockEntriesOffset(ib.size)
	if eofs+len(es) > ib.size {
		return nil, fmt.Errorf("ntfs: index block VCN %d overflows (%d bytes): %w", ib.VCN, len(es), ErrCorrupt)
	}
	b := make([]byte, ib.size)
	copy(b, "INDX")
	usaCount := ib.size/fixupStride + 1
	binary.LittleEndian.PutUint16(b[4:], indexBlockHeader)
	binary.LittleEndian.PutUint16(b[6:], uint16(usaCount))
	binary.LittleEndian.PutUint64(b[8:], ib.LSN)
	binary.LittleEndian.PutUint64(b[0x10:], uint64(ib.VCN))
	binary.LittleEndian.PutUint32(b[0x18:], uint32(eofs-0x18))
	binary.LittleEndian.PutUint32(b[0x1c:], uint32(eofs-0x18+len(es)))
	binary.LittleEndian.PutUint32(b[0x20:], uint32(ib.size-0x18))
	b[0x24] = ib.Flags
	binary.LittleEndian.PutUint16(b[indexBlockHeader:], ib.usn)
	copy(b[eofs:], es)
	fixup(b)
	ib.usn = binary.LittleEndian.Uint16(b[indexBlockHeader:])
	return b, nil
}
