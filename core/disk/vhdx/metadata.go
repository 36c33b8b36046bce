package vhdx

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

const (
	metaTableSize      = 64 * kib
	maxMetadataEntries = 2047

	minBlockSize = 1 * mib
	maxBlockSize = 256 * mib
	// maxVirtualSize is the spec's limit: 64 TiB.
	maxVirtualSize = 64 << 40

	flagLeaveAllocated = 1
	flagHasParent      = 2

	metaIsUser        = 1
	metaIsVirtualDisk = 2
	metaIsRequired    = 4

	maxLocatorEntries = 256
)

var metaSignature = []byte("metadata")

// metadata is what the metadata region says about the virtual disk.
type metadata struct {
	BlockSize      uint32
	LeaveAllocated bool
	HasParent      bool
	VirtualSize    uint64
	LogicalSector  uint32
	PhysicalSector uint32
	Page83         guid
	Parent         map[string]string // parent locator key/values; nil without one
}

// parseMetadata decodes a metadata region (b is the whole region) and checks
// every value against the spec's limits.
func parseMetadata(b []byte) (metadata, string) {
	var md metadata
	if len(b) < metaTableSize {
		return md, "region shorter than its 64 KiB table"
	}
	if !bytes.Equal(b[:8], metaSignature) {
		return md, `no "metadata" signature`
	}
	le := binary.LittleEndian
	n := int(le.Uint16(b[10:]))
	if n > maxMetadataEntries {
		return md, fmt.Sprintf("%d entries, more than %d", n, maxMetadataEntries)
	}
	items := map[guid][]byte{}
	for i := range n {
		e := b[32+32*i:]
		var id guid
		copy(id[:], e[:16])
		off, length, flags := le.Uint32(e[16:]), le.Uint32(e[20:]), le.Uint32(e[24:])
		if length > 0 && (off < metaTableSize || uint64(off)+uint64(length) > uint64(len(b))) {
			return md, fmt.Sprintf("item %d (%s): %d bytes at %d are outside the region", i, id, length, off)
		}
		if _, dup := items[id]; dup {
			return md, fmt.Sprintf("item %s appears twice", id)
		}
		if length == 0 {
			// An empty item's offset is meaningless (the spec allows 0),
			// so it is never used to slice the region.
			items[id] = nil
		} else {
			items[id] = b[off : off+length]
		}
		known := id == metaFileParameters || id == metaVirtualSize || id == metaPage83 ||
			id == metaLogicalSector || id == metaPhysicalSector || id == metaParentLocator
		if !known && flags&metaIsRequired != 0 {
			return md, fmt.Sprintf("item %d: unknown required metadata %s", i, id)
		}
	}
	get := func(id guid, size int, name string) ([]byte, string) {
		v, ok := items[id]
		if !ok {
			return nil, "missing " + name
		}
		if len(v) < size {
			return nil, fmt.Sprintf("%s is %d bytes, want %d", name, len(v), size)
		}
		return v, ""
	}
	v, p := get(metaFileParameters, 8, "file parameters")
	if p != "" {
		return md, p
	}
	md.BlockSize = le.Uint32(v)
	fl := le.Uint32(v[4:])
	md.LeaveAllocated, md.HasParent = fl&flagLeaveAllocated != 0, fl&flagHasParent != 0
	if bs := md.BlockSize; bs < minBlockSize || bs > maxBlockSize || bs&(bs-1) != 0 {
		return md, fmt.Sprintf("block size %d is not a power of two between 1 MiB and 256 MiB", bs)
	}
	if v, p = get(metaVirtualSize, 8, "virtual disk size"); p != "" {
		return md, p
	}
	md.VirtualSize = le.Uint64(v)
	if v, p = get(metaLogicalSector, 4, "logical sector size"); p != "" {
		return md, p
	}
	md.LogicalSector = le.Uint32(v)
	if v, p = get(metaPhysicalSector, 4, "physical sector size"); p != "" {
		return md, p
	}
	md.PhysicalSector = le.Uint32(v)
	if v, ok := items[metaPage83]; ok && len(v) >= 16 {
		copy(md.Page83[:], v)
	}
	for _, s := range []uint32{md.LogicalSector, md.PhysicalSector} {
		if s != 512 && s != 4096 {
			return md, fmt.Sprintf("sector size %d is neither 512 nor 4096", s)
		}
	}
	if md.VirtualSize == 0 || md.VirtualSize > maxVirtualSize || md.VirtualSize%uint64(md.LogicalSector) != 0 {
		return md, fmt.Sprintf("virtual size %d is not a multiple of the %d-byte sector up to 64 TiB", md.VirtualSize, md.LogicalSector)
	}
	if md.HasParent {
		v, ok := items[metaParentLocator]
		if !ok {
			return md, "differencing disk without a parent locator"
		}
		kv, p := parseParentLocator(v)
		if p != "" {
			return md, "parent locator: " + p
		}
		md.Parent = kv
	}
	return md, ""
}

// parseParentLocator decodes a parent locator item ([MS-VHDX] 2.6.2.6).
func parseParentLocator(b []byte) (map[string]string, string) {
	le := binary.LittleEndian
	if len(b) < 20 {
		return nil, "shorter than its header"
	}
	var typ guid
	copy(typ[:], b)
	if typ != parentLocatorType {
		return nil, "unknown locator type " + typ.String()
	}
	n := int(le.Uint16(b[18:]))
	if n > maxLocatorEntries || 20+12*n > len(b) {
		return nil, fmt.Sprintf("%d entries do not fit in %d bytes", n, len(b))
	}
	kv := make(map[string]string, n)
	for i := range n {
		e := b[20+12*i:]
		ko, vo := le.Uint32(e), le.Uint32(e[4:])
		kl, vl := uint32(le.Uint16(e[8:])), uint32(le.Uint16(e[10:]))
		if uint64(ko)+uint64(kl) > uint64(len(b)) || uint64(vo)+uint64(vl) > uint64(len(b)) {
			return nil, fmt.Sprintf("entry %d is outside the item", i)
		}
		kv[utf16le(b[ko:ko+kl])] = utf16le(b[vo : vo+vl])
	}
	return kv, ""
}

func utf16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// marshalMetadata builds a metadata region of size bytes for a new disk.
func marshalMetadata(md metadata, size int) []byte {
	le := binary.LittleEndian
	b := make([]byte, size)
	copy(b, metaSignature)
	type item struct {
		id    guid
		flags uint32
		val   []byte
	}
	fp := make([]byte, 8)
	le.PutUint32(fp, md.BlockSize)
	var fl uint32
	if md.LeaveAllocated {
		fl |= flagLeaveAllocated
	}
	le.PutUint32(fp[4:], fl)
	vs := make([]byte, 8)
	le.PutUint64(vs, md.VirtualSize)
	ls, ps := make([]byte, 4), make([]byte, 4)
	le.PutUint32(ls, md.LogicalSector)
	le.PutUint32(ps, md.PhysicalSector)
	items := []item{
		{metaFileParameters, metaIsRequired, fp},
		{metaVirtualSize, metaIsVirtualDisk | metaIsRequired, vs},
		{metaPage83, metaIsVirtualDisk | metaIsRequired, md.Page83[:]},
		{metaLogicalSector, metaIsVirtualDisk | metaIsRequired, ls},
		{metaPhysicalSector, metaIsVirtualDisk | metaIsRequired, ps},
	}
	le.PutUint16(b[10:], uint16(len(items)))
	off := metaTableSize
	for i, it := range items {
		e := b[32+32*i:]
		copy(e, it.id[:])
		le.PutUint32(e[16:], uint32(off))
		le.PutUint32(e[20:], uint32(len(it.val)))
		le.PutUint32(e[24:], it.flags)
		copy(b[off:], it.val)
		off += len(it.val)
	}
	return b
}
