package drivers_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

func openFixture(t *testing.T, rel string) *drivers.Source {
	t.Helper()
	dir := testenv.Fixture(t, "drivers")
	s, err := drivers.OpenSource(filepath.Join(dir, rel), inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type want struct {
	dir   string // package folder chosen
	exact bool
}

var virtioMatrix = []struct {
	guest    drivers.GuestInfo
	chosen   map[string]want
	rejected []string // driver names that must be refused
}{
	{drivers.GuestInfo{OSDir: "xp", Arch: inf.ArchX86, Major: 5, Minor: 1, Build: 2600},
		map[string]want{"viostor": {"viostor/xp/x86", true}}, []string{"vioscsi", "NetKVM"}},
	{drivers.GuestInfo{OSDir: "2k3", Arch: inf.ArchAMD64, Major: 5, Minor: 2, Build: 3790, Server: true},
		map[string]want{"viostor": {"viostor/2k3/amd64", true}}, []string{"vioscsi", "NetKVM", "Balloon"}},
	{drivers.GuestInfo{OSDir: "2k8", Arch: inf.ArchAMD64, Major: 6, Minor: 0, Build: 6002, Server: true},
		map[string]want{"viostor": {"viostor/2k8/amd64", true}}, []string{"vioscsi", "NetKVM"}},
	{drivers.GuestInfo{OSDir: "w7", Arch: inf.ArchX86, Major: 6, Minor: 1, Build: 7601},
		map[string]want{"viostor": {"viostor/w7/x86", true}, "vioscsi": {"vioscsi/w7/x86", true}, "netkvm": {"NetKVM/w7/x86", true}}, []string{"Balloon", "fwcfg"}},
	{drivers.GuestInfo{OSDir: "w7", Arch: inf.ArchAMD64, Major: 6, Minor: 1, Build: 7601},
		map[string]want{"viostor": {"viostor/w7/amd64", true}, "vioscsi": {"vioscsi/w7/amd64", true}, "netkvm": {"NetKVM/w7/amd64", true}}, []string{"Balloon", "fwcfg"}},
	{drivers.GuestInfo{OSDir: "2k8R2", Arch: inf.ArchAMD64, Major: 6, Minor: 1, Build: 7601, Server: true},
		map[string]want{"viostor": {"viostor/2k8R2/amd64", true}, "vioscsi": {"vioscsi/2k8R2/amd64", true}, "netkvm": {"NetKVM/2k8R2/amd64", true}}, []string{"Balloon"}},
	{drivers.GuestInfo{OSDir: "w8", Arch: inf.ArchX86, Major: 6, Minor: 2, Build: 9200},
		map[string]want{"viostor": {"viostor/w8/x86", true}, "vioscsi": {"vioscsi/w8/x86", true}, "netkvm": {"NetKVM/w8/x86", true}}, nil},
	{drivers.GuestInfo{OSDir: "2k12", Arch: inf.ArchAMD64, Major: 6, Minor: 2, Build: 9200, Server: true},
		map[string]want{"viostor": {"viostor/2k12/amd64", true}, "netkvm": {"NetKVM/2k12/amd64", true}}, []string{"Balloon"}},
	{drivers.GuestInfo{OSDir: "w8.1", Arch: inf.ArchAMD64, Major: 6, Minor: 3, Build: 9600},
		map[string]want{"viostor": {"viostor/w8.1/amd64", true}, "netkvm": {"NetKVM/w8.1/amd64", true}}, []string{"Balloon"}},
	{drivers.GuestInfo{OSDir: "2k12R2", Arch: inf.ArchAMD64, Major: 6, Minor: 3, Build: 9600, Server: true},
		map[string]want{"viostor": {"viostor/2k12R2/amd64", true}, "vioscsi": {"vioscsi/2k12R2/amd64", true}, "netkvm": {"NetKVM/2k12R2/amd64", true}}, []string{"Balloon"}},
	{drivers.GuestInfo{OSDir: "w10", Arch: inf.ArchAMD64, Major: 10, Build: 19045},
		map[string]want{"viostor": {"viostor/w10/amd64", true}, "vioscsi": {"vioscsi/w10/amd64", true}, "netkvm": {"NetKVM/w10/amd64", true},
			"balloon": {"Balloon/w10/amd64", true}, "fwcfg": {"fwcfg/w10/amd64", true}}, nil},
	{drivers.GuestInfo{OSDir: "w10", Arch: inf.ArchX86, Major: 10, Build: 19045},
		map[string]want{"viostor": {"viostor/w10/x86", true}, "netkvm": {"NetKVM/w10/x86", true}}, []string{"Balloon"}},
	{drivers.GuestInfo{OSDir: "2k16", Arch: inf.ArchAMD64, Major: 10, Build: 14393, Server: true},
		map[string]want{"viostor": {"viostor/2k16/amd64", true}, "netkvm": {"NetKVM/2k16/amd64", true}, "fwcfg": {"fwcfg/w10/amd64", false}}, nil},
	{drivers.GuestInfo{OSDir: "2k19", Arch: inf.ArchAMD64, Major: 10, Build: 17763, Server: true},
		map[string]want{"viostor": {"viostor/2k19/amd64", true}, "vioscsi": {"vioscsi/2k19/amd64", true}, "balloon": {"Balloon/2k19/amd64", true}}, nil},
	{drivers.GuestInfo{OSDir: "2k22", Arch: inf.ArchAMD64, Major: 10, Build: 20348, Server: true},
		map[string]want{"viostor": {"viostor/2k22/amd64", true}, "netkvm": {"NetKVM/2k22/amd64", true}}, nil},
	{drivers.GuestInfo{OSDir: "2k25", Arch: inf.ArchAMD64, Major: 10, Build: 26100, Server: true},
		map[string]want{"viostor": {"viostor/2k25/amd64", true}, "netkvm": {"NetKVM/2k22/amd64", false}, "fwcfg": {"fwcfg/w10/amd64", false}, "balloon": {"Balloon/2k25/amd64", true}}, nil},
	{drivers.GuestInfo{OSDir: "w11", Arch: inf.ArchAMD64, Major: 10, Build: 22631},
		map[string]want{"viostor": {"viostor/w11/amd64", true}, "netkvm": {"NetKVM/w11/amd64", true}, "fwcfg": {"fwcfg/w10/amd64", false}}, nil},
	{drivers.GuestInfo{OSDir: "w11", Arch: inf.ArchARM64, Major: 10, Build: 22631},
		map[string]want{"viostor": {"viostor/w11/ARM64", true}}, []string{"vioscsi", "NetKVM", "Balloon"}},
	// OSDir derived from the version.
	{drivers.GuestInfo{Arch: inf.ArchAMD64, Major: 10, Build: 26100, Server: true},
		map[string]want{"netkvm": {"NetKVM/2k22/amd64", false}}, nil},
}

func TestVirtioSelection(t *testing.T) {
	for _, rel := range []string{"virtio-tree", "virtio-win.iso"} {
		s := openFixture(t, rel)
		if s.Kind != drivers.KindVirtioWin || s.ISO != strings.HasSuffix(rel, ".iso") {
			t.Errorf("%s: kind %s iso %v", rel, s.Kind, s.ISO)
		}
		for _, sk := range []string{"sriov/", "qemufwcfg/w10/amd64/qemufwcfg.inf"} {
			if !skipped(s, sk) {
				t.Errorf("%s: %s not skipped: %+v", rel, sk, s.Skipped)
			}
		}
		for _, c := range virtioMatrix {
			sel, err := s.Select(c.guest)
			if err != nil {
				t.Errorf("%s %+v: %v", rel, c.guest, err)
				continue
			}
			got := map[string]drivers.Choice{}
			for _, ch := range sel.Chosen {
				got[ch.Package.Name] = ch
				if ch.Package.Name == "qemufwcfg" || ch.Package.Name == "vioprot" {
					t.Errorf("%s %s: excluded package %s chosen", rel, c.guest.OSDir, ch.Package.Name)
				}
			}
			for name, w := range c.chosen {
				ch, ok := got[name]
				if !ok {
					t.Errorf("%s %s %s: %s not chosen; rejected %+v", rel, c.guest.OSDir, c.guest.Arch, name, sel.Rejected)
					continue
				}
				if ch.Package.Dir != w.dir || ch.ExactOS != w.exact {
					t.Errorf("%s %s %s: %s from %s exact=%v, want %s exact=%v (%s)", rel, c.guest.OSDir, c.guest.Arch, name, ch.Package.Dir, ch.ExactOS, w.dir, w.exact, ch.Reason)
				}
				wantWhy := "exact OS match"
				if !w.exact {
					wantWhy = "newest directory not newer than the guest"
				}
				if !strings.Contains(ch.Reason, wantWhy) || !strings.HasPrefix(ch.Reason, name+" from "+w.dir) {
					t.Errorf("%s: reason %q", name, ch.Reason)
				}
				if (name == "viostor" || name == "vioscsi") != ch.BootCritical {
					t.Errorf("%s: BootCritical=%v", name, ch.BootCritical)
				}
			}
			for _, r := range c.rejected {
				if _, ok := got[strings.ToLower(r)]; ok {
					t.Errorf("%s %s %s: %s chosen, want refused", rel, c.guest.OSDir, c.guest.Arch, r)
				}
				if !rejected(sel, r) {
					t.Errorf("%s %s %s: no rejection reason for %s: %+v", rel, c.guest.OSDir, c.guest.Arch, r, sel.Rejected)
				}
			}
			if len(sel.Chosen) > 0 && got["viostor"].BootCritical && !sel.Chosen[0].BootCritical {
				t.Errorf("boot-critical packages not listed first")
			}
		}
	}
}

func skipped(s *drivers.Source, p string) bool {
	for _, sk := range s.Skipped {
		if sk.Path == p && sk.Reason != "" {
			return true
		}
	}
	return false
}

func rejected(sel *drivers.Selection, name string) bool {
	for _, r := range sel.Rejected {
		if strings.EqualFold(r.Name, name) && r.Reason != "" {
			return true
		}
	}
	return false
}

func TestVirtioPackageDetails(t *testing.T) {
	s := openFixture(t, "virtio-win.iso")
	sel, err := s.Select(drivers.GuestInfo{OSDir: "2k12R2", Arch: inf.ArchAMD64, Major: 6, Minor: 3, Build: 9600, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	var p *drivers.Package
	for _, c := range sel.Chosen {
		if c.Package.Name == "viostor" {
			p = c.Package
			ins, err := c.Installs(inf.ArchAMD64)
			if err != nil || len(ins) != 1 || ins[0].Section != "scsi_inst" || len(ins[0].Services) != 1 || len(ins[0].HWAddReg) == 0 {
				t.Errorf("installs %+v %v", ins, err)
			}
		}
	}
	if p == nil {
		t.Fatal("viostor not chosen")
	}
	if p.DriverVer() != "08/30/2021,100.85.104.20800" || p.ClassGUID != "{4D36E97B-E325-11CE-BFC1-08002BE10318}" || p.Class != "SCSIAdapter" {
		t.Errorf("%s %s %s", p.DriverVer(), p.ClassGUID, p.Class)
	}
	if p.Arch != inf.ArchAMD64 || !p.Signed() || p.Catalog.Name != "viostor.cat" || len(p.Missing()) != 0 {
		t.Errorf("arch %s signed %v %+v missing %v", p.Arch, p.Signed(), p.Catalog, p.Missing())
	}
	ids := strings.Join(p.HardwareIDs, " ")
	for _, id := range []string{`PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00`, `PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01`, `PCI\VEN_1AF4&DEV_1001`} {
		if !strings.Contains(ids, id) {
			t.Errorf("hardware id %s missing from %v", id, p.HardwareIDs)
		}
	}
	if len(p.Services) != 1 || p.Services[0].Name != "viostor" || p.Services[0].StartType != 0 || p.Services[0].LoadOrderGroup != "SCSI miniport" {
		t.Errorf("services %+v", p.Services)
	}
	var sys *drivers.PackageFile
	for i := range p.Files {
		if p.Files[i].Kind == drivers.KindSys {
			sys = &p.Files[i]
		}
	}
	if sys == nil || !sys.Present || sys.Arch != inf.ArchAMD64 || sys.Path != "viostor/2k12R2/amd64/viostor.sys" {
		t.Errorf("sys %+v", sys)
	}
}

func TestVirtioARM64PE(t *testing.T) {
	s := openFixture(t, "virtio-tree")
	for _, p := range s.Packages {
		want := map[string]inf.Arch{"amd64": inf.ArchAMD64, "x86": inf.ArchX86, "i386": inf.ArchX86, "ARM64": inf.ArchARM64}[p.ArchDir]
		if p.Arch != want {
			t.Errorf("%s: PE arch %s, directory %s", p.INFPath, p.Arch, p.ArchDir)
		}
	}
}

func TestFolderSource(t *testing.T) {
	s := openFixture(t, "folder")
	if s.Kind != drivers.KindFolder {
		t.Errorf("kind %s", s.Kind)
	}
	var tmpl bool
	for _, sk := range s.Skipped {
		if sk.Path == "tmpl/tmpl.inx" && strings.Contains(sk.Reason, "template, not a built INF") {
			tmpl = true
		}
	}
	if !tmpl {
		t.Errorf("template not skipped with a clear reason: %+v", s.Skipped)
	}
	g := drivers.GuestInfo{Arch: inf.ArchAMD64, Major: 10, Build: 20348, Server: true}
	sel, err := s.Select(g)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range sel.Chosen {
		names = append(names, c.Package.INFPath)
	}
	sort.Strings(names)
	if strings.Join(names, " ") != "garbage/garbage.inf good/demo.inf nocat/nocat.inf nosigner/nosigner.inf utf16/viou16.inf" {
		t.Errorf("chosen %v", names)
	}
	if !rejected(sel, "armdemo") {
		t.Errorf("arm64 package not refused for amd64: %+v", sel.Rejected)
	}
	var older bool
	for _, r := range sel.Rejected {
		older = older || r.Path == "old/demo.inf" && strings.Contains(r.Reason, "older DriverVer")
	}
	if !older {
		t.Errorf("old/demo.inf not refused as older: %+v", sel.Rejected)
	}
	for _, c := range sel.Chosen {
		if c.Package.Name == "viou16" {
			p := c.Package
			if p.INF.Encoding != inf.EncUTF16LE || p.Provider != "Unicode Gerätebau" || !c.BootCritical || !p.Signed() {
				t.Errorf("utf16 package: %s %q boot %v signed %v", p.INF.Encoding, p.Provider, c.BootCritical, p.Signed())
			}
		}
	}
	// No x86 builds at all: a clear refusal.
	if _, err := s.Select(drivers.GuestInfo{Arch: inf.ArchX86, Major: 6, Minor: 1, Build: 7601}); !errors.Is(err, drivers.ErrNoMatch) {
		t.Errorf("x86: %v", err)
	}
}

func TestOracleSource(t *testing.T) {
	s := openFixture(t, "oracle")
	if s.Kind != drivers.KindOracleVMPV || s.Installer == nil || s.Installer.Path != "Setup.exe" || s.Installer.ResponseFile != "setup.iss" {
		t.Fatalf("kind %s installer %+v", s.Kind, s.Installer)
	}
	sel, err := s.Select(drivers.GuestInfo{OSDir: "2k12R2", Arch: inf.ArchAMD64, Major: 6, Minor: 3, Build: 9600, Server: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Chosen) != 2 || sel.Chosen[0].Package.Name != "ovmvbd" || !sel.Chosen[0].BootCritical {
		t.Errorf("%+v", sel.Chosen)
	}
	// Vista-era decoration .6.1: a 2008 (6.0) guest gets nothing.
	if _, err := s.Select(drivers.GuestInfo{OSDir: "2k8", Arch: inf.ArchAMD64, Major: 6, Minor: 0, Build: 6002, Server: true}); !errors.Is(err, drivers.ErrNoMatch) {
		t.Errorf("2k8: %v", err)
	}
	// The installer alone is a source too.
	inst, err := drivers.OpenSource(filepath.Join(testenv.Fixture(t, "drivers"), "oracle", "Setup.exe"), inf.Options{})
	if err != nil || inst.Kind != drivers.KindOracleVMPV || inst.Installer.ResponseFile != "setup.iss" {
		t.Errorf("installer source: %+v %v", inst, err)
	}
}

func TestXenSource(t *testing.T) {
	s := openFixture(t, "xen")
	if s.Kind != drivers.KindXenPV || len(s.Packages) != 10 {
		t.Fatalf("kind %s, %d packages", s.Kind, len(s.Packages))
	}
	for _, g := range []drivers.GuestInfo{
		{Arch: inf.ArchAMD64, Major: 10, Build: 17763, Server: true},
		{Arch: inf.ArchX86, Major: 6, Minor: 1, Build: 7601},
	} {
		sel, err := s.Select(g)
		if err != nil {
			t.Fatal(err)
		}
		if len(sel.Chosen) != 5 {
			t.Fatalf("%+v", sel.Chosen)
		}
		if sel.Chosen[0].Package.Name != "xenvbd" || !sel.Chosen[0].BootCritical || sel.Chosen[1].Package.Name != "xenbus" || !sel.Chosen[1].BootBus {
			t.Errorf("order: %s %s", sel.Chosen[0].Reason, sel.Chosen[1].Reason)
		}
		for _, c := range sel.Chosen {
			if c.Package.Arch != g.Arch {
				t.Errorf("%s: arch %s for %s guest", c.Package.INFPath, c.Package.Arch, g.Arch)
			}
		}
	}
}

func TestOSDirFor(t *testing.T) {
	for _, c := range []struct {
		maj, min, build int
		server          bool
		want            string
	}{
		{5, 1, 2600, false, "xp"}, {5, 2, 3790, false, "xp"}, {5, 2, 3790, true, "2k3"}, {6, 0, 6002, false, "2k8"},
		{6, 1, 7601, false, "w7"}, {6, 1, 7601, true, "2k8R2"}, {6, 2, 9200, true, "2k12"}, {6, 3, 9600, false, "w8.1"},
		{10, 0, 19045, false, "w10"}, {10, 0, 22000, false, "w11"}, {10, 0, 14393, true, "2k16"}, {10, 0, 17763, true, "2k19"},
		{10, 0, 20348, true, "2k22"}, {10, 0, 26100, true, "2k25"},
	} {
		got, err := drivers.OSDirFor(c.maj, c.min, c.build, c.server)
		if err != nil || got != c.want {
			t.Errorf("%d.%d.%d server=%v: %q %v, want %q", c.maj, c.min, c.build, c.server, got, err, c.want)
		}
	}
	if _, err := drivers.OSDirFor(4, 0, 1381, false); err == nil {
		t.Error("NT 4 mapped")
	}
}

func TestSingleINFSource(t *testing.T) {
	s := openFixture(t, "folder/good/demo.inf")
	if s.Kind != drivers.KindFolder || len(s.Packages) != 1 || s.Packages[0].INFPath != "demo.inf" || !s.Packages[0].Signed() {
		t.Fatalf("kind %s packages %+v", s.Kind, s.Packages)
	}
	_, err := drivers.OpenSource(filepath.Join(testenv.Fixture(t, "drivers"), "folder/tmpl/tmpl.inx"), inf.Options{})
	if !errors.Is(err, drivers.ErrNoPackages) || !strings.Contains(err.Error(), "template, not a built INF") {
		t.Errorf("lone template: %v", err)
	}
	if _, err := drivers.OpenSource(filepath.Join(testenv.Fixture(t, "drivers"), "BUILT"), inf.Options{}); err == nil {
		t.Error("a text file opened as a source")
	}
}

// The ISO (read through go-diskfs) and the tree it was made from (read
// through the OS) must yield the same packages, files and sizes.
func TestISOMatchesTree(t *testing.T) {
	tree, iso := openFixture(t, "virtio-tree"), openFixture(t, "virtio-win.iso")
	key := func(s *drivers.Source) map[string]string {
		m := map[string]string{}
		for _, p := range s.Packages {
			for _, f := range p.Files {
				m[p.INFPath+"|"+f.Name] = fmt.Sprintf("%s %s %d %v %s %v", f.Path, f.Arch, f.Size, f.Present, p.DriverVer(), p.Signed())
			}
		}
		return m
	}
	a, b := key(tree), key(iso)
	if len(a) != len(b) || len(a) < 100 {
		t.Fatalf("tree %d files, iso %d", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: tree %q iso %q", k, v, b[k])
		}
	}
}
