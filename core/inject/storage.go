package inject

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/hive"
)

// knownIDs are the PCI ids virt-customize writes for the virtio storage
// drivers (facts §2.5; peer-reference-writes.md). The fixture and some real
// INFs carry other SUBSYS values, so these are added to the INF's own ids to
// match what the peers write.
var knownIDs = map[string][]string{
	"viostor": {`PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00`, `PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01`},
	"vioscsi": {`PCI\VEN_1AF4&DEV_1004&SUBSYS_00081AF4&REV_00`, `PCI\VEN_1AF4&DEV_1048&SUBSYS_11001AF4&REV_01`},
}

// Sources cited by the boot-critical operations.
const (
	srcServices = "the boot driver's service, as virt-v2v writes it, in every control set"
	srcINFSvc   = "as the driver's INF installs it (section %s)"
	srcCDD      = "lets Windows bind the boot driver to its disk controller at the first boot (CriticalDeviceDatabase, as virt-v2v writes it)"
	srcDDB      = "registers the driver package with Windows 8 and later (DriverDatabase, as virt-v2v writes it)"
	srcVersion  = "the driver package's version, from its INF (without it Windows 10 stops at the second boot with 0x7B; virt-v2v fix cc162b49)"
	srcOverride = "StartOverride would override Start=0 so the boot driver would not load"
)

// pvinjectINF is the DriverDatabase INF name for a boot driver. Like
// virt-v2v's "guestor.inf" it is deliberately not the real package name, so
// these entries never collide with what PnP writes when it installs the real
// package at first boot (libguestfs 9a441b03; facts §2.4). The label
// "<inf>_<arch>_0000000000000000" has the DriverStore form, which keeps
// `pnputil /enum-drivers` and in-place upgrades working (libguestfs-common
// da55dc4; the old "guestor.inf_tmp" label broke them).
func pvinjectINF(svc string) string { return "pvinject-" + strings.ToLower(svc) + ".inf" }

// bootCritical pre-seeds a boot-start storage (or bus) driver offline.
func (pl *planner) bootCritical(c drivers.Choice, ddb bool) error {
	pkg := c.Package
	installs, err := c.Installs(pl.guestArch)
	if err != nil {
		return fmt.Errorf("inject: %s: install sections: %w", pkg.INFName, err)
	}
	ids := hardwareIDs(c)
	seen := map[string]bool{}
	for _, in := range installs {
		for _, svc := range in.Services {
			if svc.Name == "" || seen[strings.ToLower(svc.Name)] {
				continue
			}
			seen[strings.ToLower(svc.Name)] = true
			if err := pl.serviceKey(pkg, svc, in.Section); err != nil {
				return err
			}
			if svc.Flags&0x2 == 0 { // not the device's function driver: no device entries
				continue
			}
			all := append(append([]string{}, ids...), knownIDs[strings.ToLower(svc.Name)]...)
			all = expandIDs(all)
			if ddb {
				pl.driverDatabase(pkg, svc.Name, all)
			} else {
				pl.criticalDeviceDatabase(pkg, svc.Name, all)
			}
		}
	}
	return nil
}

// hardwareIDs lists the hardware ids of the models chosen for the guest.
func hardwareIDs(c drivers.Choice) []string {
	var ids []string
	for _, m := range c.Models.Models {
		if m.HardwareID != "" {
			ids = append(ids, m.HardwareID)
		}
	}
	if len(ids) == 0 {
		ids = append(ids, c.Package.HardwareIDs...)
	}
	return ids
}

// expandIDs keeps the ids Windows matches a boot controller by. ids are
// the hardware ids of the INF's model lines (the first id of each line;
// the compatible ids after it never reach here) and the peers' known ids.
// Every one is kept: a PCI device's hardware ids include VEN/DEV alone and
// VEN/DEV/SUBSYS as well as the forms with REV (docs/BOOT-READINESS.md,
// "Which ids are bound"), and Xen's xenbus INF binds the platform device
// by VEN/DEV alone, so dropping ids without REV left xenvbd bound with no
// bus driver under it. An id with SUBSYS and REV (what virt-customize
// writes) also gets the same id without SUBSYS (VEN/DEV/REV, what
// virt-v2v writes since 71d5870 because other hypervisors use their own
// subsystem vendor; facts §2.3). Non-PCI ids (XENBUS\...) are kept as
// written.
func expandIDs(ids []string) []string {
	set := map[string]string{}
	add := func(id string) { set[strings.ToUpper(id)] = strings.ToUpper(id) }
	for _, id := range ids {
		id = strings.TrimSpace(id)
		u := strings.ToUpper(id)
		if !strings.Contains(u, `\`) {
			continue
		}
		if !strings.HasPrefix(u, `PCI\`) {
			add(id)
			continue
		}
		if !strings.HasPrefix(u, `PCI\VEN_`) || !strings.Contains(u, "&DEV_") {
			continue // a class-code id (PCI\CC_...) would bind every controller of the class
		}
		if !strings.Contains(u, "&REV_") {
			add(id)
			continue
		}
		add(id)
		var keep []string
		for _, part := range strings.Split(u, "&") {
			if !strings.HasPrefix(part, "SUBSYS_") {
				keep = append(keep, part)
			}
		}
		add(strings.Join(keep, "&"))
	}
	out := make([]string, 0, len(set))
	for _, v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// serviceKey writes Services\<svc> in every control set from the INF's
// service install section, with Start forced to boot (0), and deletes
// StartOverride.
func (pl *planner) serviceKey(pkg *drivers.Package, svc inf.Service, section string) error {
	bin := path.Base(strings.ReplaceAll(svc.ServiceBinary, `\`, "/"))
	if bin == "" || bin == "." || bin == "/" {
		bin = strings.ToLower(svc.Name) + ".sys"
	}
	// The driver binary goes where ImagePath points.
	var srcFile *drivers.PackageFile
	for i := range pkg.Files {
		if strings.EqualFold(pkg.Files[i].Name, bin) && pkg.Files[i].Present {
			srcFile = &pkg.Files[i]
		}
	}
	if srcFile == nil {
		return fmt.Errorf("inject: %s: service %s binary %s not found in the package", pkg.INFName, svc.Name, bin)
	}
	data, err := pl.src.ReadFile(srcFile.Path)
	if err != nil {
		return fmt.Errorf("inject: %w", err)
	}
	pl.addFile(sysRoot(pl.w)+`\System32\drivers\`+strings.ToLower(bin), data, srcFile.Path,
		"boot driver, where its service's ImagePath points (as virt-v2v copies it)", false)

	infSrc := fmt.Sprintf(srcINFSvc, svc.InstallSection)
	for _, cs := range pl.w.ControlSets.Present {
		key := cs + `\Services\` + svc.Name
		typ := svc.ServiceType
		if typ == 0 {
			typ = 1
		}
		pl.set(HiveSystem, key, "Type", hive.DWord(typ), srcServices+"; "+infSrc)
		pl.set(HiveSystem, key, "Start", hive.DWord(0), srcServices+"; boot start so the disk is reachable")
		pl.set(HiveSystem, key, "ErrorControl", hive.DWord(svc.ErrorControl), srcServices+"; "+infSrc)
		if svc.LoadOrderGroup != "" {
			pl.set(HiveSystem, key, "Group", hive.SZ(svc.LoadOrderGroup), srcServices+"; "+infSrc)
		}
		pl.set(HiveSystem, key, "ImagePath", hive.ExpandSZ(`system32\drivers\`+strings.ToLower(bin)), srcServices)
		for _, op := range svc.AddReg {
			pl.infAddReg(key, op, infSrc+" AddReg "+op.Section)
		}
		pl.deleteKey(HiveSystem, key+`\StartOverride`, srcOverride)
	}
	return nil
}

// infAddReg applies one HKR AddReg line relative to key. Other roots are
// left to pnputil at first boot.
func (pl *planner) infAddReg(key string, op inf.RegOp, reason string) {
	if op.Delete || op.Root != "HKR" {
		return
	}
	k := key
	if op.Subkey != "" {
		k += `\` + op.Subkey
	}
	if op.KeyOnly {
		pl.createKey(HiveSystem, k, reason)
		return
	}
	const noClobber = 0x2 // FLG_ADDREG_NOCLOBBER
	if op.Flags&noClobber != 0 && pl.current(HiveSystem, k, op.ValueName) != nil {
		return
	}
	pl.set(HiveSystem, k, op.ValueName, hive.Value{Type: hive.Type(op.Value.Type), Data: op.Value.Bytes()}, reason)
}

// criticalDeviceDatabase maps the controller's ids to the service for
// Windows without a DriverDatabase (XP to 7/2008 R2).
func (pl *planner) criticalDeviceDatabase(pkg *drivers.Package, svc string, ids []string) {
	for _, cs := range pl.w.ControlSets.Present {
		for _, id := range ids {
			key := cs + `\Control\CriticalDeviceDatabase\` + strings.ReplaceAll(id, `\`, "#")
			pl.set(HiveSystem, key, "Service", hive.SZ(svc), srcCDD)
			pl.set(HiveSystem, key, "ClassGUID", hive.SZ(pkg.ClassGUID), srcCDD+"; ClassGUID from the INF")
		}
	}
}

// driverDatabase writes the Windows 8+ DriverDatabase entries that let
// kernel PnP bind the boot controller on the first boot.
func (pl *planner) driverDatabase(pkg *drivers.Package, svc string, ids []string) {
	name := pvinjectINF(svc)
	arch := string(pl.guestArch)
	label := name + "_" + arch + "_0000000000000000"
	conf := "pvinject-" + strings.ToLower(svc) + "_conf"
	ver := drivers.DriverPackageVersion(pkg.INF)

	infKey := `DriverDatabase\DriverInfFiles\` + name
	pl.set(HiveSystem, infKey, "", hive.MultiSZ(label), srcDDB)
	pl.set(HiveSystem, infKey, "Active", hive.SZ(label), srcDDB)
	pl.set(HiveSystem, infKey, "Configurations", hive.MultiSZ(conf), srcDDB)
	pkgKey := `DriverDatabase\DriverPackages\` + label
	pl.set(HiveSystem, pkgKey, "Version", hive.Binary(ver[:]), srcVersion)
	pl.set(HiveSystem, pkgKey+`\Configurations\`+conf, "ConfigFlags", hive.DWord(0), srcDDB)
	pl.set(HiveSystem, pkgKey+`\Configurations\`+conf, "Service", hive.SZ(svc), srcDDB)
	for _, id := range ids {
		pl.set(HiveSystem, `DriverDatabase\DeviceIds\`+id, name, hive.Binary([]byte{0x01, 0xff, 0x00, 0x00}), srcDDB)
		pl.set(HiveSystem, pkgKey+`\Descriptors\`+id, "Configuration", hive.SZ(conf), srcDDB)
	}
}
