package qcow2

import (
	"encoding/binary"
	"fmt"
	"strings"
)

const (
	magic = "QFI\xfb"

	v2HeaderLen = 72
	v3HeaderLen = 104

	minClusterBits = 9
	// maxClusterBits is QEMU's own limit (2 MiB clusters).
	maxClusterBits = 21
	// maxL1Bytes and maxRefTableBytes are QEMU's implementation limits;
	// anything larger is refused before it is allocated.
	maxL1Bytes       = 32 << 20
	maxRefTableBytes = 8 << 20
	maxBackingName   = 1023
	// maxVirtualSize keeps offsets within the 56 bits L2 entries can address.
	maxVirtualSize = 1 << 56

	// incompatible feature bits
	incDirty        = 1 << 0
	incCorrupt      = 1 << 1
	incDataFile     = 1 << 2
	incCompressType = 1 << 3
	incExtendedL2   = 1 << 4
	incKnown        = incDirty | incCorrupt | incDataFile | incCompressType | incExtendedL2

	compatLazyRefcounts = 1 << 0

	extEnd           = 0x00000000
	extBackingFormat = 0xe2792aca
	extFeatureTable  = 0x6803f857
	extBitmaps       = 0x23852875
	extCrypto        = 0x0537be77
	extDataFile      = 0x44415441
)

// Header field offsets that a writer updates in place.
const (
	offRefTableOffset   = 48
	offRefTableClusters = 56
	offIncompatible     = 72
	offAutoclear        = 88
)

// header is the decoded first cluster of an image.
type header struct {
	version         uint32
	backingOffset   uint64
	backingSize     uint32
	clusterBits     uint32
	size            uint64
	cryptMethod     uint32
	l1Size          uint32
	l1Offset        uint64
	refTableOffset  uint64
	refTableClusts  uint32
	nbSnapshots     uint32
	snapshotsOffset uint64
	incompatible    uint64
	compatible      uint64
	autoclear       uint64
	refcountOrder   uint32
	headerLength    uint32
	compressionType uint8

	backingFile   string
	backingFormat string
	dataFile      string
	hasCryptoExt  bool
	hasBitmaps    bool
	// features maps (type<<8 | bit) to the name the image gives it.
	features map[uint16]string
}

// headerError is a structural problem found while decoding; the caller
// turns it into a disk.FormatError naming the file.
type headerError struct {
	structure string
	offset    int64
	reason    string
}

func (e *headerError) Error() string {
	return fmt.Sprintf("%s at offset %d: %s", e.structure, e.offset, e.reason)
}

func herr(structure string, off int64, format string, args ...any) error {
	return &headerError{structure, off, fmt.Sprintf(format, args...)}
}

// parseHeader decodes the header and its extensions from the start of the
// file (buf holds the first cluster, or the whole file when shorter).
// It checks the structure only; feature policy is decided by the caller.
func parseHeader(buf []byte) (*header, error) {
	be := binary.BigEndian
	if len(buf) < v2HeaderLen || string(buf[:4]) != magic {
		return nil, herr("header", 0, "not a qcow2 image (bad magic or file shorter than %d bytes)", v2HeaderLen)
	}
	h := &header{
		version:         be.Uint32(buf[4:]),
		backingOffset:   be.Uint64(buf[8:]),
		backingSize:     be.Uint32(buf[16:]),
		clusterBits:     be.Uint32(buf[20:]),
		size:            be.Uint64(buf[24:]),
		cryptMethod:     be.Uint32(buf[32:]),
		l1Size:          be.Uint32(buf[36:]),
		l1Offset:        be.Uint64(buf[40:]),
		refTableOffset:  be.Uint64(buf[48:]),
		refTableClusts:  be.Uint32(buf[56:]),
		nbSnapshots:     be.Uint32(buf[60:]),
		snapshotsOffset: be.Uint64(buf[64:]),
		refcountOrder:   4,
		headerLength:    v2HeaderLen,
	}
	switch h.version {
	case 2:
	case 3:
		if len(buf) < v3HeaderLen {
			return nil, herr("header", 0, "version 3 header truncated")
		}
		h.incompatible = be.Uint64(buf[72:])
		h.compatible = be.Uint64(buf[80:])
		h.autoclear = be.Uint64(buf[88:])
		h.refcountOrder = be.Uint32(buf[96:])
		h.headerLength = be.Uint32(buf[100:])
	default:
		return nil, herr("header", 4, "unsupported version %d (only 2 and 3 exist)", h.version)
	}
	if h.clusterBits < minClusterBits || h.clusterBits > maxClusterBits {
		return nil, herr("header", 20, "cluster_bits %d outside %d..%d", h.clusterBits, minClusterBits, maxClusterBits)
	}
	cs := uint64(1) << h.clusterBits
	if h.version == 3 {
		if h.headerLength < v3HeaderLen || h.headerLength%8 != 0 || uint64(h.headerLength) > cs || int(h.headerLength) > len(buf) {
			return nil, herr("header", 100, "bad header_length %d", h.headerLength)
		}
		if h.headerLength > 104 {
			h.compressionType = buf[104]
		}
	}
	if h.refcountOrder > 6 {
		return nil, herr("header", 96, "refcount_order %d above 6", h.refcountOrder)
	}
	if h.size > maxVirtualSize {
		return nil, herr("header", 24, "virtual size %d is absurd (limit %d)", h.size, uint64(maxVirtualSize))
	}
	if uint64(h.l1Size)*8 > maxL1Bytes {
		return nil, herr("header", 36, "L1 table of %d entries exceeds the %d-byte limit", h.l1Size, maxL1Bytes)
	}
	if need := l1EntriesFor(h.size, h.clusterBits); uint64(h.l1Size) < need {
		return nil, herr("header", 36, "L1 table has %d entries, virtual size %d needs %d", h.l1Size, h.size, need)
	}
	if h.l1Offset%cs != 0 {
		return nil, herr("header", 40, "L1 table offset %d not cluster aligned", h.l1Offset)
	}
	if h.refTableOffset%cs != 0 || h.refTableOffset == 0 {
		return nil, herr("header", 48, "refcount table offset %d not cluster aligned", h.refTableOffset)
	}
	if h.refTableClusts == 0 || uint64(h.refTableClusts)*cs > maxRefTableBytes {
		return nil, herr("header", 56, "refcount table of %d clusters outside 1..%d bytes", h.refTableClusts, maxRefTableBytes)
	}
	if h.backingOffset != 0 {
		if h.backingSize == 0 || h.backingSize > maxBackingName {
			return nil, herr("backing file name", 16, "length %d outside 1..%d", h.backingSize, maxBackingName)
		}
		end := h.backingOffset + uint64(h.backingSize)
		if end > cs || end > uint64(len(buf)) || h.backingOffset < uint64(h.headerLength) {
			return nil, herr("backing file name", int64(min(h.backingOffset, 1<<62)), "name of %d bytes lies outside the first cluster", h.backingSize)
		}
		h.backingFile = string(buf[h.backingOffset:end])
	}
	if err := h.parseExtensions(buf[:min(uint64(len(buf)), cs)]); err != nil {
		return nil, err
	}
	return h, nil
}

// parseExtensions walks the extension area after the fixed header.
func (h *header) parseExtensions(buf []byte) error {
	be := binary.BigEndian
	off := uint64(h.headerLength)
	for off+8 <= uint64(len(buf)) {
		typ, n := be.Uint32(buf[off:]), uint64(be.Uint32(buf[off+4:]))
		if typ == extEnd {
			return nil
		}
		data := off + 8
		if n > uint64(len(buf))-data {
			return herr("header extension", int64(off), "type %#x length %d runs past the first cluster", typ, n)
		}
		d := buf[data : data+n]
		switch typ {
		case extBackingFormat:
			h.backingFormat = string(d)
		case extDataFile:
			h.dataFile = string(d)
		case extCrypto:
			h.hasCryptoExt = true
		case extBitmaps:
			h.hasBitmaps = true
		case extFeatureTable:
			if h.features == nil {
				h.features = make(map[uint16]string)
			}
			for i := 0; i+48 <= len(d); i += 48 {
				name := strings.TrimRight(string(d[i+2:i+48]), "\x00")
				h.features[uint16(d[i])<<8|uint16(d[i+1])] = name
			}
		}
		off = data + (n+7)&^7
	}
	// No end marker within the first cluster: a v2 image written by an
	// old QEMU may simply have none, so this is not an error.
	return nil
}

// featureName names an incompatible feature bit, using the image's own
// feature table when it has one.
func (h *header) featureName(bit uint) string {
	if n, ok := h.features[uint16(bit)]; ok && n != "" {
		return n
	}
	switch bit {
	case 0:
		return "dirty bit"
	case 1:
		return "corrupt bit"
	case 2:
		return "external data file"
	case 3:
		return "compression type"
	case 4:
		return "extended L2 entries"
	}
	return fmt.Sprintf("unknown feature bit %d", bit)
}

// l1EntriesFor is the number of L1 entries a virtual size needs.
func l1EntriesFor(size uint64, clusterBits uint32) uint64 {
	perL1 := uint64(1) << (clusterBits + clusterBits - 3) // bytes mapped by one L2 table
	return (size + perL1 - 1) / perL1
}

// marshalHeader encodes a fresh header (used by Create). Extensions are
// not written: only the end marker.
func marshalHeader(h *header, cs int) []byte {
	be := binary.BigEndian
	buf := make([]byte, cs)
	copy(buf, magic)
	be.PutUint32(buf[4:], h.version)
	be.PutUint32(buf[20:], h.clusterBits)
	be.PutUint64(buf[24:], h.size)
	be.PutUint32(buf[36:], h.l1Size)
	be.PutUint64(buf[40:], h.l1Offset)
	be.PutUint64(buf[48:], h.refTableOffset)
	be.PutUint32(buf[56:], h.refTableClusts)
	if h.version == 3 {
		be.PutUint32(buf[96:], h.refcountOrder)
		be.PutUint32(buf[100:], h.headerLength)
	}
	return buf // the extension area is zero: an end marker
}
