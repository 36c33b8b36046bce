package drivers

import (
	"encoding/binary"
	"time"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// filetimeEpoch is 1601-01-01, the FILETIME origin.
var filetimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// DriverPackageVersion builds the 48-byte REG_BINARY Windows keeps in
// SYSTEM\DriverDatabase\DriverPackages\<label>\Version: a constant header,
// the INF's ClassGUID, the DriverVer date as FILETIME and the DriverVer
// version as a uint64 with the first part in the top 16 bits, then zeros.
// Without it Windows 10/2016 kernel PnP installs a null driver and the
// second boot fails with 0x7B (the seed virt-v2v patch). A missing
// ClassGUID or DriverVer leaves its bytes zero, as virt-v2v does.
func DriverPackageVersion(f *inf.File) [48]byte {
	var b [48]byte
	copy(b[0:8], []byte{0x00, 0xff, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00})
	v := f.Version
	if v.HasClassGUID {
		copy(b[8:24], v.ClassGUID[:])
	}
	if v.HasDriverVer {
		// Seconds, not time.Duration: a Duration overflows after ~292 years.
		// ParseDriverVer keeps dates at or after 1601.
		ft := uint64(v.DriverDate.Unix()-filetimeEpoch.Unix()) * 10_000_000
		binary.LittleEndian.PutUint64(b[24:], ft)
		dv := v.DriverVersion
		binary.LittleEndian.PutUint64(b[32:], uint64(dv[0])<<48|uint64(dv[1])<<32|uint64(dv[2])<<16|uint64(dv[3]))
	}
	return b
}
