package inject

import (
	"sort"
	"strings"

	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/core/hive"
)

// parallelsServices are disabled by virt-v2v when Parallels Tools are
// present (convert_windows.ml; facts §3.3).
var parallelsServices = []string{"prl_boot", "prl_dd", "prl_eth5", "prl_fs", "prl_memdev", "prl_mouf", "prl_pv32",
	"prl_pv64", "prl_scsi", "prl_sound", "prl_strg", "prl_tg", "prl_time", "prl_uprof", "prl_va"}

const srcOldStack = "old paravirtual drivers disabled, not deleted, so their uninstaller and a rollback still work (as virt-v2v does)"
const srcFilter = "a disabled driver left in a device class filter list stops Windows at boot with 0x7B (Qubes OS issue 1078)"

// oldStacks disables the services of paravirtual stacks of another family
// (Start=4 in every control set), removes them from every class's
// UpperFilters/LowerFilters, and schedules their uninstallers at first boot.
// Hyper-V's drivers are inbox and stay.
func (pl *planner) oldStacks() {
	target := pl.p.DriverSet.Family
	byFamily := map[string][]string{}
	for _, d := range pl.w.PVDrivers {
		if d.Family == target || d.Family == "hyperv" || d.Service == "" {
			continue
		}
		byFamily[d.Family] = append(byFamily[d.Family], d.Service)
	}
	for _, cs := range pl.w.ControlSets.Present {
		for _, s := range parallelsServices {
			if pl.keyExists(HiveSystem, cs+`\Services\`+s) && !contains(byFamily["parallels"], s) {
				byFamily["parallels"] = append(byFamily["parallels"], s)
			}
		}
	}
	fams := make([]string, 0, len(byFamily))
	for f := range byFamily {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	for _, fam := range fams {
		svcs := byFamily[fam]
		st := OldStack{Family: fam, Services: svcs, Reason: "moving to " + target + " drivers"}
		for _, cs := range pl.w.ControlSets.Present {
			for _, s := range svcs {
				if pl.keyExists(HiveSystem, cs+`\Services\`+s) {
					pl.set(HiveSystem, cs+`\Services\`+s, "Start", hive.DWord(4), srcOldStack)
				}
			}
			pl.stripFilters(cs, svcs)
		}
		if u := pl.uninstaller(fam); u != "" {
			if fam == "parallels" {
				// virt-v2v deletes prl_strg's driver RefCount before running
				// the Parallels Tools uninstaller (facts §3.3).
				pl.uninstallers = append(pl.uninstallers, firstboot.Command{Name: "prl-strg-refcount",
					Line: `reg delete "HKLM\SYSTEM\CurrentControlSet\Services\prl_strg\DriverInfo" /v RefCount /f`})
			}
			st.Uninstaller = u
			pl.uninstallers = append(pl.uninstallers, firstboot.Command{Name: "uninstall-" + fam, Line: u})
		}
		if fam == "vmware" && contains(svcs, "vsock") {
			st.Cleanup = append(st.Cleanup, "Winsock catalog reset at first boot if the VMware vSockets provider is still listed")
			pl.resetVSock = true
		}
		pl.p.OldStacks = append(pl.p.OldStacks, st)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// stripFilters removes services from every Class\{GUID} filter list.
func (pl *planner) stripFilters(cs string, svcs []string) {
	base := cs + `\Control\Class`
	classes, err := pl.hives[HiveSystem].Subkeys(base)
	if err != nil {
		return
	}
	for _, c := range classes {
		key := base + `\` + c
		for _, name := range []string{"UpperFilters", "LowerFilters"} {
			cur := pl.current(HiveSystem, key, name)
			if cur == nil {
				continue
			}
			list, err := cur.Value().Strings()
			if err != nil {
				continue
			}
			var keep []string
			for _, f := range list {
				if !contains(svcs, f) {
					keep = append(keep, f)
				}
			}
			if len(keep) == len(list) {
				continue
			}
			if len(keep) == 0 {
				err := pl.hives[HiveSystem].CanDeleteValue(key, name)
				if err == nil {
					pl.deleteValue(HiveSystem, key, name, srcFilter)
					continue
				}
				// An empty REG_MULTI_SZ (just its terminator) lists no
				// filters either, and needs no rewrite of the key's other
				// values (one of which libhivex cannot be given).
				pl.log.Debug("filter list emptied instead of deleted", "key", key, "value", name, "why", err)
			}
			v := hive.MultiSZ(keep...)
			v.Type = cur.Type
			pl.set(HiveSystem, key, name, v, srcFilter)
		}
	}
}

// uninstaller finds the silent uninstall command of a family's product in
// SOFTWARE ...\Uninstall (virt-v2v convert_windows.ml:103-145; facts §3.3).
func (pl *planner) uninstaller(fam string) string {
	for _, prod := range pl.w.PVProducts {
		if prod.Family != fam {
			continue
		}
		for _, base := range []string{`Microsoft\Windows\CurrentVersion\Uninstall`, `Wow6432Node\Microsoft\Windows\CurrentVersion\Uninstall`} {
			keys, err := pl.hives[HiveSoftware].Subkeys(base)
			if err != nil {
				continue
			}
			for _, k := range keys {
				dn, err := pl.hives[HiveSoftware].Get(base+`\`+k, "DisplayName")
				if err != nil {
					continue
				}
				if s, _ := dn.String(); s != prod.Name {
					continue
				}
				us, err := pl.hives[HiveSoftware].Get(base+`\`+k, "UninstallString")
				if err != nil {
					continue
				}
				line, _ := us.String()
				u := silentUninstall(line)
				if u != "" && fam == "parallels" && strings.HasPrefix(asciiLower(u), "msiexec") {
					// Without these Parallels-specific MSI properties the
					// uninstaller still shows a reboot dialog with no way
					// out (virt-v2v convert_windows.ml; facts §3.3).
					u += " REMOVE=ALL PREVENT_REBOOT=Yes LAUNCHED_BY_SETUP_EXE=Yes"
				}
				return u
			}
		}
	}
	return ""
}

// asciiLower lowers ASCII letters only, so byte offsets stay valid.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// silentUninstall makes an UninstallString run without prompts: MSI
// packages get /X (the string often says /I: RHBZ#1917760) and quiet
// flags; Red Hat's Xen PV uninst.exe becomes _uninst.exe.
func silentUninstall(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\r\n") || s == "" {
		return ""
	}
	// ASCII-only lowering keeps byte offsets in l valid for s;
	// strings.ToLower would not on invalid UTF-8 (found by FuzzRegistryStrings).
	l := asciiLower(s)
	if strings.HasPrefix(l, "msiexec") {
		s = strings.Replace(strings.Replace(s, "/I", "/X", 1), "/i", "/X", 1)
		return s + " /quiet /norestart REBOOT=ReallySuppress"
	}
	if i := strings.LastIndex(l, `\uninst.exe`); i >= 0 {
		return s[:i] + `\_uninst.exe` + s[i+len(`\uninst.exe`):]
	}
	return s
}
