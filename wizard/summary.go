package wizard

import (
	"github.com/pvinject/pvinject/internal/human"

	"fmt"
	"strings"
)

// ImageSummary is what step 1 shows about an opened disk image.
type ImageSummary struct {
	Path        string             `json:"path"`
	Format      string             `json:"format"`       // raw, vhd, vhdx, vmdk, qcow2
	VirtualSize int64              `json:"virtual_size"` // bytes the guest sees
	FileSize    int64              `json:"file_size"`    // bytes on the host
	Chain       []ChainLink        `json:"chain,omitempty"`
	Partitions  []PartitionSummary `json:"partitions"`
	Findings    []Finding          `json:"findings,omitempty"`
	// Journal is set when an earlier run of pvinject left its rollback
	// record beside the image: the image holds that run's changes until
	// they are rolled back or kept.
	Journal *JournalInfo `json:"journal,omitempty"`
}

// JournalInfo describes the rollback record of an earlier run.
type JournalInfo struct {
	Path string `json:"path"` // the journal file beside the image
	// Finished is true when that run completed (its report was saved): the
	// image holds the injection; false when it was cut off, so the image
	// may be half written and must be rolled back.
	Finished bool `json:"finished"`
	// ReportPath is the readable report of that run, "" when none was saved.
	ReportPath string `json:"report_path,omitempty"`
}

// ChainLink is one parent of a differencing disk, nearest parent first.
type ChainLink struct {
	Path    string `json:"path"`
	Format  string `json:"format"`
	Missing bool   `json:"missing,omitempty"`
}

// PartitionSummary is one partition of the image.
type PartitionSummary struct {
	Index      int    `json:"index"`  // 1-based, as the partition table numbers it
	Scheme     string `json:"scheme"` // mbr or gpt
	Type       string `json:"type"`   // e.g. "NTFS/exFAT (0x07)", "Microsoft basic data"
	Start      int64  `json:"start"`  // byte offset
	Size       int64  `json:"size"`   // bytes
	Filesystem string `json:"filesystem,omitempty"`
	Label      string `json:"label,omitempty"`
}

// GuestSummary is one Windows installation found in the image.
type GuestSummary struct {
	Partition        int           `json:"partition"` // PartitionSummary.Index holding it
	SystemRoot       string        `json:"systemroot"`
	ProductName      string        `json:"product_name"`
	Major            int           `json:"major"`
	Minor            int           `json:"minor"`
	Build            int           `json:"build"`
	UBR              int           `json:"ubr,omitempty"`
	ServicePack      string        `json:"service_pack,omitempty"`
	Edition          string        `json:"edition,omitempty"`
	InstallationType string        `json:"installation_type,omitempty"`
	Arch             string        `json:"arch"` // x86, amd64, arm64
	ControlSet       string        `json:"control_set"`
	ControlSets      []string      `json:"control_sets,omitempty"`
	PVDrivers        []InstalledPV `json:"pv_drivers,omitempty"`
	Findings         []Finding     `json:"findings,omitempty"`
	Network          []NetAdapter  `json:"network,omitempty"` // network.go
}

// InstalledPV is a paravirtual driver already present in the guest.
type InstalledPV struct {
	Name    string `json:"name"`   // service name, e.g. "viostor"
	Family  string `json:"family"` // virtio, xen, oracle, citrix, vmware, hyper-v
	Version string `json:"version,omitempty"`
}

// Title is a one-line name for the guest, used in choices and headings.
func (g GuestSummary) Title() string {
	s := g.ProductName
	if s == "" {
		s = "Windows"
	}
	if g.ServicePack != "" {
		s += " " + g.ServicePack
	}
	return fmt.Sprintf("%s (%s, build %d) in %s", s, g.Arch, g.Build, g.SystemRoot)
}

// VerdictKind is the matrix's answer for one driver set.
type VerdictKind string

// Matrix verdicts.
const (
	Supported         VerdictKind = "supported"
	SupportedWarnings VerdictKind = "supported-with-warnings"
	Unsupported       VerdictKind = "unsupported"
)

// Verdict is the matrix verdict for one driver set and the chosen guest.
type Verdict struct {
	DriverSet string      `json:"driver_set"` // e.g. "oracle-vm-pv-3.2.3", "virtio-win"
	Family    string      `json:"family"`     // a Set value: virtio-win, oracle-vm-pv, xen-pv
	Title     string      `json:"title"`      // e.g. "Oracle VM PV Drivers 3.2.3"
	Verdict   VerdictKind `json:"verdict"`
	Reasons   []Reason    `json:"reasons,omitempty"`
}

// Reason explains a verdict and names the document section it comes from.
type Reason struct {
	Text   string `json:"text"`
	Source string `json:"source,omitempty"` // e.g. "Oracle VM PV guide, table 1.1"
}

// Set names the kind of driver source, the same values as `pvinject inject --set`.
type Set string

// Driver sources.
const (
	SetAuto      Set = "auto"
	SetVirtioWin Set = "virtio-win"
	SetOracle    Set = "oracle-vm-pv"
	SetXen       Set = "xen-pv"
	SetINF       Set = "inf"
)

// Sets lists the sources the Drivers step offers, in display order.
var Sets = []Set{SetVirtioWin, SetOracle, SetXen, SetINF}

// Valid reports whether s is a known set, auto included.
func (s Set) Valid() bool {
	switch s {
	case SetAuto, SetVirtioWin, SetOracle, SetXen, SetINF:
		return true
	}
	return false
}

// Label is how the Drivers step names the source.
func (s Set) Label() string {
	switch s {
	case SetVirtioWin:
		return "virtio-win ISO or unpacked folder (KVM)"
	case SetOracle:
		return "Oracle VM PV Drivers folder"
	case SetXen:
		return "Xen PV drivers folder (XCP-ng / Citrix)"
	case SetINF:
		return "Folder of INF driver packages"
	case SetAuto:
		return "Detect from the source"
	}
	return string(s)
}

// PlanSummary is the full plan the Drivers step shows before anything is written.
type PlanSummary struct {
	ID        string `json:"id"`         // identifies this plan; Apply must get it back
	DriverSet string `json:"driver_set"` // resolved matrix key, e.g. "oracle-vm-pv-3.2.3"
	Family    Set    `json:"family"`
	Version   string `json:"version,omitempty"`

	Packages  []PackagePick `json:"packages"`
	Files     []FileChange  `json:"files"`
	Registry  []RegChange   `json:"registry"`
	FirstBoot []string      `json:"first_boot,omitempty"` // what the first-boot runner will do
	Findings  []Finding     `json:"findings,omitempty"`
	// Unused lists the packages found in the source and not used, grouped
	// by why; Consents the risks the user accepted.
	Unused   []string `json:"unused,omitempty"`
	Consents []string `json:"consents,omitempty"`

	// NeedsUnsignedConsent is set when a picked package is unsigned on a
	// guest that will not load it (64-bit): the plan may be applied only
	// with DriverRequest.AllowUnsigned.
	NeedsUnsignedConsent bool     `json:"needs_unsigned_consent,omitempty"`
	Unsigned             []string `json:"unsigned,omitempty"` // package names

	// Rules are the option defaults and limits of this driver set; zero
	// means "use DefaultRules(Family, Version)".
	Rules *OptionRules `json:"rules,omitempty"`
}

// PackagePick is one driver package chosen for the guest, with why.
type PackagePick struct {
	Name         string `json:"name"` // e.g. "viostor"
	INF          string `json:"inf"`  // path inside the source
	Version      string `json:"version,omitempty"`
	Arch         string `json:"arch"`
	Signed       bool   `json:"signed"`
	BootCritical bool   `json:"boot_critical,omitempty"` // installed offline, not staged
	Reason       string `json:"reason"`
}

// FileChange is one file the plan creates or replaces in the guest.
type FileChange struct {
	Path   string `json:"path"`   // guest path, e.g. `Windows\System32\drivers\viostor.sys`
	Action string `json:"action"` // create or replace
	Size   int64  `json:"size"`
	Reason string `json:"reason,omitempty"`
}

// RegChange is one registry value or key the plan sets or removes.
type RegChange struct {
	Key    string `json:"key"` // e.g. `HKLM\SYSTEM\ControlSet001\Services\viostor`
	Value  string `json:"value,omitempty"`
	Type   string `json:"type,omitempty"` // REG_DWORD, ...
	Old    string `json:"old,omitempty"`  // "" with OldAbsent means the value did not exist
	New    string `json:"new,omitempty"`
	Action string `json:"action"` // set, delete, create-key
	Reason string `json:"reason,omitempty"`

	OldAbsent bool `json:"old_absent,omitempty"`
}

// OldText is the old value as a person reads it.
func (r RegChange) OldText() string {
	if r.OldAbsent {
		return "(absent)"
	}
	return r.Old
}

// Report is what Apply returns: what changed, the verification, first boot
// and rollback.
type Report struct {
	Image      string       `json:"image"`  // the image that was written
	Source     string       `json:"source"` // the image that was read
	InPlace    bool         `json:"in_place"`
	Files      []FileChange `json:"files"`
	Registry   []RegChange  `json:"registry"`
	Verify     Verification `json:"verification"`
	FirstBoot  []string     `json:"first_boot,omitempty"`
	Rollback   string       `json:"rollback"`              // how to undo, in a sentence or a command
	HostAdvice []string     `json:"host_advice,omitempty"` // e.g. QEMU host_mtu, cache mode
	Findings   []Finding    `json:"findings,omitempty"`
	Boot       BootVerdict  `json:"boot"`
	Consents   []string     `json:"consents,omitempty"`
	Unused     []string     `json:"unused,omitempty"`
	ReportPath string       `json:"report_path,omitempty"` // readable report saved beside the image
	// JournalPath is the rollback record kept beside the image until the
	// change is kept (Accept) or rolled back.
	JournalPath string `json:"journal_path,omitempty"`
	JSONPath    string `json:"json_path,omitempty"`
	Text        string `json:"text,omitempty"` // readable report; rendered by ReportText when empty
}

// Verification is the re-read of every planned change after apply.
type Verification struct {
	OK       bool     `json:"ok"`
	Checked  int      `json:"checked"`
	Problems []string `json:"problems,omitempty"`
}

// Blockers returns the blocker findings of fs.
func Blockers(fs []Finding) []Finding {
	var out []Finding
	for _, f := range fs {
		if f.Severity == Blocker {
			out = append(out, f)
		}
	}
	return out
}

// FindingText is a finding as one line a person can act on.
func FindingText(f Finding) string {
	s := f.Message
	if f.Title != "" && f.Title != f.Message {
		s = f.Title + ": " + s
	}
	if f.Remedy != "" {
		s += " — " + f.Remedy
	}
	if f.Source != "" {
		s += " (" + f.Source + ")"
	}
	return s
}

// ReportText renders r as plain text when the engine gave none.
func ReportText(r Report) string {
	if r.Text != "" {
		return r.Text
	}
	var b strings.Builder
	b.WriteString("pvinject report\n\n")
	if a := attentionText(r); a != "" {
		b.WriteString(a + "\n")
	}
	fmt.Fprintf(&b, "Image: %s\n", r.Image)
	if r.InPlace {
		b.WriteString("Written in place.\n")
	} else {
		fmt.Fprintf(&b, "Copied from: %s\n", r.Source)
	}
	for _, u := range r.Unused {
		fmt.Fprintf(&b, "Not used, %s\n", u)
	}
	fmt.Fprintf(&b, "\nFiles (%d):\n", len(r.Files))
	for _, f := range r.Files {
		fmt.Fprintf(&b, "  %s %s (%d bytes)\n", f.Action, f.Path, f.Size)
	}
	fmt.Fprintf(&b, "\nRegistry (%d):\n", len(r.Registry))
	for _, c := range r.Registry {
		switch c.Action {
		case "create-key":
			fmt.Fprintf(&b, "  create key %s\n", c.Key)
		case "delete":
			fmt.Fprintf(&b, "  delete %s\\%s (was %s)\n", c.Key, c.Value, c.OldText())
		default:
			fmt.Fprintf(&b, "  %s %s\\%s: %s -> %s\n", c.Action, c.Key, c.Value, c.OldText(), c.New)
		}
	}
	if r.Verify.OK {
		fmt.Fprintf(&b, "\nVerification: OK, %d changes re-read from the image.\n", r.Verify.Checked)
	} else {
		fmt.Fprintf(&b, "\nVerification FAILED (%d checked):\n", r.Verify.Checked)
		for _, p := range r.Verify.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	if len(r.FirstBoot) > 0 {
		b.WriteString("\nAt first boot:\n")
		for _, s := range r.FirstBoot {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
	}
	if len(r.HostAdvice) > 0 {
		b.WriteString("\nOn the host:\n")
		for _, s := range r.HostAdvice {
			fmt.Fprintf(&b, "  - %s\n", s)
		}
	}
	fmt.Fprintf(&b, "\nTo roll back: %s\n", r.Rollback)
	return b.String()
}

// Severity of a finding.
type Severity string

// Severities, the same words as the core's and the reports'.
const (
	Blocker Severity = "blocker" // the step's Next stays disabled
	Warning Severity = "warning" // shown, and kept in every report
	Info    Severity = "info"    // no action needed
)

// Finding is a blocker or warning as the wizard shows it: its own type, so
// neither the wizard nor the screens depend on the core (the engine
// converts). Every text is for an admin, in terms of the screens: no
// command-line flags. Details holds the raw error, for a "Details" expander.
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Remedy   string   `json:"remedy,omitempty"`
	Details  string   `json:"details,omitempty"`
	Source   string   `json:"source,omitempty"`
}

// MergeFindings drops repeats (the same code and message, said by two
// layers) and returns blockers first, then warnings, then the rest, each in
// the order given.
func MergeFindings(fs []Finding) []Finding {
	seen := map[string]bool{}
	var blockers, warnings, rest []Finding
	for _, f := range fs {
		k := f.Code + "\x00" + f.Message
		if seen[k] {
			continue
		}
		seen[k] = true
		switch f.Severity {
		case Blocker:
			blockers = append(blockers, f)
		case Warning:
			warnings = append(warnings, f)
		default:
			rest = append(rest, f)
		}
	}
	return append(append(blockers, warnings...), rest...)
}

// Heading is the finding's one-line title: Title, else its Message.
func (f Finding) Heading() string {
	if f.Title != "" {
		return f.Title
	}
	return f.Message
}

// HumanBytes formats a size for the screens, e.g. "64.0 GiB".
func HumanBytes(n int64) string { return human.Bytes(n) }
