package matrix

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pvinject/pvinject/core/guest"
)

// Verdicts.
const (
	Supported             = "supported"
	SupportedWithWarnings = "supported-with-warnings"
	Unsupported           = "unsupported"
)

// Reason is one actionable statement behind a verdict, with its source.
type Reason struct {
	Severity string `json:"severity"` // "unsupported" or "warning"
	Message  string `json:"message"`
	Remedy   string `json:"remedy,omitempty"`
	Source   string `json:"source"` // document and section, e.g. "Oracle ... guide §4.1"
	// Guest marks a reason that is about the guest, the same for every
	// driver set (Fast Startup, a pending reboot): the guest's own findings
	// already say it, so a screen listing every set shows it once.
	Guest bool `json:"guest,omitempty"`
}

// Documents a user can look up, cited by the guest reasons.
const (
	srcFastStartup   = "Microsoft: Distributing drivers for Fast Startup (hybrid shutdown); ntfs-3g manual, hibernated volumes"
	srcPendingReboot = "Microsoft: PendingFileRenameOperations (MoveFileEx, MOVEFILE_DELAY_UNTIL_REBOOT)"
)

// Verdict is one driver set's answer for one detected Windows.
type Verdict struct {
	DriverSet string   `json:"driver_set"`
	Name      string   `json:"name"`
	Verdict   string   `json:"verdict"`
	Dir       string   `json:"dir,omitempty"` // driver directory to use, when the set has one
	Reasons   []Reason `json:"reasons"`
	Notes     []Note   `json:"notes,omitempty"` // always true of the set, not of the guest
}

const sevWarning = "warning"

// Evaluate decides whether set supports w. It is a pure function.
func Evaluate(s Set, w guest.Windows) Verdict {
	v := Verdict{DriverSet: s.ID, Name: s.Name, Notes: s.Notes, Reasons: []Reason{}}
	// Sections of the set's own document ("§4.1", "Table 1.2") get the
	// document's title; sources that name their document stay as written.
	cite := func(src string) string {
		if strings.HasPrefix(src, "§") || strings.HasPrefix(src, "Table") {
			return s.Document + " " + src
		}
		return src
	}
	no := func(msg, remedy, src string) {
		v.Reasons = append(v.Reasons, Reason{Severity: Unsupported, Message: msg, Remedy: remedy, Source: cite(src)})
	}
	warn := func(msg, remedy, src string) {
		v.Reasons = append(v.Reasons, Reason{Severity: sevWarning, Message: msg, Remedy: remedy, Source: cite(src)})
	}
	label := OSLabel(w.OSID)

	row, found := s.row(w.OSID, w.Arch)
	switch {
	case w.OSID == "" || w.Arch == guest.ArchUnknown:
		no("the Windows version or architecture could not be detected", "see the inspection's blockers", s.Unlisted.Source)
	case !found:
		no(fmt.Sprintf("%s %s: %s", label, bitsLabel(w.Arch), s.Unlisted.Message), "", s.Unlisted.Source)
	case row.Status == StatusUnsupported:
		no(fmt.Sprintf("%s %s: %s", label, bitsLabel(w.Arch), row.Note), "", row.Source)
	default:
		v.Dir = row.Dir
		if w.ServicePack < row.MinSP {
			no(fmt.Sprintf("%s without SP%d: install SP%d first", label, row.MinSP, row.MinSP),
				fmt.Sprintf("install Service Pack %d in the guest, then run pvinject again", row.MinSP), row.Source)
		}
		if row.MinBuild > 0 && w.Build < row.MinBuild {
			no(fmt.Sprintf("%s build %d is older than build %d (%s)", label, w.Build, row.MinBuild, row.Note),
				"update Windows first", row.Source)
		}
		switch {
		case row.Signed != nil && !*row.Signed && s.Unsigned != nil:
			who := "32-bit"
			if w.Arch != guest.ArchX86 {
				who = label
			}
			warn(who+": "+s.Unsigned.Message, s.Unsigned.Remedy, s.Unsigned.Source)
		case row.Signed == nil && s.UnsignedUnknown != nil:
			warn(label+" "+bitsLabel(w.Arch)+": "+s.UnsignedUnknown.Message, s.UnsignedUnknown.Remedy, s.UnsignedUnknown.Source)
		}
		for _, n := range row.Warnings {
			v.Reasons = append(v.Reasons, Reason{Severity: sevWarning, Message: n.Message, Remedy: n.Remedy, Source: n.Source})
		}
	}

	for _, u := range s.Upgrades {
		if u.Arch != "" && u.Arch != w.Arch {
			continue
		}
		for _, p := range w.PVProducts {
			if p.Set == u.FromSet {
				warn(u.Message, "", u.Source)
				break
			}
		}
	}
	for _, is := range s.KnownIssues {
		if (len(is.OS) == 0 || slices.Contains(is.OS, w.OSID)) && (is.Arch == "" || is.Arch == w.Arch) {
			warn(is.Message, "", is.Source)
		}
	}
	for _, c := range s.Conflicts {
		if other := otherInstalled(w, c.Family, s.ID); other != "" {
			warn(c.Message+" (found: "+other+")", "", c.Source)
		}
	}
	if len(w.DeviceInstallRestrictions) > 0 {
		warn(s.DevicePolicy.Message, s.DevicePolicy.Remedy, s.DevicePolicy.Source)
	}
	if w.FastStartup {
		v.Reasons = append(v.Reasons, Reason{Severity: sevWarning, Message: "Fast Startup is on",
			Remedy: "turn Fast Startup off in the guest, or shut it down with Restart, so the disk is not left hibernated",
			Source: srcFastStartup, Guest: true})
	}
	if len(w.PendingReboot) > 0 {
		v.Reasons = append(v.Reasons, Reason{Severity: sevWarning, Message: "Windows has a reboot pending; driver installation waits for it",
			Remedy: "boot the guest once and restart it before converting, if you can",
			Source: srcPendingReboot, Guest: true})
	}

	v.Verdict = Supported
	for _, r := range v.Reasons {
		if r.Severity == Unsupported {
			v.Verdict = Unsupported
			break
		}
		v.Verdict = SupportedWithWarnings
	}
	return v
}

// EvaluateAll gives every set's verdict for w, in set order.
func EvaluateAll(sets []Set, w guest.Windows) []Verdict {
	out := make([]Verdict, 0, len(sets))
	for _, s := range sets {
		out = append(out, Evaluate(s, w))
	}
	return out
}

func (s Set) row(os string, arch guest.Arch) (Row, bool) {
	for _, r := range s.Rows {
		if r.OS == os && r.Arch == arch {
			return r, true
		}
	}
	return Row{}, false
}

func bitsLabel(a guest.Arch) string {
	switch a {
	case guest.ArchX86:
		return "32-bit"
	case guest.ArchAMD64:
		return "64-bit"
	case guest.ArchARM64:
		return "ARM64"
	}
	return "(unknown architecture)"
}

// otherInstalled names a driver package or service of family that is not
// this set, "" when there is none. In-box Hyper-V drivers never count.
func otherInstalled(w guest.Windows, family, self string) string {
	for _, p := range w.PVProducts {
		if p.Family == family && p.Set != self {
			return p.Name
		}
	}
	// Every driver, so the admin knows what to remove; the vendor when the
	// file says it.
	var found []string
	for _, d := range w.PVDrivers {
		if d.Family == family {
			if d.Vendor != "" {
				found = append(found, d.Service+" ("+d.Vendor+")")
			} else {
				found = append(found, d.Service)
			}
		}
	}
	return strings.Join(found, ", ")
}
