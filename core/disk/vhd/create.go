package vhd

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/pvinject/pvinject/core/disk"
)

// creatorApp marks images made by pvinject. It is not one of the creators
// qemu sizes by current size, so qemu uses the geometry; Create makes both
// describe the same size, so every reader agrees.
var creatorApp = [4]byte{'p', 'v', 'i', 'n'}

// Create makes a new VHD of at least size bytes at path (which must not
// exist): "dynamic" (the default) or "fixed". Like qemu and Virtual PC, the
// size is rounded up to what the CHS geometry describes (for disks up to
// about 127 GiB), so Size may exceed size slightly. The image owns its file.
func Create(path string, size int64, opts disk.CreateOptions) (disk.Image, error) {
	var dtype uint32
	switch opts.Subformat {
	case "", "dynamic":
		dtype = typeDynamic
	case "fixed":
		dtype = typeFixed
	default:
		return nil, fmt.Errorf("vpc: create %s: unknown subformat %q (want dynamic or fixed)", path, opts.Subformat)
	}
	if size <= 0 || size > maxCreateSize {
		return nil, fmt.Errorf("vpc: create %s: size %d is outside 1 byte..2040 GiB", path, size)
	}
	cyls, heads, spt, sectors := createGeometry((size + sectorSize - 1) / sectorSize)
	vsize := sectors * sectorSize
	ft := footer{
		Features:     2, // "reserved, must always be set"
		Version:      0x00010000,
		DataOffset:   noDataOffset,
		Timestamp:    uint32(time.Since(vhdEpoch) / time.Second),
		CreatorApp:   creatorApp,
		CreatorVer:   0x00010000,
		CreatorOS:    [4]byte{'W', 'i', '2', 'k'},
		OriginalSize: uint64(vsize),
		CurrentSize:  uint64(vsize),
		Cylinders:    cyls,
		Heads:        heads,
		SectorsPerTr: spt,
		DiskType:     dtype,
	}
	if _, err := rand.Read(ft.UniqueID[:]); err != nil {
		return nil, fmt.Errorf("vpc: create %s: unique id: %w", path, err)
	}
	ft.UniqueID[6] = ft.UniqueID[6]&0x0f | 0x40
	ft.UniqueID[8] = ft.UniqueID[8]&0x3f | 0x80

	op := opts.Opener
	if op == nil {
		op = disk.OSOpener{}
	}
	b, err := op.Create(path)
	if err != nil {
		return nil, fmt.Errorf("vpc: create %s: %w", path, err)
	}
	fail := func(err error) (disk.Image, error) {
		b.Close()
		return nil, fmt.Errorf("vpc: create %s: %w", path, err)
	}
	if dtype == typeFixed {
		if err := b.Truncate(vsize); err != nil {
			return fail(err)
		}
		if _, err := b.WriteAt(ft.marshal(), vsize); err != nil {
			return fail(err)
		}
	} else {
		ft.DataOffset = footerSize
		entries := (vsize + defaultBlockSize - 1) / defaultBlockSize
		batBytes := (entries*4 + sectorSize - 1) / sectorSize * sectorSize
		h := dynHeader{
			TableOffset:     footerSize + dynHeaderSize,
			Version:         0x00010000,
			MaxTableEntries: uint32(entries),
			BlockSize:       defaultBlockSize,
		}
		fraw := ft.marshal()
		var img bytes.Buffer
		img.Write(fraw)
		img.Write(h.marshal())
		img.Write(bytes.Repeat([]byte{0xff}, int(batBytes)))
		img.Write(fraw)
		if _, err := b.WriteAt(img.Bytes(), 0); err != nil {
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
	return m, nil
}
