package partition

import (
	"errors"
	"fmt"
	"io"
)

// Scheme names.
const (
	SchemeMBR  = "mbr"
	SchemeGPT  = "gpt"
	SchemeNone = "none" // one filesystem over the whole disk, no table
)

// Table is what Read found on a disk.
type Table struct {
	Scheme     string      `json:"scheme"`
	SectorSize int64       `json:"sector_size"`
	DiskID     string      `json:"disk_id,omitempty"` // MBR signature or GPT disk GUID
	Partitions []Partition `json:"partitions"`
}

// Partition is one partition (never an extended container: its logical
// partitions are listed instead).
type Partition struct {
	Index      int    `json:"index"` // 1-4 primary, 5+ logical, GPT entry number; 0 = whole disk
	Start      int64  `json:"start"` // bytes
	Size       int64  `json:"size"`  // bytes
	Type       string `json:"type"`  // "0x07" (MBR) or the type GUID (GPT); "" for a whole disk
	TypeName   string `json:"type_name"`
	Filesystem string `json:"filesystem"`     // ntfs, fat, exfat, ext, bitlocker, ldm, unknown
	Name       string `json:"name,omitempty"` // GPT partition name
	GUID       string `json:"guid,omitempty"` // GPT unique partition GUID
	Bootable   bool   `json:"bootable,omitempty"`
	Logical    bool   `json:"logical,omitempty"`
}

// ErrNoTable: neither a partition table nor a filesystem was found.
var ErrNoTable = errors.New("partition: no partition table or known filesystem")

// Read finds the partition table of a disk of the given size, and the
// filesystem at the start of every partition.
func Read(r io.ReaderAt, size int64) (*Table, error) {
	if size < 512 {
		return nil, fmt.Errorf("partition: disk of %d bytes is too small for a partition table", size)
	}
	s0 := make([]byte, min(size, probeSize))
	if _, err := r.ReadAt(s0, 0); err != nil {
		return nil, fmt.Errorf("partition: read sector 0: %w", err)
	}
	t := &Table{SectorSize: 512}
	var err error
	switch {
	case isVolumeBootSector(s0) || (probeBytes(s0) != FSUnknown && !hasMBRSignature(s0)):
		t.Scheme = SchemeNone
		t.Partitions = []Partition{{Index: 0, Start: 0, Size: size, TypeName: "whole disk (no partition table)"}}
	case hasGPTHeader(r, size, 512) || hasGPTHeader(r, size, 4096):
		t.Scheme = SchemeGPT
		if !hasGPTHeader(r, size, 512) {
			t.SectorSize = 4096
		}
		t.Partitions, t.DiskID, err = readGPT(r, size, t.SectorSize)
	case hasMBRSignature(s0):
		t.Scheme = SchemeMBR
		if protectiveOnly(s0) {
			return nil, fmt.Errorf("partition: protective MBR (type 0xee) but no readable GPT header")
		}
		t.Partitions, t.DiskID, err = readMBR(r, size, 512)
	default:
		return nil, ErrNoTable
	}
	if err != nil {
		return nil, fmt.Errorf("partition: %w", err)
	}
	for i := range t.Partitions {
		p := &t.Partitions[i]
		switch {
		case p.Type == "0x42" || isLDMGUID(p.Type):
			p.Filesystem = FSLDM
		case p.Start >= size:
			p.Filesystem = FSUnknown
		default:
			p.Filesystem = ProbeFilesystem(r, p.Start, min(p.Size, size-p.Start))
		}
	}
	return t, nil
}

func hasMBRSignature(s0 []byte) bool { return s0[510] == 0x55 && s0[511] == 0xAA }

// protectiveOnly reports an MBR whose only entry is the GPT protective one.
func protectiveOnly(s0 []byte) bool {
	for i := 0; i < 4; i++ {
		if t := s0[446+16*i+4]; t != 0 && t != 0xee {
			return false
		}
	}
	return s0[446+4] == 0xee || s0[462+4] == 0xee || s0[478+4] == 0xee || s0[494+4] == 0xee
}
