package ntfs

import (
	"encoding/binary"
	"fmt"
)

// bootSector holds the decoded fields of the NTFS volume boot record.
type bootSector struct {
	OEM            string
	SectorSize     int
	ClusterSize    int64
	TotalSectors   uint64
	MFTLCN         int64
	MFTMirrLCN     int64
	RecordSize     int // MFT record size in bytes
	IndexBlockSize int // $I30 index block size in bytes
	SerialNumber   uint64
	TotalClusters  int64
}

const (
	maxClusterSize = 2 << 20 // 2 MiB, the largest Windows allows
	maxRecordSize  = 64 << 10
	maxIndexBlock  = 64 << 10
)

// sizeFromClusters decodes the signed "clusters per record" bytes of the boot
// sector: positive values count clusters, negative ones are a power of two.
func sizeFromClusters(v int8, cluster int64) (int64, bool) {
	if v > 0 {
		return int64(v) * cluster, true
	}
	if v < -31 || v == 0 {
		return 0, false
	}
	return 1 << uint(-v), true
}

// parseBoot decodes a boot sector. It returns ErrCorrupt errors for values
// no NTFS implementation produces, and reports BitLocker separately.
func parseBoot(b []byte, volSize int64) (*bootSector, error) {
	const structure = "boot sector"
	if len(b) < 512 {
		return nil, corrupt(structure, 0, "short read (%d bytes)", len(b))
	}
	bs := &bootSector{OEM: string(b[3:11])}
	if bs.OEM == "-FVE-FS-" {
		return bs, nil // BitLocker: the caller refuses with a remedy
	}
	if bs.OEM != "NTFS    " {
		return nil, corrupt(structure, 3, "OEM id %q is not NTFS", bs.OEM)
	}
	bs.SectorSize = int(binary.LittleEndian.Uint16(b[0x0b:]))
	switch bs.SectorSize {
	case 256, 512, 1024, 2048, 4096:
	default:
		return nil, corrupt(structure, 0x0b, "bytes per sector %d", bs.SectorSize)
	}
	spc := int64(b[0x0d])
	if spc > 0x80 { // newer encoding: 2^(256-v) sectors
		if 256-spc > 20 {
			return nil, corrupt(structure, 0x0d, "sectors per cluster byte %#x", spc)
		}
		spc = 1 << uint(256-spc)
	}
	if spc == 0 || spc&(spc-1) != 0 {
		return nil, corrupt(structure, 0x0d, "sectors per cluster %d", spc)
	}
	bs.ClusterSize = spc * int64(bs.SectorSize)
	if bs.ClusterSize > maxClusterSize {
		return nil, corrupt(structure, 0x0d, "cluster size %d too large", bs.ClusterSize)
	}
	bs.TotalSectors = binary.LittleEndian.Uint64(b[0x28:])
	bs.MFTLCN = int64(binary.LittleEndian.Uint64(b[0x30:]))
	bs.MFTMirrLCN = int64(binary.LittleEndian.Uint64(b[0x38:]))
	rs, ok := sizeFromClusters(int8(b[0x40]), bs.ClusterSize)
	if !ok || rs < 256 || rs > maxRecordSize || rs&(rs-1) != 0 || rs%512 != 0 {
		return nil, corrupt(structure, 0x40, "MFT record size byte %#x", b[0x40])
	}
	bs.RecordSize = int(rs)
	is, ok := sizeFromClusters(int8(b[0x44]), bs.ClusterSize)
	if !ok || is < 512 || is > maxIndexBlock || is&(is-1) != 0 {
		return nil, corrupt(structure, 0x44, "index block size byte %#x", b[0x44])
	}
	bs.IndexBlockSize = int(is)
	bs.SerialNumber = binary.LittleEndian.Uint64(b[0x48:])
	if bs.TotalSectors > uint64(volSize)/uint64(bs.SectorSize)+1 && volSize > 0 {
		return nil, corrupt(structure, 0x28, "volume claims %d sectors but the device holds %d bytes", bs.TotalSectors, volSize)
	}
	bs.TotalClusters = int64(bs.TotalSectors * uint64(bs.SectorSize) / uint64(bs.ClusterSize))
	if bs.MFTLCN <= 0 || bs.MFTLCN >= bs.TotalClusters || bs.MFTMirrLCN <= 0 || bs.MFTMirrLCN >= bs.TotalClusters {
		return nil, corrupt(structure, 0x30, "MFT LCN %d / MFTMirr LCN %d outside %d clusters", bs.MFTLCN, bs.MFTMirrLCN, bs.TotalClusters)
	}
	return bs, nil
}

func (bs *bootSector) String() string {
	return fmt.Sprintf("sector %d cluster %d record %d index %d clusters %d", bs.SectorSize, bs.ClusterSize, bs.RecordSize, bs.IndexBlockSize, bs.TotalClusters)
}
