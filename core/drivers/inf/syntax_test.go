package inf_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

func readSyntax(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/syntax.inf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustParse(t *testing.T, b []byte, opts inf.Options) *inf.File {
	t.Helper()
	f, err := inf.Parse("syntax.inf", b, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestSyntaxVersion(t *testing.T) {
	f := mustParse(t, readSyntax(t), inf.Options{})
	v := f.Version
	if v.Class != "SCSIAdapter" || v.Provider != "Demo Corp" || v.DriverVersion != [4]uint16{62, 71, 104, 8600} {
		t.Errorf("%+v", v)
	}
	if got := v.CatalogFor(inf.ArchAMD64); got != "demo64.cat" {
		t.Errorf("amd64 catalog %q", got)
	}
	if got := v.CatalogFor(inf.ArchX86); got != "demo.cat" {
		t.Errorf("x86 catalog %q", got)
	}
	if f.Section("VERSION") == nil || f.Section("Demo.NT.6.0") == nil {
		t.Error("section lookup is not case-insensitive")
	}
}

func TestModelSelectionRule(t *testing.T) {
	f := mustParse(t, readSyntax(t), inf.Options{})
	cases := []struct {
		os   inf.OS
		want string // hardware id of the chosen section
	}{
		{inf.OS{Arch: inf.ArchX86, Major: 5, Minor: 1, ProductType: 1}, `PCI\VEN_0002`},        // NTx86
		{inf.OS{Arch: inf.ArchX86, Major: 6, Minor: 1, ProductType: 1}, `PCI\VEN_0008`},        // NT.6.0 beats NTx86 (newer version)
		{inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 1, ProductType: 3}, `PCI\VEN_0008`},      // NT.6.0 beats NTamd64
		{inf.OS{Arch: inf.ArchAMD64, Major: 5, Minor: 2, ProductType: 3}, `PCI\VEN_0003`},      // only NTamd64 applies
		{inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 3, ProductType: 1}, `PCI\VEN_0004`},      // NTamd64.6.3
		{inf.OS{Arch: inf.ArchAMD64, Major: 10, Build: 10240, ProductType: 1}, `PCI\VEN_0004`}, // 14393 not reached, .3 is server only
		{inf.OS{Arch: inf.ArchAMD64, Major: 10, Build: 10240, ProductType: 3}, `PCI\VEN_0006`}, // product type 3 matches
		{inf.OS{Arch: inf.ArchAMD64, Major: 10, Build: 14393, ProductType: 3}, `PCI\VEN_0005`}, // build 14393 wins over no build
		{inf.OS{Arch: inf.ArchAMD64, Major: 10, Build: 22631, ProductType: 1}, `PCI\VEN_0005`}, // w11
		{inf.OS{Arch: inf.ArchARM64, Major: 10, Build: 22631, ProductType: 1}, `PCI\VEN_0008`}, // NT.6.0 (any arch, newer) beats NTarm64
		{inf.OS{Arch: inf.ArchARM64, Major: 5, Minor: 1, Build: 2600, ProductType: 1}, `PCI\VEN_0007`},
	}
	for _, c := range cases {
		sel, err := f.ModelsFor(c.os)
		if err != nil {
			t.Errorf("%s: %v", c.os, err)
			continue
		}
		if got := sel.Models[0].HardwareID; got != c.want {
			t.Errorf("%s: chose %s (%s), want %s; %v", c.os, sel.Sections, got, c.want, sel.Reasons)
		}
	}
}

func TestParseTargetOS(t *testing.T) {
	got, err := inf.ParseTargetOS("NTamd64.10.0...14393")
	want := inf.TargetOS{Raw: "NTamd64.10.0...14393", Arch: inf.ArchAMD64, Major: 10, Minor: 0, Build: 14393}
	if err != nil || got != want {
		t.Errorf("got %+v %v", got, err)
	}
	got, err = inf.ParseTargetOS("ntx86.5.1")
	if err != nil || got.Arch != inf.ArchX86 || got.Major != 5 || got.Minor != 1 || got.Build != 0 {
		t.Errorf("got %+v %v", got, err)
	}
	got, err = inf.ParseTargetOS("NTamd64.6")
	if err != nil || got.Major != 6 || got.Minor != 0 {
		t.Errorf("got %+v %v", got, err)
	}
	for _, bad := range []string{"amd64", "NTmips", "NTamd64.x", "NTamd64.1.2.3.4.5.6", "NTamd64.99999999999"} {
		if _, err := inf.ParseTargetOS(bad); !errors.Is(err, inf.ErrSyntax) {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestLocalizedStrings(t *testing.T) {
	b := readSyntax(t)
	o := inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 3}
	for _, c := range []struct {
		lcids []uint16
		want  string
	}{
		{nil, "Demo Device (English)"},
		{[]uint16{0x0407}, "Demo-Gerät"},
		{[]uint16{0x0807}, "Demo-Gerät (Schweiz)"},
		{[]uint16{0x0c07}, "Demo-Gerät"}, // German (Austria): primary-language match, lowest id
		{[]uint16{0x040c, 0x0407}, "Demo-Gerät"},
		{[]uint16{0x040c}, "Demo Device (English)"},
	} {
		f := mustParse(t, b, inf.Options{LCIDs: c.lcids})
		sel, err := f.ModelsFor(o)
		if err != nil {
			t.Fatal(err)
		}
		if got := sel.Models[0].Description; got != c.want {
			t.Errorf("LCIDs %x: %q, want %q (%s)", c.lcids, got, c.want, f.StringsSection)
		}
		if f.Version.Provider != "Demo Corp" { // falls back to [Strings]
			t.Errorf("provider %q", f.Version.Provider)
		}
	}
}

func TestInstallAMD64(t *testing.T) {
	f := mustParse(t, readSyntax(t), inf.Options{})
	in, err := f.Install("Inst", inf.ArchAMD64)
	if err != nil {
		t.Fatal(err)
	}
	if in.Section != "Inst.NTamd64" {
		t.Errorf("section %s", in.Section)
	}
	type fc struct{ name, src, dir, srcPath string }
	var got []fc
	for _, c := range in.CopyFiles {
		d, _ := c.Dest.Path()
		got = append(got, fc{c.Name, c.Source, d, c.SourcePath})
	}
	want := []fc{
		{"demo.sys", "demo.sys", `Windows\System32\drivers`, "amd64/demo.sys"},
		{"renamed.sys", "orig.sys", `Windows\System32\drivers`, "amd64/sub/orig.sys"},
		{"sub.dat", "sub.dat", `Windows\Demo Data`, "extra/sub.dat"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CopyFiles\n got %+v\nwant %+v", got, want)
	}
	if len(in.Services) != 1 {
		t.Fatal(in.Services)
	}
	s := in.Services[0]
	if s.DisplayName != `Demo "quoted" service` || s.ErrorControl != 1 || s.EventLogType != "Application" || s.Dependencies[0] != "FltMgr" {
		t.Errorf("service %+v", s)
	}
	if _, ok := s.ImagePath(); ok {
		t.Error("dirid 13 resolved to a fixed path")
	}
	if len(s.EventLog) != 1 || s.EventLog[0].Value.Str != `%SystemRoot%\System32\IoLogMsg.dll;%SystemRoot%\System32\drivers\demo.sys` {
		t.Errorf("event log %+v", s.EventLog)
	}
	regs := map[string]inf.RegOp{}
	for _, op := range s.AddReg {
		regs[op.Root+`\`+op.Subkey+`|`+op.ValueName] = op
	}
	check := func(key string, typ uint32, data []byte) {
		t.Helper()
		op, ok := regs[key]
		if !ok {
			t.Errorf("%s missing", key)
			return
		}
		if op.Value.Type != typ || !bytes.Equal(op.Value.Bytes(), data) {
			t.Errorf("%s: type %d data % x, want %d % x", key, op.Value.Type, op.Value.Bytes(), typ, data)
		}
	}
	check(`HKR\Parameters|BusType`, inf.RegDWORD, []byte{10, 0, 0, 0})
	check(`HKR\Parameters|Bin`, inf.RegBinary, []byte{1, 2, 0x0a, 0xff, 0x10})
	check(`HKR\Parameters|Multi`, inf.RegMultiSZ, utf16le("a\x00b, with comma\x00\x00"))
	check(`HKR\Parameters|Q`, inf.RegQWORD, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	check(`HKR\Parameters|Neg`, inf.RegDWORD, []byte{0xff, 0xff, 0xff, 0xff})
	check(`HKR\Parameters|Keep`, inf.RegSZ, utf16le("  padded  \x00"))
	check(`HKLM\SYSTEM\CurrentControlSet\Control\Demo|Semi;colon`, inf.RegSZ, utf16le("a;b\x00"))
	check(`HKR\Parameters|NoneVal`, inf.RegNone, nil)
	if op := regs[`HKR\Parameters|Append`]; op.Flags&inf.FlagAppend == 0 || op.Value.Type != inf.RegMultiSZ {
		t.Errorf("append %+v", op)
	}
	if op := regs[`HKR\Parameters|Keep`]; op.Flags&inf.FlagNoClobber == 0 {
		t.Errorf("noclobber %+v", op)
	}
	if op := regs[`HKR\Parameters\Empty|`]; !op.KeyOnly {
		t.Errorf("key-only %+v", op)
	}
	if len(in.DelReg) != 3 || !in.DelReg[0].KeyOnly || in.DelReg[1].KeyOnly || in.DelReg[2].Value.Strs[0] != "gone" {
		t.Errorf("DelReg %+v", in.DelReg)
	}
	if len(in.HWAddReg) != 2 || !in.HWAddReg[0].KeyOnly || in.HWAddReg[1].Value.DWORD != 1 {
		t.Errorf("HW %+v", in.HWAddReg)
	}
}

func TestInstallX86UsesNT(t *testing.T) {
	f := mustParse(t, readSyntax(t), inf.Options{})
	in, err := f.Install("Inst", inf.ArchX86)
	if err != nil {
		t.Fatal(err)
	}
	if in.Section != "Inst.NT" || len(in.CopyFiles) != 3 || in.CopyFiles[2].Name != "demo.dll" || in.CopyFiles[2].SourcePath != "demo.dll" {
		t.Errorf("%s %+v", in.Section, in.CopyFiles)
	}
	if len(in.AddReg) != 1 || in.AddReg[0].ValueName != "Default" || in.AddReg[0].Value.Str != "value" {
		t.Errorf("AddReg %+v", in.AddReg)
	}
}

func utf16le(s string) []byte {
	var out []byte
	for _, c := range utf16.Encode([]rune(s)) {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return out
}

func TestEncodings(t *testing.T) {
	text := string(readSyntax(t))
	le := append([]byte{0xff, 0xfe}, utf16le(strings.ReplaceAll(text, "\n", "\r\n"))...)
	var be []byte
	be = append(be, 0xfe, 0xff)
	for _, c := range utf16.Encode([]rune(text)) {
		be = binary.BigEndian.AppendUint16(be, c)
	}
	noBOM := utf16le(text)
	bom8 := append([]byte{0xef, 0xbb, 0xbf}, text...)
	// ANSI: the German strings in Windows-1252 (ä = 0xE4).
	ansi := bytes.ReplaceAll([]byte(text), []byte("ä"), []byte{0xe4})
	for _, c := range []struct {
		name string
		b    []byte
		enc  inf.Encoding
	}{
		{"utf16le", le, inf.EncUTF16LE}, {"utf16be", be, inf.EncUTF16BE}, {"utf16le-nobom", noBOM, inf.EncUTF16LE},
		{"utf8bom", bom8, inf.EncUTF8BOM}, {"ansi", ansi, inf.EncANSI}, {"utf8", []byte(text), inf.EncUTF8},
	} {
		f, err := inf.Parse(c.name, c.b, inf.Options{LCIDs: []uint16{0x0407}})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		sel, err := f.ModelsFor(inf.OS{Arch: inf.ArchAMD64, Major: 6, Minor: 3})
		if f.Encoding != c.enc || err != nil || sel.Models[0].Description != "Demo-Gerät" {
			t.Errorf("%s: encoding %s, %v %v", c.name, f.Encoding, sel.Models, err)
		}
	}
}

func TestRefusals(t *testing.T) {
	for _, c := range []struct {
		name string
		text string
		want error
	}{
		{"noversion", "[Strings]\na=b\n", inf.ErrNotINF},
		{"badsig", "[Version]\nSignature=\"$Linux$\"\n", inf.ErrNotINF},
		{"arch", "[Version]\nSignature=\"$Windows NT$\"\n[Manufacturer]\n%V%=M,NT$ARCH$\n", inf.ErrTemplate},
		{"inx", "[Version]\nSignature=\"$Windows NT$\"\n", inf.ErrTemplate},
		{"stampinf", "[Version]\nSignature=\"$Windows NT$\"\nDriverVer=01/01/2008,0.0.0.1 ; this line will be replaced with stampinf\n", inf.ErrTemplate},
		{"kmdf", "[Version]\nSignature=\"$Windows NT$\"\n[w]\nKmdfLibraryVersion = $KMDFVERSION$\n", inf.ErrTemplate},
		{"inxtok", "[Version]\nSignature=\"$Windows NT$\"\n[Strings]\nVENDOR = \"INX_COMPANY\"\n", inf.ErrTemplate},
		// The Xen Project / XCP-ng driver sources' own placeholders.
		{"xcpng", "[Version]\nSignature=\"$Windows NT$\"\nClass=SCSIAdapter\n[Manufacturer]\n%Vendor%=Inst,NTamd64\n[Inst.NTamd64]\n%D%=I,XENBUS\\VEN_@VENDOR_PREFIX@0001&DEV_VBD\n[Strings]\nVendor = \"@VENDOR_NAME@\"\n", inf.ErrTemplate},
		{"xcpng-ver", "[Version]\nSignature=\"$Windows NT$\"\n[CoInst_CopyFiles]\nxenvbd_coinst_@MAJOR_VERSION@_@MINOR_VERSION@.dll,xenvbd_coinst.dll\n", inf.ErrTemplate},
	} {
		name := c.name + ".inf"
		if c.name == "inx" {
			name = "x.inx"
		}
		_, err := inf.Parse(name, []byte(c.text), inf.Options{})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// An at sign in a built INF (an e-mail address, a lone @) is not a
	// placeholder.
	built := "[Version]\nSignature=\"$Windows NT$\"\n[Strings]\nMail = \"support@EXAMPLE.COM\"\nA = \"@@ @x@ @1A@\"\n"
	if _, err := inf.Parse("built.inf", []byte(built), inf.Options{}); err != nil {
		t.Errorf("built INF with at signs refused: %v", err)
	}
	big := bytes.Repeat([]byte("a"), inf.MaxFileSize+1)
	if _, err := inf.Parse("big.inf", big, inf.Options{}); !errors.Is(err, inf.ErrTooLarge) {
		t.Errorf("big: %v", err)
	}
}

func TestDriverVerParse(t *testing.T) {
	d, v, err := inf.ParseDriverVer("6-4-2014, 62.71.104.8600")
	if err != nil || d.Format("2006-01-02") != "2014-06-04" || v != [4]uint16{62, 71, 104, 8600} {
		t.Errorf("%v %v %v", d, v, err)
	}
	if _, v, err := inf.ParseDriverVer("01/02/2020"); err != nil || v != [4]uint16{} {
		t.Errorf("date only: %v %v", v, err)
	}
	for _, bad := range []string{"", "13/01/2020", "02/30/2020", "1/1/2020,1.2.3.4.5", "1/1/2020,70000", "x/1/2020"} {
		if _, _, err := inf.ParseDriverVer(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestOnlyLocalizedStrings(t *testing.T) {
	text := "[Version]\nSignature=\"$Windows NT$\"\nProvider=%P%\n[Strings.0407]\nP=\"Anbieter\"\n[Strings.0409]\nP=\"Provider\"\n"
	f, err := inf.Parse("loc.inf", []byte(text), inf.Options{LCIDs: []uint16{0x040c}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Version.Provider != "Provider" {
		t.Errorf("provider %q (%s)", f.Version.Provider, f.StringsSection)
	}
}

func TestWarningsBounded(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("[Version]\nSignature=\"$Windows NT$\"\n[X]\n")
	for i := 0; i < 1000; i++ {
		sb.WriteString("a = %undefined" + strings.Repeat("x", i%50) + "_" + string(rune('a'+i%26)) + "%\n")
	}
	f, err := inf.Parse("warn.inf", []byte(sb.String()), inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Warnings); n != 201 || f.Warnings[200] != "further warnings omitted" {
		t.Errorf("%d warnings", n)
	}
}
