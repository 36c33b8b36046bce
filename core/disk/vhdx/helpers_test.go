package vhdx_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// fixtureDir builds scripts/fixtures/vhd.sh (VHD and VHDX fixtures) once.
func fixtureDir(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "qemu-img", "python3")
	return testenv.Fixture(t, "vhd")
}

// entries reads the vhdx lines of the vhd fixture's MANIFEST.
func entries(t testing.TB) []disktest.Entry {
	t.Helper()
	return disktest.EntriesIn(t, fixtureDir(t), "vhdx")
}

func entry(t testing.TB, name string) disktest.Entry {
	t.Helper()
	return disktest.Named(t, entries(t), name)
}

// The helpers below read VHDX structures again from [MS-VHDX], so that the
// corruption tests do not depend on the package's own parsers.

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fixCRC recomputes a CRC-32C stored at b[4:8] over all of b.
func fixCRC(b []byte) {
	binary.LittleEndian.PutUint32(b[4:], 0)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b, castagnoli))
}

// guidLE encodes a GUID's text form as VHDX stores it.
func guidLE(s string) []byte {
	var h []byte
	fmt.Sscanf(strings.ReplaceAll(s, "-", ""), "%x", &h)
	g := make([]byte, 16)
	binary.LittleEndian.PutUint32(g, binary.BigEndian.Uint32(h))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(h[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(h[6:]))
	copy(g[8:], h[8:])
	return g
}

// regionOffset finds a region in the first region table.
func regionOffset(b []byte, g string) int {
	rt := b[192<<10:]
	id := guidLE(g)
	for i := 0; i < int(binary.LittleEndian.Uint32(rt[8:])); i++ {
		e := rt[16+32*i:]
		if bytes.Equal(e[:16], id) {
			return int(binary.LittleEndian.Uint64(e[16:]))
		}
	}
	panic("region not found")
}

const (
	batGUID      = "2DC27766-F623-4200-9D64-115E9BFD4A08"
	metadataGUID = "8B7CA206-4790-4B9A-B8FE-575F050F886E"
	fileParams   = "CAA16737-FA36-4D43-B3B6-33F0AA44E76B"
	virtualSize  = "2FA54224-CD1B-4876-B211-5DBED83BF4B8"
)

// metadataItem returns the bytes of a metadata item.
func metadataItem(b []byte, g string) []byte {
	off := regionOffset(b, metadataGUID)
	m := b[off:]
	id := guidLE(g)
	for i := 0; i < int(binary.LittleEndian.Uint16(m[10:])); i++ {
		e := m[32+32*i:]
		if bytes.Equal(e[:16], id) {
			o, l := binary.LittleEndian.Uint32(e[16:]), binary.LittleEndian.Uint32(e[20:])
			return m[o : o+l]
		}
	}
	panic("metadata item not found")
}
