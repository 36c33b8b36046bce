package drivers

import (
	"fmt"
	"strings"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// osDir is one virtio-win OS directory and the Windows it was built for.
type osDir struct {
	Name                string
	Major, Minor, Build int
	Server              bool
}

// osDirs lists virtio-win's OS directory names (distrobuilder's matrix and
// the virtio-win ISO listing), oldest first. Vista uses 2k8 and XP x64 uses
// xp, as libguestfs maps them (injection-facts 1.6).
var osDirs = []osDir{
	{"xp", 5, 1, 2600, false},
	{"2k3", 5, 2, 3790, true},
	{"2k8", 6, 0, 6001, true},
	{"w7", 6, 1, 7600, false},
	{"2k8R2", 6, 1, 7600, true},
	{"w8", 6, 2, 9200, false},
	{"2k12", 6, 2, 9200, true},
	{"w8.1", 6, 3, 9600, false},
	{"2k12R2", 6, 3, 9600, true},
	{"w10", 10, 0, 10240, false},
	{"2k16", 10, 0, 14393, true},
	{"2k19", 10, 0, 17763, true},
	{"2k22", 10, 0, 20348, true},
	{"w11", 10, 0, 22000, false},
	{"2k25", 10, 0, 26100, true},
}

func lookupOSDir(name string) (osDir, bool) {
	for _, d := range osDirs {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return osDir{}, false
}

// OSDirFor maps a Windows version to its virtio-win directory name. XP x64
// (5.2 workstation) maps to xp.
func OSDirFor(major, minor, build int, server bool) (string, error) {
	switch {
	case major == 5 && minor == 1:
		return "xp", nil
	case major == 5 && minor == 2:
		if server {
			return "2k3", nil
		}
		return "xp", nil
	case major == 6 && minor == 0:
		return "2k8", nil
	case major == 6 && minor <= 3:
		return map[[2]int]string{{1, 0}: "w7", {1, 1}: "2k8R2", {2, 0}: "w8", {2, 1}: "2k12", {3, 0}: "w8.1", {3, 1}: "2k12R2"}[[2]int{minor, b2i(server)}], nil
	case major == 10 && minor == 0 && !server:
		if build >= 22000 {
			return "w11", nil
		}
		return "w10", nil
	case major == 10 && minor == 0:
		switch {
		case build >= 26100:
			return "2k25", nil
		case build >= 20348:
			return "2k22", nil
		case build >= 17763:
			return "2k19", nil
		}
		return "2k16", nil
	}
	return "", fmt.Errorf("drivers: no virtio-win directory for Windows NT %d.%d build %d", major, minor, build)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// archDirs maps layout architecture directory names to platforms.
var archDirs = map[string]inf.Arch{"x86": inf.ArchX86, "i386": inf.ArchX86, "amd64": inf.ArchAMD64, "arm64": inf.ArchARM64}

// virtioLocation recognizes <Driver>/<os>/<arch>/x.inf and the storage-only
// <arch>/<os>/x.inf (also /usr/share/virtio-win/drivers/by-os/<arch>/<os>).
func virtioLocation(p string) (driver, os, arch string, ok bool) {
	parts := strings.Split(p, "/")
	if len(parts) < 3 {
		return "", "", "", false
	}
	a, b := parts[len(parts)-3], parts[len(parts)-2]
	if _, isOS := lookupOSDir(b); isOS {
		if _, isArch := archDirs[strings.ToLower(a)]; isArch {
			return "", b, a, true // <arch>/<os>: driver named by the INF
		}
	}
	if _, isOS := lookupOSDir(a); isOS && len(parts) >= 4 {
		if _, isArch := archDirs[strings.ToLower(b)]; isArch {
			return parts[len(parts)-4], a, b, true
		}
	}
	return "", "", "", false
}

// virtioExcluded says why a virtio-win file must not be used, "" if usable:
// sriov/ and vioprot.* conflict with netkvm (RHEL-56383), *.pdb are debug
// symbols (libguestfs-common ea62f52).
func virtioExcluded(p string) string {
	l := strings.ToLower(p)
	base := l[strings.LastIndexByte(l, '/')+1:]
	switch {
	case strings.HasPrefix(l, "sriov/") || strings.Contains(l, "/sriov/"):
		return "sriov/ packages conflict with netkvm (RHEL-56383)"
	case strings.HasPrefix(base, "vioprot."):
		return "vioprot conflicts with netkvm (RHEL-56383)"
	case strings.HasSuffix(base, ".pdb"):
		return "debug symbols are not installed"
	}
	return ""
}
