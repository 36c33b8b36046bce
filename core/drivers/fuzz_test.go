package drivers_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

const fuzzINF = `[Version]
Signature="$Windows NT$"
Class=SCSIAdapter
ClassGUID={4D36E97B-E325-11CE-BFC1-08002BE10318}
DriverVer=08/30/2021,100.85.104.20800
CatalogFile=f.cat
[SourceDisksNames]
1=d,,,""
[SourceDisksFiles]
f.sys=1
[Manufacturer]
M=Mod,NTamd64,NTx86
[Mod.NTamd64]
D=inst,PCI\VEN_1AF4&DEV_1001
[Mod.NTx86]
D=inst,PCI\VEN_1AF4&DEV_1001
[inst]
CopyFiles=fl
[fl]
f.sys
[inst.Services]
AddService=f,2,svc
[svc]
ServiceType=1
StartType=0
ErrorControl=1
ServiceBinary=%12%\f.sys
`

// FuzzLoadPackage feeds arbitrary INF, .sys and .cat bytes through
// LoadPackage, selection and the signature policy.
func FuzzLoadPackage(f *testing.F) {
	pe := minimalPE(0x8664)
	f.Add([]byte(fuzzINF), pe, handMadeSignedData(f, 1, oidCTL))
	f.Add([]byte(fuzzINF), []byte("MZ"), []byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, infb, sys, cat []byte) {
		fsys := fstest.MapFS{
			"p/f.inf":       {Data: infb},
			"p/f.sys":       {Data: sys},
			"p/f.cat":       {Data: cat},
			"p/viostor.sys": {Data: sys},
			"p/viostor.cat": {Data: cat},
		}
		p, err := drivers.LoadPackage(fsys, "p/f.inf", inf.Options{})
		if err != nil {
			return
		}
		_ = p.Missing()
		_ = p.BootCritical()
		_ = drivers.SignatureFindings([]*drivers.Package{p}, inf.ArchAMD64, false)
		_ = drivers.DriverPackageVersion(p.INF)
		if p.Signed() && !p.Catalog.Present {
			t.Fatal("signed without a catalog")
		}
	})
}

// minimalPE builds a PE header by hand (DOS header, COFF header, PE32+
// optional header, no sections), independent of the fixture script.
func minimalPE(machine uint16) []byte {
	b := make([]byte, 0x40+24+0xF0)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
	copy(b[0x40:], "PE\x00\x00")
	binary.LittleEndian.PutUint16(b[0x44:], machine)
	binary.LittleEndian.PutUint16(b[0x54:], 0xF0)
	binary.LittleEndian.PutUint16(b[0x56:], 0x22)
	binary.LittleEndian.PutUint16(b[0x58:], 0x20b)
	binary.LittleEndian.PutUint32(b[0x58+108:], 16)
	return b
}

func TestLoadPackageInMemory(t *testing.T) {
	for _, c := range []struct {
		machine uint16
		arch    inf.Arch
	}{{0x8664, inf.ArchAMD64}, {0x14c, inf.ArchX86}, {0xaa64, inf.ArchARM64}} {
		fsys := fstest.MapFS{
			"p/f.inf": {Data: []byte(fuzzINF)},
			"p/F.SYS": {Data: minimalPE(c.machine)}, // case differs: Windows does not care
			"p/f.cat": {Data: handMadeSignedData(t, 1, oidCTL)},
		}
		p, err := drivers.LoadPackage(fsys, "p/f.inf", inf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Arch != c.arch {
			t.Errorf("%#x: arch %s", c.machine, p.Arch)
		}
		// The INF has no arm64 models section: no service, not boot-critical.
		if !p.Signed() || len(p.Missing()) != 0 || p.BootCritical() != (c.arch != inf.ArchARM64) {
			t.Errorf("%#x: signed %v missing %v boot %v", c.machine, p.Signed(), p.Missing(), p.BootCritical())
		}
	}
	// A .sys that is not a PE image: recorded, not fatal.
	fsys := fstest.MapFS{"p/f.inf": {Data: []byte(fuzzINF)}, "p/f.sys": {Data: []byte("text")}}
	p, err := drivers.LoadPackage(fsys, "p/f.inf", inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Files[1].PEError == "" || p.Catalog.Present || p.Signed() {
		t.Errorf("%+v %+v", p.Files, p.Catalog)
	}
}

// Corruption at documented offsets of the fixture ISO (ECMA-119 primary
// volume descriptor at sector 16: path table size at +132, root directory
// record at +156 with its data length at +10).
func TestCorruptISO(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(testenv.Fixture(t, "drivers"), "virtio-win.iso"))
	if err != nil {
		t.Fatal(err)
	}
	pvd := 16 * 2048
	for name, off := range map[string]int{"path table size": pvd + 132, "root length": pvd + 156 + 10, "root location": pvd + 156 + 2} {
		b := append([]byte(nil), src...)
		binary.LittleEndian.PutUint32(b[off:], 0xFFFFFFF0)
		p := filepath.Join(t.TempDir(), "bad.iso")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := drivers.OpenSource(p, inf.Options{}); !errors.Is(err, drivers.ErrBadISO) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Garbage over the directory area: an error or fewer packages, never a panic.
	b := append([]byte(nil), src...)
	for i := 18 * 2048; i < 40*2048 && i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	p := filepath.Join(t.TempDir(), "garbage.iso")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := drivers.OpenSource(p, inf.Options{}); err == nil {
		s.Close()
	}
}
