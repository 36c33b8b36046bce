package guest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/pvinject/pvinject/core/safety"
)

// Windows describes one Windows installation found on a volume. Fields that
// could not be read are zero and a Finding says why.
type Windows struct {
	SystemRoot       string `json:"systemroot"` // on the volume, e.g. `\Windows`
	ProductName      string `json:"product_name"`
	Major            int    `json:"major"`
	Minor            int    `json:"minor"`
	Build            int    `json:"build"`
	UBR              int    `json:"ubr"`
	ServicePack      int    `json:"service_pack"`
	CSDVersion       string `json:"csd_version,omitempty"`
	Edition          string `json:"edition"`
	InstallationType string `json:"installation_type"`
	Server           bool   `json:"server"`
	Arch             Arch   `json:"arch"`          // from cmd.exe
	RegistryArch     Arch   `json:"registry_arch"` // from PROCESSOR_ARCHITECTURE
	OSID             string `json:"os_id"`         // winxp ... win11, "" when unknown
	VirtioDir        string `json:"virtio_dir"`    // xp ... w11, "" when unknown

	ControlSet  string      `json:"control_set"` // the one edits go to, e.g. ControlSet001
	ControlSets ControlSets `json:"control_sets"`

	PVDrivers  []PVDriver `json:"pv_drivers"`
	PVProducts []Product  `json:"pv_products"`

	DeviceInstallRestrictions []string        `json:"device_install_restrictions"` // active Deny* policy values
	GroupPolicy               bool            `json:"group_policy"`
	FastStartup               bool            `json:"fast_startup"`
	PendingReboot             []string        `json:"pending_reboot"` // which markers are set
	StartOverrides            []StartOverride `json:"start_overrides"`

	Safety Safety `json:"safety"`
}

// Safety holds the findings about one install, blockers apart from warnings.
type Safety struct {
	Blockers []safety.Finding `json:"blockers"`
	Warnings []safety.Finding `json:"warnings"`
}

func (w *Windows) add(sev safety.Severity, code, msg, remedy, source string) {
	f := safety.Finding{Severity: sev, Code: code, Message: msg, Remedy: remedy, Source: source}
	if sev == safety.Blocker {
		w.Safety.Blockers = append(w.Safety.Blockers, f)
	} else {
		w.Safety.Warnings = append(w.Safety.Warnings, f)
	}
}

// Bounds on files detection reads whole.
const (
	maxCmdExe = 16 << 20
	maxHive   = 1 << 31 // the registry format's own limit
)

// Sources cited by findings.
const (
	srcFacts1  = "injection-facts.md §1 (libguestfs daemon/inspect_fs_windows.ml)"
	srcFacts5  = "injection-facts.md §5"
	srcFacts26 = "injection-facts.md §2.6 (StartOverride)"
	srcOracle  = "Oracle VM PV Drivers 3.2.3 guide §3.1"
	srcReboot  = "injection-facts.md §3.2 (virt-v2v pnputil first-boot script)"
)

// ErrNoWindows is returned when the volume holds no Windows installation.
var ErrNoWindows = errors.New("guest: no Windows installation found")

// Detect finds every Windows installation on the volume and describes each.
// It fails only when the volume cannot be listed or holds no Windows;
// problems with one install (a missing or damaged hive, a cmd.exe that is
// not a PE file) come back as blockers or warnings in its Safety.
//
// open nil means core/hive, read-only: clean SOFTWARE and SYSTEM hives on
// an FS that implements ReaderAtFS are then read in place, only the cells
// detection needs, and every other hive whole through OpenHive (which
// replays the logs of dirty ones). The results are the same either way.
func Detect(v FS, open HiveOpener) ([]Windows, error) {
	inPlace := open == nil
	if inPlace {
		open = OpenHive
	}
	cands, err := findSystemRoots(v)
	if err != nil && len(cands) == 0 {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, ErrNoWindows
	}
	out := make([]Windows, 0, len(cands))
	for _, c := range cands {
		out = append(out, detectOne(v, c, open, inPlace))
	}
	return out, nil
}

func detectOne(v FS, c candidate, open HiveOpener, inPlace bool) Windows {
	w := Windows{SystemRoot: `\` + strings.ReplaceAll(c.root, "/", `\`)}
	if b, err := readBounded(v, c.cmd, maxCmdExe); err != nil {
		w.add(safety.Blocker, "guest.arch_unknown", fmt.Sprintf("cannot read %s: %v", c.cmd, err),
			"check that the volume is not damaged", srcFacts1)
	} else if a, err := peArch(b); err != nil {
		w.add(safety.Blocker, "guest.arch_unknown", fmt.Sprintf("%s: %v", c.cmd, err),
			"the architecture decides which drivers fit; check that this is an intact Windows install", srcFacts1)
	} else {
		w.Arch = a
	}

	// SOFTWARE is opened, read and closed before SYSTEM is opened, so only
	// one hive is in memory at a time.
	if cfg, err := v.ReadDir(c.config); err != nil {
		w.add(safety.Blocker, "guest.config_unreadable", fmt.Sprintf("cannot list %s: %v", c.config, err),
			"the registry hives cannot be found; check that the volume is not damaged", srcFacts1)
	} else {
		if sw := openHive(&w, v, c.config, cfg, "SOFTWARE", open, inPlace); sw != nil {
			readSoftware(&w, sw)
			closeHive(sw)
		}
		if sys := openHive(&w, v, c.config, cfg, "SYSTEM", open, inPlace); sys != nil {
			readSystem(&w, v, c, sys)
			closeHive(sys)
		}
	}
	if w.Arch != ArchUnknown && w.RegistryArch != ArchUnknown && w.Arch != w.RegistryArch {
		w.add(safety.Warning, "guest.arch_mismatch",
			fmt.Sprintf("cmd.exe is %s but PROCESSOR_ARCHITECTURE says %s", w.Arch, w.RegistryArch),
			"the cmd.exe architecture is used; check the image is not a mix of two installs", srcFacts1)
	}
	w.emptyNotNull()
	return w
}

// emptyNotNull makes every list marshal as [] rather than null, so JSON
// consumers can iterate without checking (jq '.safety.blockers[]').
func (w *Windows) emptyNotNull() {
	nonNil(&w.Safety.Blockers)
	nonNil(&w.Safety.Warnings)
	nonNil(&w.PVDrivers)
	nonNil(&w.PVProducts)
	nonNil(&w.DeviceInstallRestrictions)
	nonNil(&w.PendingReboot)
	nonNil(&w.StartOverrides)
	nonNil(&w.ControlSets.Present)
}

func nonNil[T any](s *[]T) {
	if *s == nil {
		*s = []T{}
	}
}

// openHive reads config/<name> and its transaction logs and opens it, or
// with inPlace, opens a clean hive where it lies (its logs are then not
// needed). A missing or unreadable hive is a blocker: without it, the
// version or the control sets cannot be known.
func openHive(w *Windows, v FS, dir string, ents []fs.DirEntry, name string, open HiveOpener, inPlace bool) Hive {
	var file string
	logs := map[string]string{}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.EqualFold(n, name):
			file = n
		case strings.EqualFold(n, name+".LOG1"), strings.EqualFold(n, name+".LOG2"), strings.EqualFold(n, name+".LOG"):
			logs[strings.ToUpper(n[len(name):])] = n
		}
	}
	code := "guest." + strings.ToLower(name) + "_hive"
	if file == "" {
		w.add(safety.Blocker, code+"_missing", fmt.Sprintf("%s/%s is missing", dir, name),
			"the Windows version and configuration cannot be read without it", srcFacts1)
		return nil
	}
	// SYSTEM is the hive an injection rewrites: it is always read whole and
	// its every bin and key walked, so damage anywhere in it is a blocker
	// now, not a surprise at inject. Only SOFTWARE, which pvinject reads and
	// never writes and which can be hundreds of MiB, is read in place.
	if inPlace && !strings.EqualFold(name, "SYSTEM") {
		if h := openInPlace(v, join(dir, file), name); h != nil {
			return h
		}
	}
	data, err := readBounded(v, join(dir, file), maxHive)
	if err != nil {
		w.add(safety.Blocker, code+"_unreadable", fmt.Sprintf("reading %s: %v", join(dir, file), err), "", srcFacts1)
		return nil
	}
	var logData []LogFile
	for _, suffix := range []string{".LOG1", ".LOG2", ".LOG"} {
		n, ok := logs[suffix]
		if !ok {
			continue
		}
		b, err := readBounded(v, join(dir, n), maxHive)
		if err != nil {
			w.add(safety.Warning, code+"_log_unreadable", fmt.Sprintf("reading %s: %v", join(dir, n), err),
				"pending registry changes in this log cannot be applied", srcFacts1)
			continue
		}
		logData = append(logData, LogFile{Name: n, Data: b})
	}
	h, err := open(name, data, logData...)
	if err != nil {
		w.add(safety.Blocker, code+"_unreadable", fmt.Sprintf("opening %s: %v", join(dir, file), err),
			"the hive is damaged or not a registry hive", srcFacts1)
		return nil
	}
	if fh, ok := h.(interface{ Findings() []safety.Finding }); ok {
		for _, f := range fh.Findings() {
			if f.Severity == safety.Blocker {
				w.Safety.Blockers = append(w.Safety.Blockers, f)
			} else {
				w.Safety.Warnings = append(w.Safety.Warnings, f)
			}
		}
	}
	return h
}

func closeHive(h Hive) {
	if c, ok := h.(io.Closer); ok {
		_ = c.Close() // read-only: nothing to lose
	}
}

func readSoftware(w *Windows, sw Hive) {
	k, found, err := readKey(sw, currentVersionKey)
	switch {
	case err != nil:
		w.add(safety.Blocker, "guest.version_unknown", fmt.Sprintf("reading SOFTWARE\\%s: %v", currentVersionKey, err), "", srcFacts1)
		return
	case !found:
		w.add(safety.Blocker, "guest.version_unknown", `SOFTWARE\`+currentVersionKey+" is missing",
			"this does not look like a Windows SOFTWARE hive", srcFacts1)
		return
	}
	ver := readVersion(k)
	w.ProductName, w.CSDVersion, w.Edition, w.InstallationType = ver.productName, ver.csd, ver.edition, ver.installType
	w.Major, w.Minor, w.Build, w.UBR, w.ServicePack = ver.major, ver.minor, ver.build, ver.ubr, ver.sp
	w.Server = ver.isServer()
	var mismatch bool
	w.OSID, mismatch = ver.osID()
	w.VirtioDir = virtioDirs[w.OSID]
	if w.OSID == "" {
		w.add(safety.Blocker, "guest.version_unknown",
			fmt.Sprintf("Windows version %d.%d (%q) is not one pvinject knows", w.Major, w.Minor, w.ProductName),
			"supported: Windows XP / Server 2003 up to Windows 11 / Server 2025", srcFacts1)
	}
	if mismatch {
		w.add(safety.Warning, "guest.product_name_mismatch",
			fmt.Sprintf("ProductName %q names another Server release than build %d; the build is used", w.ProductName, w.Build),
			"", srcFacts1)
	}
	if w.Major == 10 && w.Build == 0 {
		w.add(safety.Warning, "guest.build_unknown", "CurrentBuildNumber is missing: Windows 10 and 11 cannot be told apart",
			"", srcFacts1)
	}

	f, err := readSoftwareFacts(sw)
	if err != nil {
		w.add(safety.Warning, "guest.software_unreadable", err.Error(), "", srcFacts1)
	}
	w.DeviceInstallRestrictions, w.GroupPolicy, w.PVProducts = f.restrictions, f.groupPolicy, f.products
	w.PendingReboot = append(w.PendingReboot, f.rebootPending...)
	if len(f.restrictions) > 0 {
		w.add(safety.Warning, "guest.device_install_restricted",
			"device installation is restricted by policy ("+strings.Join(f.restrictions, ", ")+")",
			`remove the policies under Computer Configuration > Administrative Templates > System > Device Installation > Device Installation Restrictions`,
			srcOracle)
	}
	if f.groupPolicy {
		w.add(safety.Warning, "guest.group_policy",
			"domain Group Policy is applied to this machine; it can re-apply device installation restrictions at boot",
			"check the domain's device installation policies before the first boot", "injection-facts.md §1.3 (MS KB 2773300)")
	}
}

func readSystem(w *Windows, v FS, c candidate, sys Hive) {
	cs, chosen, warns, err := readControlSets(sys)
	if err != nil {
		w.add(safety.Blocker, "guest.control_set_unknown", err.Error(), "", srcFacts1)
		return
	}
	w.ControlSets, w.ControlSet = cs, chosen
	for _, m := range warns {
		w.add(safety.Warning, "guest.control_set", m, "", "injection-facts.md §1.4")
	}
	if chosen == "" {
		w.add(safety.Blocker, "guest.control_set_unknown", "no control set to write to", "", "injection-facts.md §1.4")
		return
	}
	f, err := readSystemFacts(sys, chosen)
	if err != nil {
		w.add(safety.Warning, "guest.system_unreadable", err.Error(), "", srcFacts1)
	}
	w.RegistryArch = registryArch(f.procArch)
	// SYSTEM keeps the service pack too (0x100 is SP1); it fills in when
	// SOFTWARE has no CSDVersion and no build that implies one.
	if sp := int(f.csdVersion>>8) & 0xff; w.CSDVersion == "" && w.ServicePack == 0 && sp > 0 {
		w.ServicePack = sp
	}
	w.FastStartup = f.fastStartup
	if f.fastStartup {
		w.add(safety.Warning, "guest.fast_startup", "Fast Startup is on: a shutdown from Windows leaves the volume hibernated",
			"turn off Fast Startup, or shut the guest down with Restart or shutdown /s /f /t 0, before injecting", srcFacts5)
	}
	if f.pendingRename {
		w.PendingReboot = append([]string{`SYSTEM\` + chosen + `\Control\Session Manager\PendingFileRenameOperations`}, w.PendingReboot...)
	}
	if len(w.PendingReboot) > 0 {
		w.add(safety.Warning, "guest.reboot_pending", "Windows has a reboot pending ("+strings.Join(w.PendingReboot, "; ")+")",
			"driver installation at first boot waits for that reboot; boot the guest once before converting if you can", srcReboot)
	}
	w.StartOverrides, err = readStartOverrides(sys, cs.Present)
	if err != nil {
		w.add(safety.Warning, "guest.system_unreadable", err.Error(), "", srcFacts26)
	}
	for _, so := range w.StartOverrides {
		w.add(safety.Warning, "guest.start_override",
			fmt.Sprintf("%s\\Services\\%s has a StartOverride key that can stop the boot driver from loading", so.ControlSet, so.Service),
			"pvinject removes StartOverride from storage drivers it configures", srcFacts26)
	}
	w.PVDrivers, err = readPVDrivers(v, sys, chosen, c)
	if err != nil {
		w.add(safety.Warning, "guest.system_unreadable", err.Error(), "", srcFacts1)
	}
}
