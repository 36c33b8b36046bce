package guest

import (
	"regexp"
	"strconv"
	"strings"
)

// currentVersionKey holds the version fields in the SOFTWARE hive.
const currentVersionKey = `Microsoft\Windows NT\CurrentVersion`

// version is what SOFTWARE\...\CurrentVersion says.
type version struct {
	productName, csd, edition, installType, currentVersion string
	major, minor, build, ubr, sp                           int
	hasMajorMinor                                          bool
}

func readVersion(k key) version {
	v := version{
		productName:    k.str("ProductName"),
		csd:            k.str("CSDVersion"),
		edition:        k.str("EditionID"),
		installType:    k.str("InstallationType"),
		currentVersion: k.str("CurrentVersion"),
	}
	// CurrentVersion reads "6.3" on Windows 10 and 11, so the DWORDs that
	// exist since Windows 10 win when present (libguestfs inspect_fs_windows.ml).
	maj, okMaj := k.uint("CurrentMajorVersionNumber")
	mnr, okMin := k.uint("CurrentMinorVersionNumber")
	if okMaj && okMin && maj < 1000 && mnr < 1000 {
		v.major, v.minor, v.hasMajorMinor = int(maj), int(mnr), true
	} else {
		v.major, v.minor = parseMajorMinor(v.currentVersion)
	}
	// CurrentBuildNumber, not CurrentBuild: on XP the latter held
	// something else (libguestfs).
	v.build = atoiPrefix(k.str("CurrentBuildNumber"))
	if n, ok := k.uint("UBR"); ok && n < 1<<31 {
		v.ubr = int(n)
	}
	v.sp = servicePack(v.csd, v.major, v.minor, v.build)
	return v
}

func parseMajorMinor(s string) (int, int) {
	a, b, _ := strings.Cut(strings.TrimSpace(s), ".")
	return atoiPrefix(a), atoiPrefix(b)
}

// atoiPrefix parses the leading decimal digits of s; 0 when there are none
// or they overflow a sane bound.
func atoiPrefix(s string) int {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && i < 9 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.Atoi(s[:i])
	return n
}

var spRE = regexp.MustCompile(`(?i)service\s*pack\s*(\d+)`)

// servicePack takes the number from CSDVersion ("Service Pack 1"). Without
// CSDVersion, the NT 6.0/6.1 build tells it: 6001 is SP1, 6002/6003 SP2,
// 7601 SP1 (SP1 raised the build number on those releases only).
func servicePack(csd string, major, minor, build int) int {
	if m := spRE.FindStringSubmatch(csd); m != nil {
		return atoiPrefix(m[1])
	}
	switch {
	case major == 6 && minor == 0 && build == 6001:
		return 1
	case major == 6 && minor == 0 && build >= 6002 && build < 6100:
		return 2
	case major == 6 && minor == 1 && build == 7601:
		return 1
	}
	return 0
}

// isServer classifies the install. InstallationType ("Client", "Server",
// "Server Core") exists from Vista/2008 on; before it, and as a fallback,
// the edition and product name say "Server".
func (v version) isServer() bool {
	if v.installType != "" {
		return strings.Contains(strings.ToLower(v.installType), "server")
	}
	return strings.Contains(strings.ToLower(v.edition), "server") ||
		strings.Contains(strings.ToLower(v.productName), "server")
}

// serverBuilds maps the first build of each Server release since 2016. The
// ProductName also names the year, but builds are what the kernel is.
var serverBuilds = []struct {
	build int
	id    string
	year  string
}{
	{26100, "win2k25", "2025"},
	{20348, "win2k22", "2022"},
	{17763, "win2k19", "2019"},
	{14393, "win2k16", "2016"},
}

// OS identifiers (libosinfo short ids, as libguestfs lib/inspect-osinfo.c
// produces them) and virtio-win ISO directory names.
var virtioDirs = map[string]string{
	"winxp": "xp", "win2k3": "2k3", "win2k3r2": "2k3", "winvista": "2k8", "win2k8": "2k8",
	"win7": "w7", "win2k8r2": "2k8R2", "win8": "w8", "win2k12": "2k12", "win8.1": "w8.1",
	"win2k12r2": "2k12R2", "win10": "w10", "win2k16": "2k16", "win2k19": "2k19",
	"win2k22": "2k22", "win2k25": "2k25", "win11": "w11",
}

// osID maps version fields to an OS id; "" when the version is not one of
// them (NT 4, 2000, or unreadable). yearMismatch is set when a Server's
// ProductName names a different year than its build.
func (v version) osID() (id string, yearMismatch bool) {
	server := v.isServer()
	name := strings.ToLower(v.productName)
	switch {
	case v.major == 5 && v.minor == 1:
		return "winxp", false
	case v.major == 5 && v.minor == 2:
		switch {
		case strings.Contains(name, "xp"):
			return "winxp", false // XP x64 is NT 5.2
		case strings.Contains(name, "r2"):
			return "win2k3r2", false
		}
		return "win2k3", false
	case v.major == 6 && v.minor == 0:
		return pick(server, "win2k8", "winvista"), false
	case v.major == 6 && v.minor == 1:
		return pick(server, "win2k8r2", "win7"), false
	case v.major == 6 && v.minor == 2:
		return pick(server, "win2k12", "win8"), false
	case v.major == 6 && v.minor == 3:
		return pick(server, "win2k12r2", "win8.1"), false
	case v.major == 10 && v.minor == 0 && !server:
		// Windows 11 keeps a "Windows 10" ProductName; only the build tells
		// (libguestfs lib/inspect-osinfo.c:156).
		return pick(v.build >= 22000, "win11", "win10"), false
	case v.major == 10 && v.minor == 0:
		if v.build > 0 {
			for _, s := range serverBuilds {
				if v.build >= s.build {
					return s.id, hasOtherYear(name, s.year)
				}
			}
			return "win2k16", false // a pre-release 2016 build
		}
		for _, s := range serverBuilds {
			if strings.Contains(name, s.year) {
				return s.id, false
			}
		}
		return "win2k16", false
	}
	return "", false
}

func hasOtherYear(name, year string) bool {
	for _, s := range serverBuilds {
		if s.year != year && strings.Contains(name, s.year) {
			return true
		}
	}
	return false
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}
