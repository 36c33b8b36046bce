package inf_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

func parseCorpus(t *testing.T, rel string, opts inf.Options) (*inf.File, error) {
	t.Helper()
	p := testenv.CorpusFile(t, rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return inf.Parse(filepath.Base(p), b, opts)
}

var amd64_2k12R2 = inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 3, Build: 9600, ProductType: inf.ProductServer}

func TestCorpusViostorBuilt(t *testing.T) {
	f, err := parseCorpus(t, "inf/virtio-win-built/viostor_0.1.208_2k12R2_amd64.inf", inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v := f.Version
	if !v.HasDriverVer || !v.DriverDate.Equal(time.Date(2021, 8, 30, 0, 0, 0, 0, time.UTC)) || v.DriverVersion != [4]uint16{100, 85, 104, 20800} {
		t.Errorf("DriverVer = %v %v (%q)", v.DriverDate, v.DriverVersion, v.DriverVerText)
	}
	if v.ClassGUID.String() != "{4D36E97B-E325-11CE-BFC1-08002BE10318}" || v.Class != "SCSIAdapter" || v.Provider != "Red Hat, Inc." {
		t.Errorf("class %s %s provider %q", v.Class, v.ClassGUID, v.Provider)
	}
	if c := v.CatalogFor(inf.ArchAMD64); c != "viostor.cat" {
		t.Errorf("catalog %q", c)
	}
	sel, err := f.ModelsFor(amd64_2k12R2)
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Sections) != 1 || sel.Sections[0] != "VioStor.NTamd64.6.3" || len(sel.Models) != 2 {
		t.Fatalf("selection %+v", sel)
	}
	m := sel.Models[0]
	if m.HardwareID != `PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00` || len(m.CompatibleIDs) != 1 || m.CompatibleIDs[0] != `PCI\VEN_1AF4&DEV_1001` || m.Description != "Red Hat VirtIO SCSI controller" {
		t.Errorf("model %+v", m)
	}
	if sel.Models[1].HardwareID != `PCI\VEN_1AF4&DEV_1042&SUBSYS_11001AF4&REV_01` {
		t.Errorf("model 2 %+v", sel.Models[1])
	}
	// Windows 8 (6.2) and Windows 7 predate the NTamd64.6.3 decoration; x86 has no section.
	for _, o := range []inf.OS{
		{Arch: inf.ArchAMD64, Major: 6, Minor: 2, Build: 9200, ProductType: 1},
		{Arch: inf.ArchAMD64, Major: 6, Minor: 1, Build: 7601, ProductType: 3},
		{Arch: inf.ArchX86, Major: 6, Minor: 3, Build: 9600, ProductType: 1},
	} {
		if _, err := f.ModelsFor(o); err == nil {
			t.Errorf("%s: models selected, want none", o)
		}
	}
	// Windows 10/11 still take the 6.3 section (newest not newer than the OS).
	if sel, err := f.ModelsFor(inf.OS{Arch: inf.ArchAMD64, Major: 10, Build: 22631, ProductType: 1}); err != nil || sel.Sections[0] != "VioStor.NTamd64.6.3" {
		t.Errorf("w11: %v %v", sel.Sections, err)
	}
	in, err := f.Install(m.InstallSection, inf.ArchAMD64)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Services) != 1 {
		t.Fatalf("services %+v", in.Services)
	}
	s := in.Services[0]
	if s.Name != "viostor" || !s.Associated() || s.ServiceType != 1 || s.StartType != 0 || s.ErrorControl != 1 || s.LoadOrderGroup != "SCSI miniport" {
		t.Errorf("service %+v", s)
	}
	if p, ok := s.ImagePath(); !ok || p != `System32\drivers\viostor.sys` {
		t.Errorf("ImagePath %q %v", p, ok)
	}
	wantReg := map[string]uint32{`Parameters\PnpInterface|5`: 1, `Parameters|BusType`: 1}
	for _, op := range s.AddReg {
		k := op.Subkey + "|" + op.ValueName
		if want, ok := wantReg[k]; ok && op.Value.Type == inf.RegDWORD && op.Value.DWORD == want {
			delete(wantReg, k)
		}
	}
	if len(wantReg) != 0 {
		t.Errorf("service AddReg misses %v: %+v", wantReg, s.AddReg)
	}
	if len(s.EventLog) != 2 || s.EventLog[0].Value.Type != inf.RegExpandSZ || s.EventLog[0].Value.Str != `%SystemRoot%\System32\IoLogMsg.dll` {
		t.Errorf("event log %+v", s.EventLog)
	}
	var msi, limit bool
	for _, op := range in.HWAddReg {
		if op.ValueName == "MSISupported" && op.Value.DWORD == 1 {
			msi = true
		}
		if op.ValueName == "MessageNumberLimit" && op.Value.DWORD == 256 {
			limit = true
		}
	}
	if !msi || !limit || !in.HWAddReg[0].KeyOnly {
		t.Errorf("HW AddReg %+v", in.HWAddReg)
	}
	if len(in.CopyFiles) != 1 || in.CopyFiles[0].Name != "viostor.sys" || in.CopyFiles[0].Dest.DirID != 12 || in.CopyFiles[0].SourcePath != "viostor.sys" {
		t.Errorf("CopyFiles %+v", in.CopyFiles)
	}
	if p, _ := in.CopyFiles[0].Dest.Path(); p != `Windows\System32\drivers` {
		t.Errorf("dest %q", p)
	}
}

func TestCorpusViostorWLH(t *testing.T) {
	f, err := parseCorpus(t, "inf/virtio-win-built/viostor_wlh_2009.inf", inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.Encoding != inf.EncUTF8BOM {
		t.Errorf("encoding %s", f.Encoding)
	}
	if f.Version.DriverVersion != [4]uint16{5, 3, 0, 17241} || f.Version.DriverDate.Format("2006-01-02") != "2009-10-10" {
		t.Errorf("DriverVer %v", f.Version.DriverVersion)
	}
	for _, c := range []struct {
		os   inf.OS
		want string
	}{
		{inf.OS{Arch: inf.ArchX86, Major: 6, Minor: 0, ProductType: 1}, "RHEL.NTx86"},
		{inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 0, ProductType: 3}, "RHEL.NTamd64"},
	} {
		sel, err := f.ModelsFor(c.os)
		if err != nil || sel.Sections[0] != c.want || len(sel.Models) != 3 {
			t.Errorf("%s: %v %v", c.os, sel.Sections, err)
		}
	}
	if _, err := f.ModelsFor(inf.OS{Arch: inf.ArchARM64, Major: 10}); err == nil {
		t.Error("arm64 got a models section")
	}
}

func TestCorpusXenbusDecorations(t *testing.T) {
	f, err := parseCorpus(t, "inf/suse-vmdp/xenbus.inf", inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		os      inf.OS
		section string
		hwid    string
	}{
		{inf.OS{Arch: inf.ArchX86, Major: 5, Minor: 1, Build: 2600, ProductType: 1}, "XenBus.NTx86.5.1", `root\xenbus`},
		{inf.OS{Arch: inf.ArchX86, Major: 5, Minor: 2, Build: 3790, ProductType: 3}, "XenBus.NTx86.5.2", `PCI\VEN_5853&DEV_0001`},
		{inf.OS{Arch: inf.ArchAMD64, Major: 5, Minor: 2, Build: 3790, ProductType: 3}, "XenBus.NTamd64.5.2", `PCI\VEN_5853&DEV_0001`},
		{inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 1, Build: 7601, ProductType: 1}, "XenBus.NTamd64.6", `PCI\VEN_5853&DEV_0001`},
		{inf.OS{Arch: inf.ArchAMD64, Major: 10, Minor: 0, Build: 17763, ProductType: 3}, "XenBus.NTamd64.6", `PCI\VEN_5853&DEV_0001`},
		{inf.OS{Arch: inf.ArchX86, Major: 6, Minor: 3, Build: 9600, ProductType: 1}, "XenBus.NTx86.6", `PCI\VEN_5853&DEV_0001`},
	}
	for _, c := range cases {
		sel, err := f.ModelsFor(c.os)
		if err != nil {
			t.Errorf("%s: %v", c.os, err)
			continue
		}
		if sel.Sections[0] != c.section || sel.Models[0].HardwareID != c.hwid {
			t.Errorf("%s: got %s %s, want %s %s", c.os, sel.Sections[0], sel.Models[0].HardwareID, c.section, c.hwid)
		}
	}
	in, err := f.Install("XenBus_Inst", inf.ArchAMD64)
	if err != nil {
		t.Fatal(err)
	}
	s := in.Services[0]
	if s.Name != "XenBus" || s.StartType != 0 || s.ErrorControl != 0 || s.LoadOrderGroup != "Boot Bus Extender" || s.DriverFile() != "xenbus.sys" {
		t.Errorf("service %+v", s)
	}
	// DRIVER_DIRID is not defined in this INF's [Strings]: reported, not guessed.
	if _, ok := s.ImagePath(); ok {
		t.Error("ImagePath resolved an undefined %DRIVER_DIRID%")
	}
	if !strings.Contains(strings.Join(f.Warnings, "\n"), "DRIVER_DIRID") {
		t.Errorf("no warning about DRIVER_DIRID: %v", f.Warnings)
	}
}

func TestCorpusXenblk(t *testing.T) {
	f, err := parseCorpus(t, "inf/suse-vmdp/xenblk.inf", inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	in, err := f.Install("XenBlk_Install", inf.ArchAMD64)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.HWDelReg) != 3 || in.HWDelReg[0].ValueName != "BusNumber" || !in.HWDelReg[0].Delete {
		t.Errorf("HW DelReg %+v", in.HWDelReg)
	}
	if s := in.Services[0]; s.LoadOrderGroup != "SCSI miniport" || s.StartType != 0 || len(s.AddReg) != 4 {
		t.Errorf("service %+v", s)
	}
}

func TestCorpusTemplatesRefused(t *testing.T) {
	dir := filepath.Join(testenv.Corpus(t), "inf", "virtio-win-templates")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".inx") && !strings.HasSuffix(name, ".inf") && name != "netkvm-base.txt" {
			continue
		}
		n++
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		_, err = inf.Parse(name, b, inf.Options{})
		if !errors.Is(err, inf.ErrTemplate) {
			t.Errorf("%s: err = %v, want ErrTemplate", name, err)
			continue
		}
		if !strings.Contains(err.Error(), "template, not a built INF") {
			t.Errorf("%s: message %q does not say it is a template", name, err)
		}
	}
	if n < 8 {
		t.Errorf("only %d templates checked", n)
	}
}

// netkvm-base.txt is a fragment of a template: refused by default, and with
// AllowTemplate parsed as far as it goes.
func TestCorpusNetkvmFragment(t *testing.T) {
	f, err := parseCorpus(t, "inf/virtio-win-templates/netkvm-base.txt", inf.Options{AllowTemplate: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Template) == 0 {
		t.Error("template markers not reported")
	}
	if f.Version.Class != "Net" || f.Version.ClassGUID.String() != "{4D36E972-E325-11CE-BFC1-08002BE10318}" {
		t.Errorf("version %+v", f.Version)
	}
	in, err := f.Install("kvmnet6.ndi", inf.ArchAMD64)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Services) != 1 {
		t.Fatalf("services %+v", in.Services)
	}
	s := in.Services[0]
	if s.Name != "netkvm" || s.StartType != 3 || s.LoadOrderGroup != "NDIS" || s.ServiceType != 1 {
		t.Errorf("service %+v", s)
	}
	var jumbo bool
	for _, op := range in.AddReg {
		if strings.EqualFold(op.Subkey, `Ndi\params\*JumboPacket`) && op.ValueName == "max" && op.Value.Str == "65500" {
			jumbo = true
		}
	}
	if !jumbo {
		t.Error(`*JumboPacket max 65500 not found in kvmnet6.ndi AddReg`)
	}
}
