package vmdk

import (
	"encoding/binary"
	"fmt"
)

const (
	sparseMagic = "KDMV"
	cowdMagic   = "COWD"
	sector      = 512

	flagNLTest     = 1 << 0
	flagRedundant  = 1 << 1
	flagZeroGrain  = 1 << 2
	flagCompressed = 1 << 16
	flagMarkers    = 1 << 17

	// gdAtEnd in gdOffset says the real header is the footer at the end
	// of the file (streamOptimized).
	gdAtEnd = 0xffffffffffffffff

	// maxSectors bounds capacities and offsets: 2^40 sectors is 512 TiB,
	// far beyond VMware's 62 TiB limit.
	maxSectors = 1 << 40
	// maxGrainSectors bounds the grain buffer (VMware uses 128 sectors).
	maxGrainSectors = 1 << 14
	maxGTEs         = 1 << 16
	// maxGDEntries bounds the grain directory kept in memory.
	maxGDEntries = 1 << 24
)

// sparseHeader is the 512-byte hosted sparse extent header (little endian).
type sparseHeader struct {
	version      uint32
	flags        uint32
	capacity     uint64 // sectors
	grainSize    uint64 // sectors
	descOffset   uint64 // sectors
	descSize     uint64 // sectors
	numGTEs      uint32
	rgdOffset    uint64 // sectors
	gdOffset     uint64 // sectors
	overHead     uint64 // sectors
	unclean      uint8
	compressAlgo uint16
}

func parseSparseHeader(b []byte) (*sparseHeader, error) {
	if len(b) < sector || string(b[:4]) != sparseMagic {
		return nil, fmt.Errorf("no KDMV sparse extent header")
	}
	le := binary.LittleEndian
	h := &sparseHeader{
		version:      le.Uint32(b[4:]),
		flags:        le.Uint32(b[8:]),
		capacity:     le.Uint64(b[12:]),
		grainSize:    le.Uint64(b[20:]),
		descOffset:   le.Uint64(b[28:]),
		descSize:     le.Uint64(b[36:]),
		numGTEs:      le.Uint32(b[44:]),
		rgdOffset:    le.Uint64(b[48:]),
		gdOffset:     le.Uint64(b[56:]),
		overHead:     le.Uint64(b[64:]),
		unclean:      b[72],
		compressAlgo: le.Uint16(b[77:]),
	}
	if h.version < 1 || h.version > 3 {
		return nil, fmt.Errorf("unsupported sparse extent version %d", h.version)
	}
	return h, nil
}

// validate checks the fields that size allocations and offsets.
func (h *sparseHeader) validate() error {
	switch {
	case h.capacity > maxSectors:
		return fmt.Errorf("capacity of %d sectors is absurd", h.capacity)
	case h.grainSize == 0 || h.grainSize > maxGrainSectors || h.grainSize&(h.grainSize-1) != 0:
		return fmt.Errorf("grain size of %d sectors is not a power of two up to %d", h.grainSize, maxGrainSectors)
	case h.numGTEs == 0 || h.numGTEs > maxGTEs:
		return fmt.Errorf("%d grain table entries per table is outside 1..%d", h.numGTEs, maxGTEs)
	case h.descSize > maxDescriptor/sector || h.descOffset > maxSectors:
		return fmt.Errorf("embedded descriptor of %d sectors at sector %d is absurd", h.descSize, h.descOffset)
	case h.flags&flagCompressed != 0 && h.compressAlgo != 1:
		return fmt.Errorf("unknown grain compression algorithm %d", h.compressAlgo)
	}
	if n := h.gdEntries(); n > maxGDEntries {
		return fmt.Errorf("grain directory of %d entries is absurd", n)
	}
	return nil
}

// gdEntries is the number of grain directory entries the capacity needs.
func (h *sparseHeader) gdEntries() uint64 {
	span := h.grainSize * uint64(h.numGTEs)
	return (h.capacity + span - 1) / span
}

func (h *sparseHeader) marshal() []byte {
	b := make([]byte, sector)
	le := binary.LittleEndian
	copy(b, sparseMagic)
	le.PutUint32(b[4:], h.version)
	le.PutUint32(b[8:], h.flags)
	le.PutUint64(b[12:], h.capacity)
	le.PutUint64(b[20:], h.grainSize)
	le.PutUint64(b[28:], h.descOffset)
	le.PutUint64(b[36:], h.descSize)
	le.PutUint32(b[44:], h.numGTEs)
	le.PutUint64(b[48:], h.rgdOffset)
	le.PutUint64(b[56:], h.gdOffset)
	le.PutUint64(b[64:], h.overHead)
	b[72] = h.unclean
	// The newline-detection characters let readers spot a file that went
	// through a text-mode transfer.
	b[73], b[74], b[75], b[76] = '\n', ' ', '\r', '\n'
	le.PutUint16(b[77:], h.compressAlgo)
	return b
}
