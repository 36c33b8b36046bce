package guest

import (
	"bytes"
	"debug/pe"
	"fmt"
	"strings"
)

// Arch is a Windows processor architecture, named as virtio-win names its
// directories and as PROCESSOR_ARCHITECTURE reads lowercased.
type Arch string

const (
	ArchUnknown Arch = ""
	ArchX86     Arch = "x86"
	ArchAMD64   Arch = "amd64"
	ArchARM64   Arch = "arm64"
)

// Bits is 32 or 64, 0 when unknown.
func (a Arch) Bits() int {
	switch a {
	case ArchX86:
		return 32
	case ArchAMD64, ArchARM64:
		return 64
	}
	return 0
}

// peArch reads the COFF Machine field of a PE image. file(1), which
// libguestfs uses, says "PE32+" for both amd64 and arm64, so the Machine
// field is the only reliable source (injection-facts §1.2).
func peArch(b []byte) (Arch, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return ArchUnknown, fmt.Errorf("not a PE image: %w", err)
	}
	defer f.Close()
	switch f.Machine {
	case pe.IMAGE_FILE_MACHINE_I386:
		return ArchX86, nil
	case pe.IMAGE_FILE_MACHINE_AMD64:
		return ArchAMD64, nil
	case pe.IMAGE_FILE_MACHINE_ARM64:
		return ArchARM64, nil
	}
	return ArchUnknown, fmt.Errorf("PE machine 0x%04x is not x86, amd64 or arm64", f.Machine)
}

// registryArch maps PROCESSOR_ARCHITECTURE (x86, AMD64, ARM64, IA64).
func registryArch(s string) Arch {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "x86":
		return ArchX86
	case "amd64":
		return ArchAMD64
	case "arm64":
		return ArchARM64
	}
	return ArchUnknown
}
