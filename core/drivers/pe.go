package drivers

import (
	"bytes"
	"debug/pe"
	"fmt"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// MaxBinarySize bounds how much of a .sys/.dll/.exe is read to find its
// machine type. Real kernel drivers are well under this.
const MaxBinarySize = 64 << 20

// peArch returns the architecture in a PE image's file header.
func peArch(b []byte) (inf.Arch, error) {
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("not a PE image: %w", err)
	}
	defer f.Close()
	switch f.Machine {
	case pe.IMAGE_FILE_MACHINE_I386:
		return inf.ArchX86, nil
	case pe.IMAGE_FILE_MACHINE_AMD64:
		return inf.ArchAMD64, nil
	case pe.IMAGE_FILE_MACHINE_ARM64:
		return inf.ArchARM64, nil
	case pe.IMAGE_FILE_MACHINE_IA64:
		return inf.ArchIA64, nil
	case pe.IMAGE_FILE_MACHINE_ARMNT, pe.IMAGE_FILE_MACHINE_ARM:
		return inf.ArchARM, nil
	}
	return "", fmt.Errorf("PE machine %#x is not a Windows driver platform", f.Machine)
}
