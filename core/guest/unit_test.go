package guest

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
)

// memHive is an in-memory Hive for pure unit tests and fuzzing.
type memHive map[string][]Value // key path (lower case) -> values; every ancestor must be listed

func (m memHive) Subkeys(path string) ([]string, error) {
	p := strings.ToLower(path)
	if _, ok := m[p]; !ok && p != "" {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	var out []string
	for k := range m {
		parent, name := "", k
		if i := strings.LastIndex(k, `\`); i >= 0 {
			parent, name = k[:i], k[i+1:]
		}
		if parent == p && k != "" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m memHive) Values(path string) ([]Value, error) {
	v, ok := m[strings.ToLower(path)]
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	return v, nil
}

func sz(name, s string) Value {
	u := utf16.Encode([]rune(s + "\x00"))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return Value{Name: name, Type: RegSz, Data: b}
}

func dw(name string, n uint32) Value {
	return Value{Name: name, Type: RegDword, Data: binary.LittleEndian.AppendUint32(nil, n)}
}

func TestReadControlSets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      memHive
		chosen string
		warn   bool
	}{
		{"current", memHive{"select": {dw("Current", 2), dw("Default", 1)}, "controlset001": nil, "controlset002": nil}, "ControlSet002", false},
		{"current missing, default", memHive{"select": {dw("Current", 3), dw("Default", 1)}, "controlset001": nil}, "ControlSet001", true},
		{"no select", memHive{"controlset004": nil, "controlset002": nil}, "ControlSet002", true},
		{"nothing", memHive{"select": {dw("Current", 1)}}, "", true},
		{"select value of wrong type", memHive{"select": {sz("Current", "1")}, "controlset001": nil}, "ControlSet001", true},
	} {
		_, chosen, warns, err := readControlSets(tc.h)
		if err != nil || chosen != tc.chosen || (len(warns) > 0) != tc.warn {
			t.Errorf("%s: got %q %v %v", tc.name, chosen, warns, err)
		}
	}
}

func TestParseBootINI(t *testing.T) {
	ini := "[boot loader]\r\ndefault=multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS\r\n[operating systems]\r\n" +
		"multi(0)disk(0)rdisk(0)partition(1)\\WINDOWS=\"XP\" /fastdetect\r\n" +
		"multi(0)disk(0)rdisk(0)partition(1)\\windows=\"XP safe\" /safeboot\r\n" +
		"scsi(0)disk(1)rdisk(0)partition(2)\\W2K3\\=\"2003\"\r\n" +
		"C:\\CMDCONS\\BOOTSECT.DAT=\"Recovery Console\" /cmdcons\r\n" +
		"multi(0)disk(0)rdisk(0)partition(1)\\..\\etc=\"evil\"\r\n"
	got := parseBootINI([]byte(ini))
	if !slices.Equal(got, []string{"WINDOWS", "W2K3"}) {
		t.Errorf("got %q", got)
	}
}

func TestDriverFile(t *testing.T) {
	for in, want := range map[string]string{
		"":                                         "System32/drivers/svc.sys",
		`system32\DRIVERS\viostor.sys`:             "system32/DRIVERS/viostor.sys",
		`\SystemRoot\System32\drivers\x.sys`:       "System32/drivers/x.sys",
		`%SystemRoot%\system32\drivers\x.sys`:      "system32/drivers/x.sys",
		`\??\C:\Windows\system32\drivers\x.sys`:    "system32/drivers/x.sys",
		`"C:\Program Files\VMware\vmtoolsd.exe"`:   "",
		`C:\Windows\System32\svchost.exe -k x`:     "System32/svchost.exe",
		`System32\drivers\..\..\..\etc\passwd.sys`: "",
	} {
		got, ok := driverFile(in, "svc")
		if (want == "") == ok || got != want {
			t.Errorf("%q: got %q %v, want %q", in, got, ok, want)
		}
	}
}

func TestVersionMapping(t *testing.T) {
	for _, tc := range []struct {
		v      version
		id     string
		mismat bool
	}{
		{version{major: 5, minor: 0}, "", false},
		{version{major: 5, minor: 2, productName: "Microsoft Windows XP"}, "winxp", false},
		{version{major: 6, minor: 0, edition: "ServerStandard"}, "win2k8", false},
		{version{major: 6, minor: 0, productName: "Windows Vista (TM) Ultimate"}, "winvista", false},
		{version{major: 10, installType: "Client", build: 21999}, "win10", false},
		{version{major: 10, installType: "Client", build: 22000}, "win11", false},
		{version{major: 10, installType: "Server Core", build: 17763}, "win2k19", false},
		{version{major: 10, installType: "Server", build: 18363}, "win2k19", false},
		{version{major: 10, installType: "Server", build: 26100, productName: "Windows Server 2022"}, "win2k25", true},
		{version{major: 10, installType: "Server", productName: "Windows Server 2022 Datacenter"}, "win2k22", false},
		{version{major: 10, installType: "Server", build: 10586}, "win2k16", false},
		{version{major: 11, minor: 0}, "", false},
	} {
		id, mm := tc.v.osID()
		if id != tc.id || mm != tc.mismat {
			t.Errorf("%+v: got %q %v, want %q %v", tc.v, id, mm, tc.id, tc.mismat)
		}
	}
	for _, tc := range []struct {
		csd                 string
		major, minor, build int
		sp                  int
	}{
		{"Service Pack 3", 5, 1, 2600, 3}, {"Service Pack 2, v.3244", 5, 2, 3790, 2}, {"", 6, 0, 6001, 1},
		{"", 6, 0, 6003, 2}, {"", 6, 1, 7601, 1}, {"", 6, 1, 7600, 0}, {"", 10, 0, 19045, 0}, {"garbage", 6, 1, 7600, 0},
	} {
		if got := servicePack(tc.csd, tc.major, tc.minor, tc.build); got != tc.sp {
			t.Errorf("servicePack(%q, %d.%d.%d) = %d, want %d", tc.csd, tc.major, tc.minor, tc.build, got, tc.sp)
		}
	}
}

func TestValueDecoding(t *testing.T) {
	if s, err := sz("a", "héllo").String(); err != nil || s != "héllo" {
		t.Errorf("REG_SZ: %q %v", s, err)
	}
	if _, err := dw("a", 1).String(); err == nil {
		t.Error("a DWORD read as a string")
	}
	if n, err := (Value{Type: RegQword, Data: []byte{1, 0, 0, 0, 0, 0, 0, 1}}).Uint(); err != nil || n != 1<<56|1 {
		t.Errorf("REG_QWORD: %x %v", n, err)
	}
	if _, err := (Value{Type: RegDword, Data: []byte{1, 2}}).Uint(); err == nil {
		t.Error("a 2-byte DWORD decoded")
	}
	m := Value{Type: RegMultiSz, Data: sz("", "a\x00bc\x00\x00").Data}
	if ss, err := m.Strings(); err != nil || !slices.Equal(ss, []string{"a", "bc"}) {
		t.Errorf("REG_MULTI_SZ: %q %v", ss, err)
	}
}

func TestClassifyProduct(t *testing.T) {
	for _, tc := range []struct{ name, ver, family, set string }{
		{"Oracle VM Windows PV Drivers", "3.2.3", "xen", "oracle-pv-3.2.3"},
		{"Oracle VM Paravirtual Drivers for Microsoft Windows 3.0.1", "", "xen", "oracle-pv-3.0.1"},
		{"XCP-ng Windows PV Tools", "8.2.2.200", "xen", ""},
		{"Citrix XenServer Windows Management Agent", "7.1", "xen", ""},
		{"Virtio-win-driver-installer", "0.1.240", "virtio", ""},
		{"VMware Tools", "12.1", "vmware", ""},
	} {
		p, ok := classifyProduct(tc.name, tc.ver)
		if !ok || p.Family != tc.family || p.Set != tc.set {
			t.Errorf("%q: got %+v %v", tc.name, p, ok)
		}
	}
	if _, ok := classifyProduct("Mozilla Firefox", "1"); ok {
		t.Error("Firefox classified as a PV product")
	}
}

func FuzzParseBootINI(f *testing.F) {
	f.Add([]byte("[operating systems]\r\nmulti(0)disk(0)rdisk(0)partition(1)\\WINDOWS=\"XP\"\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range parseBootINI(b) {
			if !fs.ValidPath(p) {
				t.Fatalf("invalid path %q", p)
			}
		}
	})
}

// FuzzReadVersion feeds arbitrary value types and data to the version
// decoder and the OS mapping.
func FuzzReadVersion(f *testing.F) {
	f.Add(uint32(RegSz), sz("", "6.3").Data, uint32(RegDword), []byte{10, 0, 0, 0}, sz("", "22631").Data, sz("", "Service Pack 1").Data)
	f.Add(uint32(RegBinary), []byte{0xff}, uint32(RegQword), []byte{1}, []byte{}, []byte{0, 0xd8})
	f.Fuzz(func(t *testing.T, t1 uint32, cv []byte, t2 uint32, major, build, csd []byte) {
		k := key{
			"currentversion":            {Name: "CurrentVersion", Type: t1, Data: cv},
			"currentmajorversionnumber": {Name: "CurrentMajorVersionNumber", Type: t2, Data: major},
			"currentminorversionnumber": {Name: "CurrentMinorVersionNumber", Type: t2, Data: major},
			"currentbuildnumber":        {Name: "CurrentBuildNumber", Type: RegSz, Data: build},
			"csdversion":                {Name: "CSDVersion", Type: t1, Data: csd},
			"installationtype":          {Name: "InstallationType", Type: RegSz, Data: csd},
		}
		v := readVersion(k)
		id, _ := v.osID()
		if id != "" && virtioDirs[id] == "" {
			t.Fatalf("os id %q has no virtio dir", id)
		}
		_, _ = (Value{Type: t1, Data: cv}).Strings()
	})
}
