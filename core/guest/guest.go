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
	w.addFinding(safety.Finding{Severity: sev, Code: code, Message: msg, Remedy: remedy, Source: source})
}

// addErr records a finding whose cause is an error: the error goes to
// Details (a "Details" expander, the debug log), never into the message.
func (w *Windows) addErr(sev safety.Severity, code, title, msg, remedy, source string, err error) {
	f := safety.Finding{Severity: sev, Code: code, Title: title, Message: msg, Remedy: remedy, Source: source}
	if err != nil {
		f.Details = err.Error()
	}
	w.addFinding(f)
}

func (w *Windows) addFinding(f safety.Finding) {
	if f.Severity == safety.Blocker {
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
	srcInspect     = "libguestfs: virt-inspector, inspection of Windows guests"
	srcFastStartup = "Microsoft: Fast Startup (hybrid shutdown) and hibernation, powercfg /h off"
	srcOracle      = "Oracle VM PV Drivers 3.2.3 guide §3.1"
	srcReboot      = "Microsoft: PendingFileRenameOperations (MoveFileEx, MOVEFILE_DELAY_UNTIL_REBOOT)"
	srcControlSets = "Microsoft: HKLM\\SYSTEM\\Select and the CurrentControlSet"
	srcPolicyKB    = "Microsoft KB 2773300: device installation policies"
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
		w.addErr(safety.Blocker, "guest.arch_unknown", "Windows' cmd.exe cannot be read",
			fmt.Sprintf("pvinject reads %s to tell whether Windows is 32- or 64-bit, and it cannot be read.", c.cmd),
			"Start the virtual machine, run chkdsk on the system drive, shut Windows down fully, then open the image again.", srcInspect, err)
	} else if a, err := peArch(b); err != nil {
		w.addErr(safety.Blocker, "guest.arch_unknown", "Windows' cmd.exe is damaged",
			fmt.Sprintf("%s is not a valid Windows program, so whether Windows is 32- or 64-bit (which decides the drivers) is unknown.", c.cmd),
			"Check that this is an intact Windows installation; repair it in the running guest (sfc /scannow), shut down, then open the image again.", srcInspect, err)
	} else {
		w.Arch = a
	}

	// SOFTWARE is opened, read and closed before SYSTEM is opened, so only
	// one hive is in memory at a time.
	if cfg, err := v.ReadDir(c.config); err != nil {
		w.addErr(safety.Blocker, "guest.config_unreadable", "The registry folder cannot be read",
			fmt.Sprintf("%s, which holds the registry hives, cannot be listed.", c.config),
			"Start the virtual machine, run chkdsk on the system drive, shut Windows down fully, then open the image again.", srcInspect, err)
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
			fmt.Sprintf("cmd.exe is %s but the registry's PROCESSOR_ARCHITECTURE says %s; the architecture of cmd.exe is used.", w.Arch, w.RegistryArch),
			"Check that the image is not a mix of two installations.", srcInspect)
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
		w.add(safety.Blocker, code+"_missing", fmt.Sprintf("The %s registry hive (%s/%s) is missing; the Windows version and configuration cannot be read without it.", name, dir, name),
			"Check that this is the system disk of an intact Windows installation.", srcInspect)
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
		w.addErr(safety.Blocker, code+"_unreadable", "The "+name+" registry hive cannot be read",
			fmt.Sprintf("%s cannot be read from the volume.", join(dir, file)),
			"Start the virtual machine, run chkdsk on the system drive, shut Windows down fully, then open the image again.", srcInspect, err)
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
			w.addErr(safety.Warning, code+"_log_unreadable", "A registry log cannot be read",
				fmt.Sprintf("%s cannot be read, so changes still pending in it cannot be taken into account.", join(dir, n)),
				"Start the virtual machine and shut Windows down fully, then open the image again.", srcInspect, err)
			continue
		}
		logData = append(logData, LogFile{Name: n, Data: b})
	}
	h, err := open(name, data, logData...)
	if err != nil {
		w.addErr(safety.Blocker, code+"_unreadable", "The "+name+" registry hive is damaged",
			fmt.Sprintf("%s is damaged or is not a registry hive.", join(dir, file)),
			"Check that this is the system disk of an intact Windows installation.", srcInspect, err)
		return nil
	}
	if fh, ok := h.(interface{ Findings() []safety.Finding }); ok {
		for _, f := range fh.Findings() {
			// A hive that can be read but not written (dirty, its logs
			// missing or damaged) blocks: injecting writes SYSTEM and
			// SOFTWARE. Said here, on the step that finds the guest,
			// not only when the plan is built.
			if strings.HasPrefix(f.Code, "hive.dirty_") {
				f.Severity = safety.Blocker
			}
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
		w.addErr(safety.Blocker, "guest.version_unknown", "The Windows version cannot be read",
			`The SOFTWARE registry hive's `+currentVersionKey+` key cannot be read.`,
			"Check that this is the system disk of an intact Windows installation.", srcInspect, err)
		return
	case !found:
		w.add(safety.Blocker, "guest.version_unknown", `SOFTWARE\`+currentVersionKey+" is missing",
			"this does not look like a Windows SOFTWARE hive", srcInspect)
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
			"supported: Windows XP / Server 2003 up to Windows 11 / Server 2025", srcInspect)
	}
	if mismatch {
		w.add(safety.Warning, "guest.product_name_mismatch",
			fmt.Sprintf("ProductName %q names another Server release than build %d; the build is used", w.ProductName, w.Build),
			"", srcInspect)
	}
	if w.Major == 10 && w.Build == 0 {
		w.add(safety.Warning, "guest.build_unknown", "CurrentBuildNumber is missing: Windows 10 and 11 cannot be told apart",
			"", srcInspect)
	}

	f, err := readSoftwareFacts(sw)
	if err != nil {
		w.addErr(safety.Warning, "guest.software_unreadable", "Part of the SOFTWARE registry hive cannot be read",
			"Some settings (device installation policies, installed products) could not be read; they are not checked.", "", srcInspect, err)
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
			"check the domain's device installation policies before the first boot", srcPolicyKB)
	}
}

func readSystem(w *Windows, v FS, c candidate, sys Hive) {
	cs, chosen, warns, err := readControlSets(sys)
	if err != nil {
		w.addErr(safety.Blocker, "guest.control_set_unknown", "The registry's control sets cannot be read",
			"The SYSTEM registry hive's Select key or control sets cannot be read, so pvinject does not know where to add the drivers.",
			"Check that this is the system disk of an intact Windows installation.", srcControlSets, err)
		return
	}
	w.ControlSets, w.ControlSet = cs, chosen
	for _, m := range warns {
		w.add(safety.Warning, "guest.control_set", m, "", srcControlSets)
	}
	if chosen == "" {
		w.add(safety.Blocker, "guest.control_set_unknown", "The SYSTEM registry hive has no control set to add the drivers to.",
			"Check that this is the system disk of an intact Windows installation.", srcControlSets)
		return
	}
	f, err := readSystemFacts(sys, chosen)
	if err != nil {
		w.addErr(safety.Warning, "guest.system_unreadable", "Part of the SYSTEM registry hive cannot be read",
			"Some settings (Fast Startup, pending reboot, processor architecture) could not be read; they are not checked.", "", srcInspect, err)
	}
	w.RegistryArch = registryArch(f.procArch)
	// SYSTEM keeps the service pack too (0x100 is SP1); it fills in when
	// SOFTWARE has no CSDVersion and no build that implies one.
	if sp := int(f.csdVersion>>8) & 0xff; w.CSDVersion == "" && w.ServicePack == 0 && sp > 0 {
		w.ServicePack = sp
	}
	w.FastStartup = f.fastStartup
	if f.fastStartup {
		w.addFinding(safety.Finding{Severity: safety.Warning, Code: "guest.fast_startup", Title: "Fast Startup is on",
			Message: "A shutdown from Windows leaves the volume hibernated, and a hibernated volume cannot be changed safely.",
			Remedy:  "In Windows, turn Fast Startup off (or shut down with shutdown /s /t 0) before you shut the machine down for preparing.",
			Source:  srcFastStartup})
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
		w.addErr(safety.Warning, "guest.system_unreadable", "Part of the SYSTEM registry hive cannot be read",
			"The StartOverride settings of the drivers could not be read.", "", srcInspect, err)
	}
	// StartOverride keys need no action: the plan removes them from the
	// storage drivers it configures and lists that change, so they are
	// not findings (issue 11).
	w.PVDrivers, err = readPVDrivers(v, sys, chosen, c)
	if err != nil {
		w.addErr(safety.Warning, "guest.system_unreadable", "Part of the SYSTEM registry hive cannot be read",
			"The paravirtual drivers already installed could not all be read.", "", srcInspect, err)
	}
}
