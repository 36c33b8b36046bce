package vhdx

import (
	"encoding/binary"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

const (
	// DefaultBlockSize is Hyper-V's default payload block size.
	DefaultBlockSize = 32 * mib
	logLength        = 1 * mib
	logOffset        = headerAreaSize
	batOffset        = logOffset + logLength
	metadataLength   = 1 * mib
)

// Create makes a new VHDX of size bytes (rounded up to a 512-byte sector)
// at path, which must not exist: "dynamic" (the default) or "fixed" (every
// block allocated up front; the host file stays sparse until written).
// Blocks are 32 MiB, logical sectors 512 bytes, physical 4096, as Hyper-V
// makes them. The image owns its file.
func Create(path string, size int64, opts disk.CreateOptions) (disk.Image, error) {
	fixed := false
	switch opts.Subformat {
	case "", "dynamic":
	case "fixed":
		fixed = true
	default:
		return nil, fmt.Errorf("vhdx: create %s: unknown subformat %q (want dynamic or fixed)", path, opts.Subformat)
	}
	if size <= 0 || size > maxVirtualSize {
		return nil, fmt.Errorf("vhdx: create %s: size %d is outside 1 byte..64 TiB", path, size)
	}
	md := metadata{
		BlockSize:      DefaultBlockSize,
		LeaveAllocated: fixed,
		VirtualSize:    uint64((size + 511) / 512 * 512),
		LogicalSector:  512,
		PhysicalSector: 4096,
	}
	var err error
	ids := make([]guid, 3)
	for i := range ids {
		if ids[i], err = newGUID(); err != nil {
			return nil, fmt.Errorf("vhdx: create %s: %w", path, err)
		}
	}
	md.Page83 = ids[2]
	l := newLayout(md)
	batLen := (l.entries*8 + mib - 1) / mib * mib
	metaOff := batOffset + batLen
	dataOff := metaOff + metadataLength
	end := dataOff
	bat := make([]byte, batLen)
	if fixed {
		for i := range l.dataBlocks {
			binary.LittleEndian.PutUint64(bat[8*l.payloadIndex(i):], uint64(dataOff+i*l.bs)|payloadFull)
		}
		end = dataOff + l.dataBlocks*l.bs
	}
	regions := marshalRegionTable([]region{
		{GUID: regionBAT, Offset: batOffset, Length: uint32(batLen), Required: true},
		{GUID: regionMetadata, Offset: uint64(metaOff), Length: metadataLength, Required: true},
	})

	op := opts.Opener
	if op == nil {
		op = disk.OSOpener{}
	}
	b, err := op.Create(path)
	if err != nil {
		return nil, fmt.Errorf("vhdx: create %s: %w", path, err)
	}
	fail := func(err error) (disk.Image, error) {
		b.Close()
		return nil, fmt.Errorf("vhdx: create %s: %w", path, err)
	}
	if err := b.Truncate(end); err != nil {
		return fail(err)
	}
	h := header{FileWriteGUID: ids[0], DataWriteGUID: ids[1], Version: 1, LogLength: logLength, LogOffset: logOffset}
	writes := []struct {
		off  int64
		data []byte
	}{
		{fileIDOffset, fileIdentifier("pvinject")},
		{region1Offset, regions},
		{region2Offset, regions},
		{batOffset, bat},
		{metaOff, marshalMetadata(md, metadataLength)},
	}
	for _, seq := range []int64{header1Offset, header2Offset} {
		h.Sequence++
		writes = append(writes, struct {
			off  int64
			data []byte
		}{seq, h.marshal()})
	}
	for _, w := range writes {
		if _, err := b.WriteAt(w.data, w.off); err != nil {
			return fail(err)
		}
	}
	if err := b.Sync(); err != nil {
		return fail(err)
	}
	m, err := open(path, b, disk.Options{Writable: true, Opener: op})
	if err != nil {
		return fail(err)
	}
	m.owned = true
	// A new file needs no new GUIDs on its first write.
	m.guidsUpdated = true
	return m, nil
}
