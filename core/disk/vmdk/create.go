package vmdk

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
)

const (
	newGrainSectors = 128 // 64 KiB grains, as VMware and QEMU make them
	newGTEs         = 512
	descSectors     = 20
	splitSectors    = 2 << 30 / sector // twoGbMaxExtent* extent size
)

// Create makes a new empty VMDK: monolithicSparse by default, or the
// subformats monolithicFlat, twoGbMaxExtentSparse and twoGbMaxExtentFlat
// (2 GiB extents named like QEMU's: name-s001.vmdk, name-f001.vmdk).
func Create(path string, size int64, opts disk.CreateOptions) (disk.Image, error) {
	if size <= 0 || size%sector != 0 || size/sector > maxSectors {
		return nil, fmt.Errorf("vmdk: create %s: size %d must be a positive multiple of 512 up to %d", path, size, int64(maxSectors*sector))
	}
	op := opts.Opener
	if op == nil {
		op = disk.OSOpener{}
	}
	sub := opts.Subformat
	if sub == "" {
		sub = "monolithicSparse"
	}
	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	var lines []extentLine
	switch sub {
	case "monolithicSparse":
		lines = []extentLine{{access: "RW", sectors: size / sector, typ: "SPARSE", file: filepath.Base(path)}}
	case "monolithicFlat":
		lines = []extentLine{{access: "RW", sectors: size / sector, typ: "FLAT", file: stem + "-flat.vmdk"}}
	case "twoGbMaxExtentSparse", "twoGbMaxExtentFlat":
		typ, letter := "SPARSE", 's'
		if sub == "twoGbMaxExtentFlat" {
			typ, letter = "FLAT", 'f'
		}
		for i, left := 1, size/sector; left > 0; i++ {
			n := min(left, splitSectors)
			lines = append(lines, extentLine{access: "RW", sectors: n, typ: typ, file: fmt.Sprintf("%s-%c%03d.vmdk", stem, letter, i)})
			left -= n
		}
	default:
		return nil, fmt.Errorf("vmdk: create %s: unsupported subformat %q (want monolithicSparse, monolithicFlat, twoGbMaxExtentSparse or twoGbMaxExtentFlat)", path, sub)
	}
	desc := descriptorText(newCID(noParentCID), sub, lines, size)
	dir := filepath.Dir(path)
	var made []disk.Backing
	fail := func(err error) (disk.Image, error) {
		for _, b := range made {
			b.Close()
		}
		return nil, fmt.Errorf("vmdk: create %s: %w", path, err)
	}
	for _, l := range lines {
		if sub == "monolithicSparse" {
			break
		}
		b, err := op.Create(filepath.Join(dir, l.file))
		if err != nil {
			return fail(err)
		}
		made = append(made, b)
		if l.typ == "FLAT" {
			err = b.Truncate(l.sectors * sector)
		} else {
			err = writeSparseExtent(b, l.sectors, "")
		}
		if err != nil {
			return fail(err)
		}
		if err := b.Close(); err != nil {
			return fail(err)
		}
	}
	made = nil
	b, err := op.Create(path)
	if err != nil {
		return fail(err)
	}
	made = append(made, b)
	if sub == "monolithicSparse" {
		err = writeSparseExtent(b, size/sector, desc)
	} else {
		_, err = b.WriteAt([]byte(desc), 0)
	}
	if err == nil {
		err = b.Sync()
	}
	if err != nil {
		return fail(err)
	}
	m, err := open(path, b, disk.Options{Writable: true, Opener: op})
	if err != nil {
		return fail(err)
	}
	return &ownedImage{m}, nil
}

// ownedImage also closes the first file: Create opened it.
type ownedImage struct{ *Image }

func (o *ownedImage) Close() error {
	err := o.Image.Close()
	if cerr := o.b.Close(); err == nil {
		err = cerr
	}
	return err
}

// descriptorText renders a descriptor in the layout QEMU and VMware write.
func descriptorText(cid uint32, createType string, lines []extentLine, size int64) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=ffffffff\ncreateType=\"%s\"\n\n# Extent description\n", cid, createType)
	for _, l := range lines {
		fmt.Fprintf(&sb, "%s %d %s \"%s\"", l.access, l.sectors, l.typ, l.file)
		if l.typ == "FLAT" {
			sb.WriteString(" 0")
		}
		sb.WriteByte('\n')
	}
	cyl := min(size/sector/(16*63), 65535)
	fmt.Fprintf(&sb, "\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = \"4\"\nddb.geometry.cylinders = \"%d\"\nddb.geometry.heads = \"16\"\nddb.geometry.sectors = \"63\"\nddb.adapterType = \"ide\"\n", cyl)
	return sb.String()
}

// writeSparseExtent lays out an empty hosted sparse extent: header,
// optional embedded descriptor, redundant and primary grain directories
// with all their (empty) grain tables preallocated, padded to a grain.
func writeSparseExtent(b disk.Backing, capacity int64, desc string) error {
	h := &sparseHeader{version: 1, flags: flagNLTest | flagRedundant, capacity: uint64(capacity),
		grainSize: newGrainSectors, numGTEs: newGTEs}
	next := int64(1)
	if desc != "" {
		if len(desc) > descSectors*sector {
			return fmt.Errorf("descriptor of %d bytes does not fit", len(desc))
		}
		h.descOffset, h.descSize = 1, descSectors
		next += descSectors
	}
	ngt := int64(h.gdEntries())
	gdSectors := (ngt*4 + sector - 1) / sector
	gtSectors := int64(newGTEs * 4 / sector)
	h.rgdOffset = uint64(next)
	next += gdSectors + ngt*gtSectors
	h.gdOffset = uint64(next)
	next += gdSectors + ngt*gtSectors
	h.overHead = uint64((next + newGrainSectors - 1) / newGrainSectors * newGrainSectors)
	if h.overHead > 0xffffffff {
		return fmt.Errorf("extent of %d sectors too large", capacity)
	}
	buf := make([]byte, h.overHead*sector)
	copy(buf, h.marshal())
	copy(buf[sector:], desc)
	for _, gd := range []int64{int64(h.rgdOffset), int64(h.gdOffset)} {
		for i := int64(0); i < ngt; i++ {
			binary.LittleEndian.PutUint32(buf[gd*sector+i*4:], uint32(gd+gdSectors+i*gtSectors))
		}
	}
	if _, err := b.WriteAt(buf, 0); err != nil {
		return err
	}
	return b.Sync()
}
