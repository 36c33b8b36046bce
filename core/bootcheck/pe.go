package bootcheck

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/drivers"
)

// PE machine types (the COFF header's Machine field).
const (
	machineI386  = 0x014c
	machineAMD64 = 0x8664
	machineARM64 = 0xaa64
)

var machineArch = map[uint16]string{machineI386: "x86", machineAMD64: "amd64", machineARM64: "arm64"}

// peInfo is what the loader looks at in a driver file: its machine type
// and whether it carries an embedded Authenticode signature.
type peInfo struct {
	Arch       string // x86, amd64, arm64, or "machine 0x...." for others
	Signed     bool   // an embedded PKCS#7 SignedData in the certificate table
	SignReason string // why not, for messages
}

var errNotPE = errors.New("not a Windows executable (no PE header)")

// readPE reads the headers by hand rather than with debug/pe, which refuses
// files Windows loads (the first path of issue 10: a .sys whose header
// debug/pe rejects). Only the fields the loader checks are used: MZ,
// e_lfanew, "PE\0\0", Machine, the optional header's magic and the
// certificate table entry (data directory 4).
func readPE(b []byte) (peInfo, error) {
	var pi peInfo
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return pi, errNotPE
	}
	off := int(binary.LittleEndian.Uint32(b[0x3c:]))
	if off < 0x40 || off > len(b)-24 || string(b[off:off+4]) != "PE\x00\x00" {
		return pi, errNotPE
	}
	m := binary.LittleEndian.Uint16(b[off+4:])
	if a, ok := machineArch[m]; ok {
		pi.Arch = a
	} else {
		pi.Arch = fmt.Sprintf("machine 0x%04x", m)
	}
	optSize := int(binary.LittleEndian.Uint16(b[off+20:]))
	opt := off + 24
	if optSize < 2 || opt+optSize > len(b) {
		pi.SignReason = "its header is cut short"
		return pi, nil
	}
	var dirs int
	switch binary.LittleEndian.Uint16(b[opt:]) {
	case 0x10b:
		dirs = opt + 96
	case 0x20b:
		dirs = opt + 112
	default:
		pi.SignReason = "its optional header is not PE32 or PE32+"
		return pi, nil
	}
	sec := dirs + 4*8
	if sec+8 > opt+optSize {
		pi.SignReason = "it has no certificate table entry"
		return pi, nil
	}
	cOff := int64(binary.LittleEndian.Uint32(b[sec:]))
	cLen := int64(binary.LittleEndian.Uint32(b[sec+4:]))
	if cOff == 0 || cLen == 0 {
		pi.SignReason = "it carries no embedded signature"
		return pi, nil
	}
	if cOff+cLen > int64(len(b)) || cLen < 8 {
		pi.SignReason = "its certificate table points outside the file"
		return pi, nil
	}
	// WIN_CERTIFICATE: dwLength, wRevision, wCertificateType (2 = PKCS#7
	// SignedData), then the signature itself.
	wl := int64(binary.LittleEndian.Uint32(b[cOff:]))
	typ := binary.LittleEndian.Uint16(b[cOff+6:])
	if wl < 8 || wl > cLen || typ != 2 {
		pi.SignReason = "its certificate table holds no PKCS#7 signature"
		return pi, nil
	}
	if _, err := drivers.CheckCatalog(b[cOff+8 : cOff+wl]); err != nil {
		pi.SignReason = "its embedded signature is not a well-formed PKCS#7 SignedData"
		return pi, nil
	}
	pi.Signed = true
	return pi, nil
}
