//go:build cgo

package guest

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/safety"
)

// want is what one synthetic guest of scripts/fixtures/guests.sh must be
// detected as. The values are typed from the Windows facts, not from the
// script, so a wrong script or a wrong detector both fail.
type want struct {
	root, product, osid, virtio string
	arch                        Arch
	major, minor, build, sp     int
	server                      bool
	itype, cs                   string
	blockers, warnings          []string // finding codes that must be present
	noWarnings                  bool     // no warning at all
}

var guestWants = map[string]want{
	"xp-sp2-x86":          {root: `\WINDOWS`, product: "Microsoft Windows XP", osid: "winxp", virtio: "xp", arch: ArchX86, major: 5, minor: 1, build: 2600, sp: 2, cs: "ControlSet001", noWarnings: true},
	"xp-sp3-x86":          {root: `\WINDOWS`, osid: "winxp", virtio: "xp", arch: ArchX86, major: 5, minor: 1, build: 2600, sp: 3, cs: "ControlSet001"},
	"xp-x64":              {root: `\WINDOWS`, osid: "winxp", virtio: "xp", arch: ArchAMD64, major: 5, minor: 2, build: 3790, sp: 2, cs: "ControlSet001"},
	"2k3-sp2-amd64":       {root: `\WINDOWS`, osid: "win2k3", virtio: "2k3", arch: ArchAMD64, major: 5, minor: 2, build: 3790, sp: 2, server: true, cs: "ControlSet001"},
	"2k3r2-sp2-x86":       {root: `\WINDOWS`, product: "Microsoft Windows Server 2003 R2", osid: "win2k3r2", virtio: "2k3", arch: ArchX86, major: 5, minor: 2, build: 3790, sp: 2, server: true, cs: "ControlSet001"},
	"vista-sp1-x86":       {root: `\Windows`, osid: "winvista", virtio: "2k8", arch: ArchX86, major: 6, minor: 0, build: 6001, sp: 1, cs: "ControlSet001"},
	"vista-sp2-amd64":     {root: `\Windows`, osid: "winvista", virtio: "2k8", arch: ArchAMD64, major: 6, minor: 0, build: 6002, sp: 2, cs: "ControlSet001"},
	"2k8-sp2-x86":         {root: `\Windows`, osid: "win2k8", virtio: "2k8", arch: ArchX86, major: 6, minor: 0, build: 6002, sp: 2, server: true, itype: "Server", cs: "ControlSet001"},
	"2k8r2-sp0":           {root: `\Windows`, osid: "win2k8r2", virtio: "2k8R2", arch: ArchAMD64, major: 6, minor: 1, build: 7600, sp: 0, server: true, itype: "Server", cs: "ControlSet001"},
	"2k8r2-sp1":           {root: `\Windows`, osid: "win2k8r2", virtio: "2k8R2", arch: ArchAMD64, major: 6, minor: 1, build: 7601, sp: 1, server: true, itype: "Server", cs: "ControlSet001"},
	"7-sp0-x86":           {root: `\Windows`, osid: "win7", virtio: "w7", arch: ArchX86, major: 6, minor: 1, build: 7600, sp: 0, itype: "Client", cs: "ControlSet001"},
	"7-sp1-x64-gplpv":     {root: `\Windows`, osid: "win7", virtio: "w7", arch: ArchAMD64, major: 6, minor: 1, build: 7601, sp: 1, itype: "Client", cs: "ControlSet001"},
	"7-sp1-x86-oracle322": {root: `\Windows`, osid: "win7", virtio: "w7", arch: ArchX86, major: 6, minor: 1, build: 7601, sp: 1, itype: "Client", cs: "ControlSet001"},
	"7-sp1-x64-policy": {root: `\Windows`, osid: "win7", virtio: "w7", arch: ArchAMD64, major: 6, minor: 1, build: 7601, sp: 1, itype: "Client", cs: "ControlSet001",
		warnings: []string{"guest.device_install_restricted", "guest.group_policy"}},
	"8-x64":      {root: `\Windows`, osid: "win8", virtio: "w8", arch: ArchAMD64, major: 6, minor: 2, build: 9200, itype: "Client", cs: "ControlSet001"},
	"8.1-x86":    {root: `\Windows`, osid: "win8.1", virtio: "w8.1", arch: ArchX86, major: 6, minor: 3, build: 9600, itype: "Client", cs: "ControlSet001"},
	"2k12-x64":   {root: `\Windows`, osid: "win2k12", virtio: "2k12", arch: ArchAMD64, major: 6, minor: 2, build: 9200, server: true, itype: "Server", cs: "ControlSet001"},
	"2k12r2-x64": {root: `\Windows`, osid: "win2k12r2", virtio: "2k12R2", arch: ArchAMD64, major: 6, minor: 3, build: 9600, server: true, itype: "Server", cs: "ControlSet001"},
	"10-x64-virtio": {root: `\Windows`, product: "Windows 10 Pro", osid: "win10", virtio: "w10", arch: ArchAMD64, major: 10, minor: 0, build: 19045, itype: "Client", cs: "ControlSet001",
		warnings: []string{"guest.fast_startup", "guest.reboot_pending"}}, // StartOverride: handled by the plan, not a finding
	"10-x86":           {root: `\Windows`, osid: "win10", virtio: "w10", arch: ArchX86, major: 10, build: 19045, itype: "Client", cs: "ControlSet001", noWarnings: true},
	"11-x64":           {root: `\Windows`, product: "Windows 10 Pro", osid: "win11", virtio: "w11", arch: ArchAMD64, major: 10, build: 22631, itype: "Client", cs: "ControlSet001"},
	"11-arm64":         {root: `\Windows`, osid: "win11", virtio: "w11", arch: ArchARM64, major: 10, build: 26100, itype: "Client", cs: "ControlSet001"},
	"2k16":             {root: `\Windows`, osid: "win2k16", virtio: "2k16", arch: ArchAMD64, major: 10, build: 14393, server: true, itype: "Server", cs: "ControlSet001"},
	"2k19-core":        {root: `\Windows`, osid: "win2k19", virtio: "2k19", arch: ArchAMD64, major: 10, build: 17763, server: true, itype: "Server Core", cs: "ControlSet002"},
	"10-x64-parallels": {root: `\Windows`, osid: "win10", virtio: "w10", arch: ArchAMD64, major: 10, build: 19045, itype: "Client", cs: "ControlSet001"},
	"2k19-vmware":      {root: `\Windows`, osid: "win2k19", virtio: "2k19", arch: ArchAMD64, major: 10, build: 17763, server: true, itype: "Server", cs: "ControlSet001"},
	"2k22":             {root: `\Windows`, osid: "win2k22", virtio: "2k22", arch: ArchAMD64, major: 10, build: 20348, server: true, itype: "Server", cs: "ControlSet001"},
	"2k25":             {root: `\Windows`, osid: "win2k25", virtio: "2k25", arch: ArchAMD64, major: 10, build: 26100, server: true, itype: "Server", cs: "ControlSet001"},
	"arch-mismatch":    {root: `\Windows`, osid: "win10", virtio: "w10", arch: ArchAMD64, major: 10, build: 19045, itype: "Client", cs: "ControlSet001", warnings: []string{"guest.arch_mismatch"}},
	"bad-cmd":          {root: `\Windows`, osid: "win10", virtio: "w10", major: 10, build: 19045, itype: "Client", cs: "ControlSet001", blockers: []string{"guest.arch_unknown"}},
	"no-software":      {root: `\Windows`, arch: ArchAMD64, cs: "ControlSet001", blockers: []string{"guest.software_hive_missing"}},
	"garbage-software": {root: `\Windows`, arch: ArchAMD64, cs: "ControlSet001", blockers: []string{"guest.software_hive_unreadable"}},
}

func codes(fs []safety.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func checkWant(t *testing.T, name string, w Windows, e want) {
	t.Helper()
	if w.SystemRoot != e.root || w.OSID != e.osid || w.VirtioDir != e.virtio || w.Arch != e.arch ||
		w.Major != e.major || w.Minor != e.minor || w.Build != e.build || w.ServicePack != e.sp ||
		w.Server != e.server || w.InstallationType != e.itype || w.ControlSet != e.cs ||
		(e.product != "" && w.ProductName != e.product) {
		t.Errorf("%s: got root %q os %q/%q arch %q %d.%d.%d sp%d server=%v type %q cs %q product %q;\nwant %+v",
			name, w.SystemRoot, w.OSID, w.VirtioDir, w.Arch, w.Major, w.Minor, w.Build, w.ServicePack, w.Server,
			w.InstallationType, w.ControlSet, w.ProductName, e)
	}
	got := codes(w.Safety.Blockers)
	for _, c := range e.blockers {
		if !slices.Contains(got, c) {
			t.Errorf("%s: blocker %s missing; blockers %v", name, c, got)
		}
	}
	if len(e.blockers) == 0 && len(got) > 0 {
		t.Errorf("%s: unexpected blockers %+v", name, w.Safety.Blockers)
	}
	gotW := codes(w.Safety.Warnings)
	for _, c := range e.warnings {
		if !slices.Contains(gotW, c) {
			t.Errorf("%s: warning %s missing; warnings %v", name, c, gotW)
		}
	}
	if e.noWarnings && len(gotW) > 0 {
		t.Errorf("%s: unexpected warnings %+v", name, w.Safety.Warnings)
	}
}

func TestDetectSyntheticGuests(t *testing.T) {
	testenv.RequireTool(t, "hivexregedit")
	trees := filepath.Join(testenv.Fixture(t, "guests"), "trees")
	ents, err := os.ReadDir(trees)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(guestWants) {
		t.Errorf("fixture has %d guests, the table %d", len(ents), len(guestWants))
	}
	for oname, open := range openers(t) {
		for name, e := range guestWants {
			ws, err := Detect(DirFS(filepath.Join(trees, name)), open)
			if err != nil {
				t.Errorf("%s/%s: %v", oname, name, err)
				continue
			}
			if len(ws) != 1 {
				t.Errorf("%s/%s: %d installs", oname, name, len(ws))
				continue
			}
			checkWant(t, oname+"/"+name, ws[0], e)
		}
	}
}

// openers are the two hive readers detection is tested with: core/hive
// (what pvinject uses) and libhivex through go-hivex (an independent one).
func openers(t *testing.T) map[string]HiveOpener {
	return map[string]HiveOpener{"core-hive": OpenHive, "hivex": hivexOpener(t)}
}

func TestDetectDetails(t *testing.T) {
	for oname, open := range openers(t) {
		t.Run(oname, func(t *testing.T) { testDetectDetails(t, open) })
	}
}

func testDetectDetails(t *testing.T, open HiveOpener) {
	trees := filepath.Join(testenv.Fixture(t, "guests"), "trees")
	one := func(name string) Windows {
		ws, err := Detect(DirFS(filepath.Join(trees, name)), open)
		if err != nil || len(ws) != 1 {
			t.Fatalf("%s: %v (%d installs)", name, err, len(ws))
		}
		return ws[0]
	}

	w := one("10-x64-virtio")
	if !w.FastStartup || w.UBR != 3803 || w.RegistryArch != ArchAMD64 {
		t.Errorf("10-x64-virtio: fast startup %v ubr %d regarch %q", w.FastStartup, w.UBR, w.RegistryArch)
	}
	if len(w.PendingReboot) != 2 {
		t.Errorf("pending reboot markers: %v", w.PendingReboot)
	}
	if len(w.StartOverrides) != 2 || w.StartOverrides[0].Service != "viostor" || w.StartOverrides[0].Values["0"] != 3 ||
		w.StartOverrides[1].ControlSet != "ControlSet002" {
		t.Errorf("start overrides: %+v", w.StartOverrides)
	}
	if len(w.PVDrivers) != 1 || w.PVDrivers[0].Service != "viostor" || w.PVDrivers[0].Version != "100.85.104.20800" ||
		w.PVDrivers[0].Vendor != "Red Hat, Inc." || w.PVDrivers[0].Start != 0 || w.PVDrivers[0].Family != "virtio" {
		t.Errorf("pv drivers: %+v", w.PVDrivers)
	}
	if !slices.Equal(w.ControlSets.Present, []string{"ControlSet001", "ControlSet002"}) || w.ControlSets.LastKnownGood != 2 {
		t.Errorf("control sets: %+v", w.ControlSets)
	}

	w = one("7-sp1-x86-oracle322")
	if len(w.PVProducts) != 1 || w.PVProducts[0].Set != "oracle-pv-3.2.2" || w.PVProducts[0].Version != "3.2.2" {
		t.Errorf("oracle products: %+v", w.PVProducts)
	}
	if len(w.PVDrivers) != 1 || w.PVDrivers[0].Vendor != "Oracle Corporation" || w.PVDrivers[0].Version != "8.2.1.104" {
		t.Errorf("oracle drivers: %+v", w.PVDrivers)
	}

	w = one("2k19-vmware")
	if len(w.PVProducts) != 1 || w.PVProducts[0].Family != "vmware" || w.PVProducts[0].Version != "12.3.5.22544099" {
		t.Errorf("vmware products: %+v", w.PVProducts)
	}
	fams := map[string]string{}
	for _, d := range w.PVDrivers {
		fams[d.Service] = d.Family
	}
	for _, s := range []string{"pvscsi", "vmxnet3ndis6", "vmci", "vsock", "VMTools"} {
		if fams[s] != "vmware" {
			t.Errorf("vmware service %s: family %q in %+v", s, fams[s], w.PVDrivers)
		}
	}

	w = one("10-x64-parallels")
	if len(w.PVProducts) != 1 || w.PVProducts[0].Family != "parallels" || w.PVProducts[0].Name != "Parallels Tools" {
		t.Errorf("parallels products: %+v", w.PVProducts)
	}

	w = one("7-sp1-x64-policy")
	if !slices.Equal(w.DeviceInstallRestrictions, []string{"DenyUnspecified"}) || !w.GroupPolicy {
		t.Errorf("policy: %v gp %v", w.DeviceInstallRestrictions, w.GroupPolicy)
	}
	if w = one("10-x86"); w.FastStartup || len(w.PendingReboot) > 0 || len(w.StartOverrides) > 0 || w.GroupPolicy {
		t.Errorf("10-x86 should be clean: %+v", w)
	}
}

func TestDetectNoWindows(t *testing.T) {
	dir := t.TempDir()
	// A data disk with a Windows folder but no cmd.exe must not count (RHBZ#674130).
	if err := os.MkdirAll(filepath.Join(dir, "Windows", "System32", "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Detect(DirFS(dir), nil); !errors.Is(err, ErrNoWindows) {
		t.Errorf("got %v, want ErrNoWindows", err)
	}
	if _, err := Detect(DirFS(filepath.Join(dir, "absent")), nil); err == nil || errors.Is(err, ErrNoWindows) {
		t.Errorf("unlistable volume: got %v", err)
	}
}
