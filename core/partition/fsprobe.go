package partition

import (
	"bytes"
	"encoding/binary"
	"io"
)

// Filesystem names reported in Partition.Filesystem.
const (
	FSNTFS      = "ntfs"
	FSFAT       = "fat"
	FSExFAT     = "exfat"
	FSExt       = "ext"
	FSBitLocker = "bitlocker"
	FSLDM       = "ldm"
	FSUnknown   = "unknown"
)

// probeSize covers the boot sector and the ext superblock at 1024.
const probeSize = 2048

// ProbeFilesystem names the filesystem whose first bytes are at off in r,
// FSUnknown when none is recognised or the bytes cannot be read.
func ProbeFilesystem(r io.ReaderAt, off, size int64) string {
	n := min(size, probeSize)
	if n < 512 {
		return FSUnknown
	}
	b := make([]byte, n)
	if k, err := r.ReadAt(b, off); k < 512 {
		_ = err
		return FSUnknown
	} else {
		b = b[:k]
	}
	return probeBytes(b)
}

// probeBytes recognises a filesystem from its first bytes (at least 512).
func probeBytes(b []byte) string {
	oem := b[3:11]
	switch {
	case bytes.Equal(oem, []byte("-FVE-FS-")):
		return FSBitLocker
	case bytes.Equal(oem, []byte("NTFS    ")):
		return FSNTFS
	case bytes.Equal(oem, []byte("EXFAT   ")):
		return FSExFAT
	case isFAT(b):
		return FSFAT
	case len(b) >= 1024+58 && binary.LittleEndian.Uint16(b[1024+56:]) == 0xEF53:
		return FSExt
	}
	return FSUnknown
}

// isFAT checks the FAT type strings and a sane BIOS parameter block: the
// strings alone also appear in unrelated boot code.
func isFAT(b []byte) bool {
	if !bytes.HasPrefix(b[54:], []byte("FAT1")) && !bytes.HasPrefix(b[82:], []byte("FAT32   ")) {
		return false
	}
	bps := binary.LittleEndian.Uint16(b[11:])
	spc := b[13]
	reserved := binary.LittleEndian.Uint16(b[14:])
	fats := b[16]
	return bps >= 512 && bps <= 4096 && bps&(bps-1) == 0 &&
		spc != 0 && spc&(spc-1) == 0 && reserved != 0 && fats >= 1 && fats <= 4
}

// isVolumeBootSector reports whether sector 0 of a disk is a filesystem's
// boot sector rather than an MBR (both end in 55 AA): then the disk has no
// partition table.
func isVolumeBootSector(b []byte) bool {
	switch probeBytes(b) {
	case FSNTFS, FSBitLocker, FSExFAT, FSFAT:
		return true
	}
	return false
}
