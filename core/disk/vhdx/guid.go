package vhdx

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// guid is a GUID as stored in VHDX: the first three fields little-endian.
type guid [16]byte

// mustGUID parses the canonical text form of a GUID constant.
func mustGUID(s string) guid {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 {
		panic("vhdx: bad GUID constant " + s)
	}
	var g guid
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(h[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(h[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(h[6:]))
	copy(g[8:], h[8:])
	return g
}

// String is the canonical text form, as used in parent_linkage.
func (g guid) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

func (g guid) isZero() bool { return g == guid{} }

func newGUID() (guid, error) {
	var g guid
	if _, err := rand.Read(g[:]); err != nil {
		return g, err
	}
	g[7] = g[7]&0x0f | 0x40 // version 4 (Data3 is little-endian)
	g[8] = g[8]&0x3f | 0x80
	return g, nil
}

var (
	regionBAT      = mustGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
	regionMetadata = mustGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")

	metaFileParameters = mustGUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
	metaVirtualSize    = mustGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
	metaPage83         = mustGUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
	metaLogicalSector  = mustGUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
	metaPhysicalSector = mustGUID("CDA348C7-445D-4471-9CC9-E9885251C556")
	metaParentLocator  = mustGUID("A8D35F2D-B30B-454D-ABF7-D3D84834AB0C")

	parentLocatorType = mustGUID("B04AEFB7-D19E-4A81-B789-25B8E9445913")
)
