package partition

import (
	"fmt"
	"strings"
)

// GPT partition type GUIDs that matter to pvinject.
const (
	GUIDMicrosoftBasicData = "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7"
	GUIDLDMMetadata        = "5808C8AA-7E8F-42E0-85D2-E1E90434CFB3"
	GUIDLDMData            = "AF9B60A0-1431-4F62-BC68-3311714A69AD"
)

var gptNames = map[string]string{
	"C12A7328-F81F-11D2-BA4B-00A0C93EC93B": "EFI System",
	"E3C9E316-0B5C-4DB8-817D-F92DF00215AE": "Microsoft reserved",
	GUIDMicrosoftBasicData:                 "Microsoft basic data",
	GUIDLDMMetadata:                        "Microsoft LDM metadata (dynamic disk)",
	GUIDLDMData:                            "Microsoft LDM data (dynamic disk)",
	"DE94BBA4-06D1-4D40-A16A-BFD50179D6AC": "Windows recovery environment",
	"E75CAF8F-F680-4CEE-AFA3-B001E56EFC2D": "Microsoft Storage Spaces",
	"21686148-6449-6E6F-744E-656564454649": "BIOS boot",
	"0FC63DAF-8483-4772-8E79-3D69D8477DE4": "Linux filesystem",
	"0657FD6D-A4AB-43C4-84E5-0933C84B4F4F": "Linux swap",
	"E6D6D379-F507-44C2-A23C-238F2A3DF928": "Linux LVM",
	"024DEE41-33E7-11D3-9D69-0008C781F39F": "MBR partition scheme",
}

var mbrNames = map[byte]string{
	0x01: "FAT12",
	0x04: "FAT16 <32M",
	0x05: "Extended",
	0x06: "FAT16",
	0x07: "HPFS/NTFS/exFAT",
	0x0b: "W95 FAT32",
	0x0c: "W95 FAT32 (LBA)",
	0x0e: "W95 FAT16 (LBA)",
	0x0f: "W95 Extended (LBA)",
	0x11: "Hidden FAT12",
	0x12: "Compaq diagnostics",
	0x14: "Hidden FAT16 <32M",
	0x16: "Hidden FAT16",
	0x17: "Hidden HPFS/NTFS",
	0x1b: "Hidden W95 FAT32",
	0x1c: "Hidden W95 FAT32 (LBA)",
	0x1e: "Hidden W95 FAT16 (LBA)",
	0x27: "Hidden NTFS WinRE",
	0x42: "SFS / LDM dynamic disk",
	0x82: "Linux swap",
	0x83: "Linux",
	0x85: "Linux extended",
	0x8e: "Linux LVM",
	0xee: "GPT protective",
	0xef: "EFI (FAT-12/16/32)",
}

func isExtended(t byte) bool { return t == 0x05 || t == 0x0f || t == 0x85 }

func mbrTypeName(t byte) string {
	if n, ok := mbrNames[t]; ok {
		return n
	}
	return "unknown"
}

func mbrTypeString(t byte) string { return fmt.Sprintf("0x%02x", t) }

func gptTypeName(guid string) string {
	if n, ok := gptNames[strings.ToUpper(guid)]; ok {
		return n
	}
	return "unknown"
}

func isLDMGUID(guid string) bool {
	g := strings.ToUpper(guid)
	return g == GUIDLDMMetadata || g == GUIDLDMData
}
