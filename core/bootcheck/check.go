package bootcheck

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/hive"
)

// Input is one Windows installation to check.
type Input struct {
	// FS is the volume holding Windows, SystemRoot its folder on it as a
	// slash path from the volume root ("Windows").
	FS         guest.FS
	SystemRoot string
	// Arch is the guest's architecture (x86, amd64, arm64), from the PE
	// header of its cmd.exe; Major and Minor its NT version (0 = unknown).
	Arch         string
	Major, Minor int
	// BCD are the boot configuration stores found on the disk; the first
	// that opens is read.
	BCD []BCDStore
}

// BCDStore is one BCD hive file and the transaction logs beside it.
type BCDStore struct {
	Where string // for people: "partition 1, \Boot\BCD"
	Data  []byte
	Logs  []hive.LogFile
}

// Device-class GUIDs whose Upper/LowerFilters sit in every boot disk's
// stack (injection-facts §3.3; Microsoft's system-defined device setup
// classes).
var storageClasses = []struct{ guid, name string }{
	{"{4D36E97B-E325-11CE-BFC1-08002BE10318}", "storage controller (SCSIAdapter)"},
	{"{4D36E96A-E325-11CE-BFC1-08002BE10318}", "IDE/ATA controller (HDC)"},
	{"{4D36E967-E325-11CE-BFC1-08002BE10318}", "disk drive (DiskDrive)"},
	{"{71A27CDD-812A-11D0-BEC7-08002BE2092F}", "volume (Volume)"},
}

// pattern matches a device id: Enum is its enumerator ("PCI", "" for a
// root id such as Primary_IDE_Channel); the rest must start with Prefix
// (followed by the end or '&') or contain Contains.
type pattern struct{ Enum, Prefix, Contains string }

func (p pattern) match(enum, rest string) bool {
	if !strings.EqualFold(enum, p.Enum) {
		return false
	}
	r := strings.ToUpper(rest)
	if p.Contains != "" {
		return strings.Contains(r, p.Contains)
	}
	pre := strings.ToUpper(p.Prefix)
	return r == pre || strings.HasPrefix(r, pre+"&")
}

type layer struct {
	what    string // for people
	pats    []pattern
	primary bool // its service is the verdict's Service
}

type busSpec struct {
	name, label string
	layers      []layer
	remedy      string
	// inbox buses are driven by Windows' own drivers, signed through its
	// system catalogs, which this check does not read: their signature is
	// taken as given.
	inbox bool
}

// Device ids per bus: virtio-win INFs (injection-facts §2.5), the Xen PV
// INFs (xcp-ng win-xenbus/win-xenvbd, SUSE VMDP xenblk.inf: §3.3) and the
// ids Windows' own mshdc.inf binds for emulated controllers (QEMU's PIIX3
// IDE is 8086:7010, its ICH9 AHCI 8086:2922).
var busSpecs = []busSpec{
	{BusVirtioBlk, "virtio-blk (VirtIO block)", []layer{{"VirtIO block controller", []pattern{
		{Enum: "PCI", Prefix: "VEN_1AF4&DEV_1001"}, {Enum: "PCI", Prefix: "VEN_1AF4&DEV_1042"}}, true}},
		"inject the VirtIO block driver (viostor) into the image, or attach the disk as IDE/SATA for the first boot and install the virtio-win drivers from inside Windows", false},
	{BusVirtioSCSI, "virtio-scsi (VirtIO SCSI)", []layer{{"VirtIO SCSI controller", []pattern{
		{Enum: "PCI", Prefix: "VEN_1AF4&DEV_1004"}, {Enum: "PCI", Prefix: "VEN_1AF4&DEV_1048"}}, true}},
		"inject the VirtIO SCSI driver (vioscsi) into the image, or use virtio-blk or IDE/SATA for the first boot", false},
	{BusXenVBD, "Xen PV storage", []layer{
		{"Xen platform device", []pattern{{Enum: "PCI", Prefix: "VEN_5853&DEV_0001"}, {Enum: "PCI", Prefix: "VEN_5853&DEV_0002"}}, false},
		{"Xen virtual disk", []pattern{{Enum: "XENBUS", Contains: "&DEV_VBD"}, {Enum: "XEN", Prefix: "TYPE_VBD"}, {Enum: "XENVBD", Contains: ""}}, true}},
		"boot on the emulated IDE disk Xen always offers and run the Xen PV driver installer inside Windows, or inject a complete Xen PV driver set (bus and disk drivers)", false},
	{BusIDE, "IDE (emulated)", []layer{
		{"IDE controller", []pattern{{Enum: "PCI", Prefix: "VEN_8086&DEV_7010"}, {Enum: "PCI", Prefix: "VEN_8086&DEV_7111"}, {Enum: "PCI", Prefix: "CC_0101"}}, true},
		{"IDE channel", []pattern{{Enum: "", Prefix: "Primary_IDE_Channel"}, {Enum: "", Prefix: "Internal_IDE_Channel"}}, false}},
		"Windows' own IDE drivers (pciide/intelide and atapi) must be set to start at boot; boot the guest on its original platform and repair it", true},
	{BusAHCI, "AHCI/SATA (emulated)", []layer{{"AHCI controller", []pattern{
		{Enum: "PCI", Prefix: "VEN_8086&DEV_2922"}, {Enum: "PCI", Prefix: "CC_010601"}}, true}},
		"use IDE instead, or enable Windows' AHCI driver (msahci on Windows 7, storahci from Windows 8) to start at boot before moving the disk", true},
}

// Check decides what Windows will do at boot on each bus. It never fails:
// what it cannot read becomes a reason.
func Check(in Input) *Result {
	res := &Result{SystemRoot: `\` + strings.ReplaceAll(in.SystemRoot, "/", `\`), Arch: in.Arch,
		TestSigning: "unknown", Buses: []Verdict{}, NICs: []NIC{}, Problems: []string{}}
	c := &checker{in: in, res: res}
	c.testSigning()
	sys, closeFn, err := openSystem(in.FS, in.SystemRoot)
	if err != nil {
		c.failAll(fmt.Sprintf("the SYSTEM registry hive cannot be read (%v), so Windows cannot start", err),
			"boot Windows on its original platform, let it shut down cleanly, and check the disk")
		return res
	}
	defer closeFn()
	c.g = &reg{r: sys}
	if !c.controlSet() {
		return res
	}
	c.prepare()
	for _, spec := range busSpecs {
		res.Buses = append(res.Buses, c.bus(spec))
	}
	res.NICs = c.nics()
	for _, e := range c.g.errs {
		res.Problems = append(res.Problems, "part of the SYSTEM hive could not be read: "+e.Error())
	}
	return res
}

type checker struct {
	in  Input
	res *Result
	g   *reg
	cs  string
	// services maps lower-case service names to their key names.
	services map[string]string
	// groups holds ServiceGroupOrder\List, lower case; nil when absent.
	groups map[string]bool
	// filterReasons are the class-filter problems every bus shares.
	filterReasons []string
	filterRemedy  string
	ddb           bool
	cdd           []string // CriticalDeviceDatabase subkey names
	otherSets     []string // ControlSetNNN other than the current one
	cats          map[string][]byte
}

func (c *checker) failAll(reason, remedy string) {
	c.res.Problems = append(c.res.Problems, reason)
	for _, spec := range busSpecs {
		c.res.Buses = append(c.res.Buses, Verdict{Bus: spec.name, Label: spec.label, Services: []string{},
			Reasons: []string{reason}, Remedy: remedy})
	}
	c.res.NICs = []NIC{}
}

// controlSet reads Select\Current: the control set Windows boots from. An
// offline hive has no CurrentControlSet link (injection-facts §1.4).
func (c *checker) controlSet() bool {
	var present []string
	for _, k := range c.g.subkeys("") {
		if len(k) == 13 && strings.EqualFold(k[:10], "ControlSet") {
			present = append(present, "ControlSet"+k[10:])
		}
	}
	sel, ok := c.g.values("Select")
	cur, ok2 := num(sel, "Current")
	if !ok || !ok2 || cur == 0 || cur > 999 {
		c.failAll(`SYSTEM\Select has no valid Current value, so Windows cannot choose a control set to boot from`,
			"boot Windows on its original platform (it repairs Select on a good boot), or restore the registry from a backup")
		return false
	}
	c.cs = fmt.Sprintf("ControlSet%03d", cur)
	for _, p := range present {
		if !strings.EqualFold(p, c.cs) {
			c.otherSets = append(c.otherSets, p)
		}
	}
	c.res.ControlSet = c.cs
	if len(present) == 0 || len(c.otherSets) == len(present) {
		c.failAll(fmt.Sprintf(`SYSTEM\Select\Current names %s, which does not exist (the hive has %s), so Windows cannot boot`,
			c.cs, strings.Join(present, ", ")),
			`set SYSTEM\Select\Current to the control set that holds the configuration, or restore the registry from a backup`)
		return false
	}
	return true
}

func (c *checker) prepare() {
	c.services = map[string]string{}
	for _, s := range c.g.subkeys(c.cs + `\Services`) {
		c.services[strings.ToLower(s)] = s
	}
	if sgo, ok := c.g.values(c.cs + `\Control\ServiceGroupOrder`); ok {
		if l := multi(sgo, "List"); l != nil {
			c.groups = map[string]bool{}
			for _, grp := range l {
				c.groups[strings.ToLower(grp)] = true
			}
		}
	}
	// Windows 8 / 2012 moved boot binding from CriticalDeviceDatabase to
	// the DriverDatabase at the SYSTEM root (injection-facts §2.1, §2.4).
	switch {
	case c.in.Major > 6 || c.in.Major == 6 && c.in.Minor >= 2:
		c.ddb = true
	case c.in.Major == 0:
		c.ddb = c.g.exists("DriverDatabase")
	}
	if c.ddb {
		c.res.Database = "DriverDatabase"
	} else {
		c.res.Database = "CriticalDeviceDatabase"
		c.cdd = c.g.subkeys(c.cs + `\Control\CriticalDeviceDatabase`)
	}
	c.checkFilters()
}

// checkFilters: every Upper/LowerFilters entry of the storage classes is
// loaded into every disk's stack; one that cannot load fails the stack and
// Windows stops with 0x7B (injection-facts §3.3, QubesOS/qubes-issues#1078).
func (c *checker) checkFilters() {
	for _, cl := range storageClasses {
		vals, ok := c.g.values(c.cs + `\Control\Class\` + cl.guid)
		if !ok {
			continue
		}
		for _, which := range []string{"UpperFilters", "LowerFilters"} {
			for _, f := range multi(vals, which) {
				why := c.serviceProblems(f, asFilter)
				for _, w := range why {
					c.filterReasons = append(c.filterReasons, fmt.Sprintf("the %s class lists %q in %s, but %s", cl.name, f, which, w))
				}
				if len(why) > 0 {
					c.filterRemedy = fmt.Sprintf("remove %q from the %s value of the %s class (%s\\Control\\Class\\%s), or reinstall that driver", f, which, cl.name, c.cs, cl.guid)
				}
			}
		}
	}
}

// binding is one device id Windows would match and the service it names.
type binding struct {
	id, where, service string
	broken             string // why the entry does not lead to a service
}

// bindings lists the entries that bind ids matching the layer, most
// specific (longest) id first: Windows tries a device's hardware ids in
// that order.
func (c *checker) bindings(l layer) []binding {
	var out []binding
	if !c.ddb {
		for _, k := range c.cdd {
			enum, rest, found := strings.Cut(k, "#")
			if !found {
				enum, rest = "", k
			}
			if !anyMatch(l.pats, enum, rest) {
				continue
			}
			b := binding{id: strings.ReplaceAll(k, "#", `\`), where: "CriticalDeviceDatabase"}
			vals, _ := c.g.values(c.cs + `\Control\CriticalDeviceDatabase\` + k)
			if s, ok := str(vals, "Service"); ok && s != "" {
				b.service = s
			} else {
				b.broken = fmt.Sprintf("its CriticalDeviceDatabase entry %s names no Service", b.id)
			}
			out = append(out, b)
		}
	} else {
		enums := map[string]bool{}
		for _, p := range l.pats {
			enums[strings.ToUpper(p.Enum)] = true
		}
		for _, top := range c.g.subkeys(`DriverDatabase\DeviceIds`) {
			if enums[""] && anyMatch(l.pats, "", top) {
				out = append(out, c.ddbBinding("", top))
			}
			if top != "" && enums[strings.ToUpper(top)] {
				for _, k := range c.g.subkeys(`DriverDatabase\DeviceIds\` + top) {
					if anyMatch(l.pats, top, k) {
						out = append(out, c.ddbBinding(top, k))
					}
				}
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if len(out[i].id) != len(out[j].id) {
			return len(out[i].id) > len(out[j].id)
		}
		return out[i].id < out[j].id
	})
	return out
}

func anyMatch(ps []pattern, enum, rest string) bool {
	for _, p := range ps {
		if p.match(enum, rest) {
			return true
		}
	}
	return false
}

// ddbBinding follows DeviceIds -> DriverInfFiles (Active package) ->
// DriverPackages\<pkg>\Descriptors -> Configurations\<conf>\Service, as
// virt-v2v writes it (injection-facts §2.4) and Windows keeps it.
func (c *checker) ddbBinding(enum, rest string) binding {
	id, key := rest, `DriverDatabase\DeviceIds\`+rest
	if enum != "" {
		id, key = enum+`\`+rest, `DriverDatabase\DeviceIds\`+enum+`\`+rest
	}
	b := binding{id: id, where: "DriverDatabase"}
	vals, _ := c.g.values(key)
	var infs []string
	for name := range vals {
		if name != "" {
			infs = append(infs, name)
		}
	}
	sort.Strings(infs)
	var broken []string
	for _, infName := range infs {
		fi, ok := c.g.values(`DriverDatabase\DriverInfFiles\` + infName)
		if !ok {
			broken = append(broken, fmt.Sprintf("%s names %s, which has no DriverInfFiles entry", id, infName))
			continue
		}
		pkg, _ := str(fi, "Active")
		if pkg == "" {
			if l := multi(fi, ""); len(l) > 0 {
				pkg = l[0]
			}
		}
		if pkg == "" || !c.g.exists(`DriverDatabase\DriverPackages\`+pkg) {
			broken = append(broken, fmt.Sprintf("%s names %s, whose driver package %q is missing from DriverPackages", id, infName, pkg))
			continue
		}
		desc, ok := c.g.values(`DriverDatabase\DriverPackages\` + pkg + `\Descriptors\` + id)
		conf, _ := str(desc, "Configuration")
		if !ok || conf == "" {
			if l := multi(fi, "Configurations"); len(l) == 1 {
				conf = l[0]
			}
		}
		cv, ok := c.g.values(`DriverDatabase\DriverPackages\` + pkg + `\Configurations\` + conf)
		svc, _ := str(cv, "Service")
		if conf == "" || !ok || svc == "" {
			broken = append(broken, fmt.Sprintf("%s names %s, whose package %s has no configuration with a Service for it", id, infName, pkg))
			continue
		}
		b.service = svc
		b.where = "DriverDatabase (" + infName + ")"
		return b
	}
	if len(infs) == 0 {
		broken = append(broken, fmt.Sprintf("its DriverDatabase entry %s names no driver package", id))
	}
	b.broken = strings.Join(broken, "; ")
	return b
}

// bus evaluates one bus: every layer must bind a service that loads.
func (c *checker) bus(spec busSpec) Verdict {
	v := Verdict{Bus: spec.name, Label: spec.label, Services: []string{}, Reasons: []string{}}
	remedies := []string{}
	fatal := false
	for _, l := range spec.layers {
		bs := c.bindings(l)
		var chosen *binding
		var brokenWhy []string
		for i := range bs {
			if bs[i].service != "" {
				chosen = &bs[i]
				break
			}
			brokenWhy = append(brokenWhy, bs[i].broken)
		}
		if chosen == nil {
			fatal = true
			why := fmt.Sprintf("no %s entry binds a driver to the %s, so Windows has no driver for its boot disk on this bus", c.res.Database, l.what)
			if len(brokenWhy) > 0 {
				why = fmt.Sprintf("the %s entries for the %s are broken (%s), so Windows has no driver for its boot disk on this bus", c.res.Database, l.what, strings.Join(brokenWhy, "; "))
			}
			v.Reasons = append(v.Reasons, why+c.elsewhere(l))
			remedies = append(remedies, spec.remedy)
			continue
		}
		v.Services = append(v.Services, chosen.service)
		if l.primary {
			v.Service = chosen.service
			v.Binding = chosen.where + " " + chosen.id
		}
		m := asBoot
		if spec.inbox {
			m = asInbox
		}
		why := c.serviceProblems(chosen.service, m)
		if len(why) > 0 {
			fatal = true
			for _, w := range why {
				v.Reasons = append(v.Reasons, fmt.Sprintf("the %s is bound to %s, but %s", l.what, chosen.service, w))
			}
			remedies = append(remedies, fmt.Sprintf("repair the %s service in %s (Start=0, Type=1, its file in place, no StartOverride), for example by injecting the driver again", chosen.service, c.cs))
			if !spec.inbox {
				remedies = append(remedies, spec.remedy)
			}
		}
		if l.primary {
			v.File = c.fileOf(chosen.service)
		}
		if !spec.inbox {
			v.Reasons = append(v.Reasons, c.notes(chosen.service)...)
		}
	}
	if len(c.filterReasons) > 0 {
		fatal = true
		v.Reasons = append(v.Reasons, c.filterReasons...)
		remedies = append(remedies, c.filterRemedy)
	}
	v.Boots = !fatal
	v.Remedy = strings.Join(sortedUnique(remedies), "; ")
	return v
}

// elsewhere notes a binding that exists only in another control set: the
// classic mistake of writing to ControlSet001 when Select\Current is 2.
func (c *checker) elsewhere(l layer) string {
	if c.ddb {
		return ""
	}
	for _, cs := range c.otherSets {
		for _, k := range c.g.subkeys(cs + `\Control\CriticalDeviceDatabase`) {
			enum, rest, found := strings.Cut(k, "#")
			if !found {
				enum, rest = "", k
			}
			if anyMatch(l.pats, enum, rest) {
				return fmt.Sprintf(" (%s has one, but Windows boots from %s: SYSTEM\\Select\\Current)", cs, c.cs)
			}
		}
	}
	return ""
}

var startNames = map[uint64]string{0: "boot", 1: "system", 2: "automatic", 3: "on demand", 4: "disabled"}

// How strictly serviceProblems judges a service.
type mode int

const (
	// asFilter: a class filter or NIC driver must exist, not be disabled
	// and have its file built for the guest.
	asFilter mode = iota
	// asInbox: the boot disk driver of an emulated controller, Windows' own.
	asInbox
	// asBoot: a boot disk driver that is not Windows' own: also signed.
	asBoot
)

// serviceProblems lists why a service will not load at boot. A boot disk
// driver must be a boot-start kernel driver in a listed group with no
// StartOverride; see mode for the rest.
func (c *checker) serviceProblems(name string, m mode) []string {
	boot := m != asFilter
	key, ok := c.services[strings.ToLower(name)]
	if !ok {
		why := fmt.Sprintf("the service %s does not exist in %s", name, c.cs)
		for _, cs := range c.otherSets {
			if c.g.exists(cs + `\Services\` + name) {
				why += fmt.Sprintf(" (it exists in %s, but Windows boots from %s: SYSTEM\\Select\\Current)", cs, c.cs)
				break
			}
		}
		return []string{why}
	}
	base := c.cs + `\Services\` + key
	vals, _ := c.g.values(base)
	var out []string
	start, hasStart := num(vals, "Start")
	switch {
	case boot && (!hasStart || start != 0):
		s := "missing"
		if hasStart {
			s = fmt.Sprintf("%d (%s)", start, nameOr(startNames, start))
		}
		out = append(out, fmt.Sprintf("%s does not start with Windows: its Start is %s, a boot disk driver needs 0 (boot)", key, s))
	case !boot && hasStart && start == 4:
		out = append(out, fmt.Sprintf("%s is disabled (Start=4)", key))
	}
	if boot {
		if t, ok := num(vals, "Type"); !ok || t != 1 {
			s := "missing"
			if ok {
				s = fmt.Sprint(t)
			}
			out = append(out, fmt.Sprintf("%s is not set up as a kernel driver: its Type is %s, should be 1", key, s))
		}
		if grp, ok := str(vals, "Group"); ok && grp != "" {
			switch {
			case c.groups == nil:
				out = append(out, fmt.Sprintf("%s is in load order group %q, but %s has no ServiceGroupOrder list to place it in", key, grp, c.cs))
			case !c.groups[strings.ToLower(grp)]:
				out = append(out, fmt.Sprintf("%s is in load order group %q, which ServiceGroupOrder does not list, so it is not started with the boot drivers", key, grp))
			}
		}
		if so, ok := c.g.values(base + `\StartOverride`); ok {
			var names []string
			for n := range so {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if v, ok := num(so, n); ok && v != 0 {
					out = append(out, fmt.Sprintf("a StartOverride value (%s=%d) overrides its Start=0, so it does not load at boot (Windows writes this when the device was absent)", n, v))
					break
				}
			}
		}
	}
	out = append(out, c.fileProblems(key, vals, m == asBoot)...)
	return out
}

func nameOr(m map[uint64]string, n uint64) string {
	if s, ok := m[n]; ok {
		return s
	}
	return "unknown"
}

// fileProblems: the ImagePath must name a file present in the guest, built
// for the guest's architecture and, for a boot driver on 64-bit Vista and
// later, signed (or test signing on).
func (c *checker) fileProblems(svc string, vals map[string]hive.Value, signed bool) []string {
	ip, _ := str(vals, "ImagePath")
	rel, shown := c.imagePath(svc, ip)
	b, err := readGuestFile(c.in.FS, rel, maxDriver)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return []string{fmt.Sprintf("its file %s is not in the guest", shown)}
		}
		return []string{fmt.Sprintf("its file %s cannot be read (%v)", shown, err)}
	}
	pi, err := readPE(b)
	if err != nil {
		return []string{fmt.Sprintf("its file %s is %v", shown, err)}
	}
	if c.in.Arch != "" && pi.Arch != c.in.Arch {
		return []string{fmt.Sprintf("its file %s is built for %s, but this Windows is %s", shown, pi.Arch, c.in.Arch)}
	}
	if !signed || !c.needsSigning() || pi.Signed {
		return nil
	}
	if cat := c.catalogFor(svc, path.Base(rel)); cat != "" {
		return nil
	}
	if c.res.TestSigning == "on" {
		return nil
	}
	state := "test signing is off in the boot configuration (BCD)"
	if c.res.TestSigning == "unknown" {
		state = "no boot configuration (BCD) store was found to show test signing on"
	}
	return []string{fmt.Sprintf("its file %s is not signed (%s, and no catalog in CatRoot lists it) and %s: 64-bit Windows refuses to load an unsigned boot driver",
		shown, pi.SignReason, state)}
}

// notes are facts worth showing for a bus that boots.
func (c *checker) notes(svc string) []string {
	key, ok := c.services[strings.ToLower(svc)]
	if !ok || !c.needsSigning() || c.res.TestSigning != "on" {
		return nil
	}
	vals, _ := c.g.values(c.cs + `\Services\` + key)
	ip, _ := str(vals, "ImagePath")
	rel, shown := c.imagePath(key, ip)
	b, err := readGuestFile(c.in.FS, rel, maxDriver)
	if err != nil {
		return nil
	}
	if pi, err := readPE(b); err == nil && !pi.Signed && c.catalogFor(key, path.Base(rel)) == "" {
		return []string{fmt.Sprintf("%s is not signed; it loads only because test signing is on", shown)}
	}
	return nil
}

func (c *checker) fileOf(svc string) string {
	key, ok := c.services[strings.ToLower(svc)]
	if !ok {
		return ""
	}
	vals, _ := c.g.values(c.cs + `\Services\` + key)
	ip, _ := str(vals, "ImagePath")
	_, shown := c.imagePath(key, ip)
	return shown
}

// needsSigning: kernel-mode code signing is enforced on 64-bit Windows
// from Vista on (Microsoft, "Kernel-Mode Code Signing Policy (Windows
// Vista and Later)"); 32-bit Windows and XP/2003 x64 load unsigned drivers.
func (c *checker) needsSigning() bool {
	return (c.in.Arch == "amd64" || c.in.Arch == "arm64") && c.in.Major >= 6
}

// imagePath maps a service's ImagePath to a slash path from the volume
// root and the guest path shown to people. An empty ImagePath means
// System32\drivers\<service>.sys, as the service control manager assumes.
func (c *checker) imagePath(svc, ip string) (rel, shown string) {
	root := strings.Trim(c.in.SystemRoot, "/")
	p := strings.ReplaceAll(strings.TrimSpace(strings.Trim(ip, `"`)), "/", `\`)
	lower := strings.ToLower(p)
	switch {
	case p == "":
		p = root + `\System32\drivers\` + svc + ".sys"
	case strings.HasPrefix(lower, `\systemroot\`):
		p = root + `\` + p[len(`\systemroot\`):]
	case strings.HasPrefix(lower, `%systemroot%\`):
		p = root + `\` + p[len(`%systemroot%\`):]
	case strings.HasPrefix(lower, `%windir%\`):
		p = root + `\` + p[len(`%windir%\`):]
	case strings.HasPrefix(lower, `\??\`) && len(p) > 6 && p[5] == ':':
		p = p[7:]
	case len(p) > 2 && p[1] == ':':
		p = strings.TrimPrefix(p[2:], `\`)
	case strings.HasPrefix(p, `\`):
		p = p[1:]
	default:
		p = root + `\` + p
	}
	rel = strings.ReplaceAll(strings.Trim(p, `\`), `\`, "/")
	return rel, `\` + strings.ReplaceAll(rel, "/", `\`)
}

// maxDriver bounds a driver file read whole; boot drivers are far smaller.
const maxDriver = 64 << 20

// readGuestFile reads a file, matching each path element
// case-insensitively as NTFS does.
func readGuestFile(v guest.FS, rel string, limit int64) ([]byte, error) {
	p, fi, err := resolve(v, rel)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%s is a folder: %w", p, fs.ErrNotExist)
	}
	if fi.Size() > limit {
		return nil, fmt.Errorf("%s is %d bytes, larger than a driver can be", p, fi.Size())
	}
	return v.ReadFile(p)
}

func resolve(v guest.FS, rel string) (string, fs.FileInfo, error) {
	if fi, err := v.Stat(rel); err == nil {
		return rel, fi, nil
	}
	cur := ""
	var fi fs.FileInfo
	for _, elem := range strings.Split(rel, "/") {
		if elem == "" {
			continue
		}
		next := elem
		if cur != "" {
			next = cur + "/" + elem
		}
		st, err := v.Stat(next)
		if err != nil {
			dir := cur
			if dir == "" {
				dir = "."
			}
			ents, lerr := v.ReadDir(dir)
			if lerr != nil {
				return "", nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
			}
			found := false
			for _, e := range ents {
				if strings.EqualFold(e.Name(), elem) {
					next = strings.TrimPrefix(cur+"/"+e.Name(), "/")
					if st, err = v.Stat(next); err == nil {
						found = true
					}
					break
				}
			}
			if !found {
				return "", nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
			}
		}
		cur, fi = next, st
	}
	if fi == nil {
		return "", nil, fmt.Errorf("%s: %w", rel, fs.ErrNotExist)
	}
	return cur, fi, nil
}

// openSystem opens the SYSTEM hive: in place when it is clean and the
// volume gives random access (a SYSTEM hive is tens of MiB; the check
// reads a few hundred keys of it), else whole with its logs replayed.
func openSystem(v guest.FS, root string) (regReader, func(), error) {
	cfg, _, err := resolve(v, strings.Trim(root, "/")+"/System32/config")
	if err != nil {
		return nil, nil, err
	}
	p, fi, err := resolve(v, cfg+"/SYSTEM")
	if err != nil {
		return nil, nil, err
	}
	if ra, ok := v.(guest.ReaderAtFS); ok {
		r, size, err := ra.OpenReaderAt(p)
		if err == nil {
			l, err := hive.OpenLazy("SYSTEM", r, size)
			if err == nil {
				return l, func() { l.Close(); closeIf(r) }, nil
			}
			closeIf(r)
			if !errors.Is(err, hive.ErrNeedsReplay) {
				return nil, nil, err
			}
		}
	}
	if fi.Size() > 1<<31 {
		return nil, nil, fmt.Errorf("%s is %d bytes, beyond the registry format's limit", p, fi.Size())
	}
	data, err := v.ReadFile(p)
	if err != nil {
		return nil, nil, err
	}
	var logs []hive.LogFile
	for _, suf := range []string{".LOG1", ".LOG2", ".LOG"} {
		lp, _, err := resolve(v, cfg+"/SYSTEM"+suf)
		if err != nil {
			continue
		}
		if b, err := v.ReadFile(lp); err == nil {
			logs = append(logs, hive.LogFile{Name: "SYSTEM" + suf, Data: b})
		}
	}
	h, err := hive.OpenReadOnly("SYSTEM", data, logs...)
	if err != nil {
		return nil, nil, err
	}
	return h, func() { h.Close() }, nil
}

func closeIf(r any) {
	if c, ok := r.(io.Closer); ok {
		_ = c.Close() // read-only
	}
}
