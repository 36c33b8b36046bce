package inject

import (
	"fmt"
	"path"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/core/hive"
)

// stageDir is the guest folder (relative to %SystemRoot%) holding the
// staged packages; DevicePath and the first-boot runner point at it.
const stageDir = firstboot.Dir + `\drivers`

// stagePackage copies a package's INF, catalog, drivers, DLLs and
// co-installers (never .pdb: virt-v2v ea62f52) under
// %SystemRoot%\pvinject\drivers\<pkg>\, keeping their layout relative to
// the INF so pnputil finds them.
func (pl *planner) stagePackage(c drivers.Choice) (PackagePlan, error) {
	pkg := c.Package
	name := pkg.Name
	for i := 2; pl.stageTaken(name); i++ {
		name = fmt.Sprintf("%s-%d", pkg.Name, i)
	}
	dir := sysRoot(pl.w) + `\` + stageDir + `\` + name
	pp := PackagePlan{Name: name, INF: pkg.INFName, SourceDir: pkg.Dir, StageDir: dir, Reason: c.Reason,
		BootCritical: c.BootCritical || c.BootBus, Class: pkg.Class, ClassGUID: pkg.ClassGUID,
		DriverVer: pkg.DriverVer(), Signed: pkg.Signed()}
	for _, s := range pkg.Services {
		pp.Services = append(pp.Services, s.Name)
	}
	paths := []string{pkg.INFPath}
	for _, f := range pkg.Files {
		if !f.Present || f.Path == "" || f.Kind == drivers.KindOther || strings.EqualFold(path.Ext(f.Path), ".pdb") {
			continue
		}
		paths = append(paths, f.Path)
	}
	seen := map[string]bool{}
	for _, sp := range paths {
		rel := strings.TrimPrefix(sp, strings.TrimSuffix(pkg.Dir, "/")+"/")
		if pkg.Dir == "" || pkg.Dir == "." {
			rel = sp
		}
		if rel == sp && pkg.Dir != "" && pkg.Dir != "." || strings.HasPrefix(rel, "../") {
			rel = path.Base(sp) // outside the INF folder: flatten
		}
		if seen[strings.ToLower(rel)] {
			continue
		}
		seen[strings.ToLower(rel)] = true
		data, err := pl.src.ReadFile(sp)
		if err != nil {
			return pp, fmt.Errorf("inject: %s: %w", pkg.INFName, err)
		}
		reason := "staged for pnputil to install at first boot, as virt-v2v does"
		pl.addFile(dir+`\`+slashToGuest(rel), data, sp, reason, false)
	}
	pl.stageNames = append(pl.stageNames, name)
	return pp, nil
}

func (pl *planner) stageTaken(name string) bool {
	for _, n := range pl.stageNames {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// installer stages a vendor installer (Oracle VM PV) with its response
// file and runs it silently at first boot (the Oracle guide §3.3).
func (pl *planner) installer() error {
	in := pl.src.Installer
	if in == nil {
		return nil
	}
	dir := sysRoot(pl.w) + `\` + firstboot.Dir + `\installer`
	for _, f := range []string{in.Path, in.ResponseFile} {
		if f == "" {
			continue
		}
		data, err := pl.src.ReadFile(f)
		if err != nil {
			return fmt.Errorf("inject: installer: %w", err)
		}
		pl.addFile(dir+`\`+path.Base(f), data, f, "vendor installer run silently at first boot (Oracle VM PV guide §3.3)", false)
	}
	line := `"%PV%\installer\` + path.Base(in.Path) + `" /s`
	if in.ResponseFile != "" {
		line += ` /f1"%PV%\installer\` + path.Base(in.ResponseFile) + `"`
	}
	pl.commands = append(pl.commands, firstboot.Command{Name: "vendor-installer", Line: line})
	return nil
}

// devicePath appends the staging folders to SOFTWARE DevicePath, keeping
// the value's type, so Plug and Play finds the drivers even where pnputil
// does not exist (XP, 2003). virt-v2v convert_windows.ml:620 only edits an
// existing value; a missing one is created with Windows' default in front.
func (pl *planner) devicePath() {
	const key = `Microsoft\Windows\CurrentVersion`
	cur := pl.current(HiveSoftware, key, "DevicePath")
	typ := hive.RegExpandSZ
	val := `%SystemRoot%\inf`
	if cur != nil {
		if s, err := cur.Value().String(); err == nil {
			val = s
			typ = cur.Type
		} else {
			return // an odd type: leave it alone rather than rewrite it
		}
	}
	parts := strings.Split(val, ";")
	changed := cur == nil
	for _, n := range pl.stageNames {
		p := `%SystemRoot%\` + stageDir + `\` + n
		found := false
		for _, x := range parts {
			if strings.EqualFold(strings.TrimSpace(x), p) {
				found = true
			}
		}
		if !found {
			parts = append(parts, p)
			changed = true
		}
	}
	if !changed {
		return
	}
	nv := hive.ExpandSZ(strings.Join(parts, ";"))
	nv.Type = typ
	pl.set(HiveSoftware, key, "DevicePath", nv, "lets Plug and Play find the staged drivers (DevicePath, as virt-v2v sets it)")
}

// suppressNewHardwareUI keeps XP/2003's Found New Hardware wizard from
// stopping unattended installs; the runner restores it (facts §2.7,
// virt-v2v convert_windows.ml:405-435).
func (pl *planner) suppressNewHardwareUI() {
	if pl.w.Major != 5 {
		return
	}
	src := "the New Hardware wizard stays quiet until Plug and Play has installed the drivers (as virt-v2v does)"
	if pl.w.Minor == 1 && pl.w.Arch == "x86" {
		k := `Policies\Microsoft\Windows\DeviceInstall\Settings`
		pl.set(HiveSoftware, k, "SuppressNewHWUI", hive.DWord(1), src)
		pl.restore = append(pl.restore, firstboot.Command{Name: "restore-newhw-ui",
			Line: `reg delete "HKLM\SOFTWARE\Policies\Microsoft\Windows\DeviceInstall\Settings" /v SuppressNewHWUI /f`})
		return
	}
	for _, cs := range pl.w.ControlSets.Present {
		pl.set(HiveSystem, cs+`\Services\PlugPlay\Parameters`, "SuppressUI", hive.DWord(1), src)
	}
	pl.restore = append(pl.restore, firstboot.Command{Name: "restore-pnp-ui",
		Line: `reg delete "HKLM\SYSTEM\CurrentControlSet\Services\PlugPlay\Parameters" /v SuppressUI /f`})
}

// Device matches for the first-boot options. [inference] The SCSI disk ids
// are those the drivers report (viostor "Red Hat VirtIO", vioscsi's QEMU
// disks, Xen PV disks); the NIC ids come from the NIC packages' INFs.
var diskMatch = map[string][]string{
	"virtio": {"ven_red_hat&prod_virtio", "ven_qemu&prod_qemu_harddisk"},
	"xen":    {"ven_xensrc&prod_pvdisk", "ven_xen"},
}

// firstBoot generates the runner, its service key in every control set,
// and its config from the plan.
func (pl *planner) firstBoot() error {
	cfg := firstboot.Config{MaxBoots: 3}
	nic := false
	for _, pp := range pl.p.Packages {
		cfg.Packages = append(cfg.Packages, firstboot.Package{Name: pp.Name,
			INF: `drivers\` + pp.Name + `\` + pp.INF, Required: pp.BootCritical})
		if strings.EqualFold(pp.Class, "Net") {
			nic = true
		}
	}
	o := pl.p.Options
	if o.MTU != 0 {
		if !nic {
			pl.p.Warnings = append(pl.p.Warnings, warn("inject.mtu-no-nic", "an MTU was given but no network driver package is installed; it has no effect"))
		}
		if pl.p.DriverSet.Family == "virtio" {
			cfg.JumboPacket = o.JumboPacket
		} else {
			cfg.NICMTU = o.MTU
		}
		cfg.NICMatch = pl.nicMatch()
	}
	cfg.WriteCache = firstboot.WriteCache(o.WriteCache)
	if cfg.WriteCache != firstboot.CacheKeep {
		cfg.DiskMatch = diskMatch[pl.p.DriverSet.Family]
	}
	if cfg.NetIdentities = pl.networkIdentity(); len(cfg.NetIdentities) > 0 && len(cfg.NICMatch) == 0 {
		cfg.NICMatch = pl.nicMatch()
	}
	cfg.Commands = append(append(append(cfg.Commands, pl.commands...), pl.uninstallers...), pl.restore...)
	cfg.ResetVSockWinsock = pl.resetVSock
	script, err := firstboot.Script(cfg)
	if err != nil {
		return fmt.Errorf("inject: first-boot runner: %w", err)
	}
	pl.p.FirstBoot = cfg
	pl.addFile(sysRoot(pl.w)+`\`+firstboot.Dir+`\firstboot.cmd`, []byte(script), "generated:core/firstboot",
		"first-boot runner: installs the staged packages with pnputil, applies MTU and write cache, removes itself", true)
	const src = "first-boot service, started by Windows as LocalSystem before anyone logs on (as libguestfs firstboot does), in every control set"
	for _, cs := range pl.w.ControlSets.Present {
		k := cs + `\Services\` + firstboot.ServiceName
		pl.set(HiveSystem, k, "Type", hive.DWord(0x10), src)
		pl.set(HiveSystem, k, "Start", hive.DWord(2), src)
		pl.set(HiveSystem, k, "ErrorControl", hive.DWord(0), src+"; 0 because cmd.exe never reports to the SCM")
		pl.set(HiveSystem, k, "ImagePath", hive.ExpandSZ(firstboot.ServiceCommandLine()), src)
		pl.set(HiveSystem, k, "ObjectName", hive.SZ("LocalSystem"), src)
		pl.set(HiveSystem, k, "DisplayName", hive.SZ("pvinject first-boot driver setup"), src)
		pl.set(HiveSystem, k, "Description", hive.SZ("Installs the paravirtual drivers staged by pvinject, then removes itself."), src)
	}
	return nil
}

// nicMatch derives the adapters' MatchingDeviceId substrings from the NIC
// packages' hardware ids ("pci\ven_1af4&dev_1000").
func (pl *planner) nicMatch() []string {
	seen := map[string]bool{}
	var out []string
	for _, c := range pl.chosen {
		if !strings.EqualFold(c.Package.Class, "Net") {
			continue
		}
		for _, id := range hardwareIDs(c) {
			id = strings.ToLower(id)
			parts := strings.Split(id, "&")
			if len(parts) > 2 {
				id = parts[0] + "&" + parts[1]
			}
			if safeMatch(id) && !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func safeMatch(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '&' || r == '\\') {
			return false
		}
	}
	return true
}
