package netid

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// hiveFile returns a hive's path on disk, decompressing corpus hives into
// the test's temporary folder (never into the repository).
func hiveFile(t *testing.T, rel string) string {
	t.Helper()
	p := testenv.CorpusFile(t, rel)
	dst := filepath.Join(t.TempDir(), "SYSTEM")
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	switch {
	case strings.HasSuffix(rel, ".xz"):
		testenv.RequireTool(t, "xz")
		cmd := exec.Command("xz", "-dc", p)
		cmd.Stdout = out
		if err := cmd.Run(); err != nil {
			t.Fatalf("xz -dc %s: %v", p, err)
		}
	case strings.HasSuffix(rel, ".gz"):
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, z); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func readFile(t *testing.T, path, cs string) Identity {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := hive.OpenReadOnly("SYSTEM", b)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	id, err := Read(h, cs)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// hivexget reads one value with libhivex's hivexget; REG_MULTI_SZ comes
// back one string per line.
func hivexget(t *testing.T, file, key, name string) []string {
	t.Helper()
	out, err := exec.Command("hivexget", file, key, name).Output()
	if err != nil {
		t.Fatalf("hivexget %s %s %s: %v", file, key, name, err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// checkAgainstHivex compares what Read found for one adapter with what
// hivexget reads from the same keys.
func checkAgainstHivex(t *testing.T, file, cs string, a Adapter) {
	t.Helper()
	class := cs + `\` + classKey + `\` + a.ClassKey
	for name, got := range map[string]string{"DriverDesc": a.Description, "NetCfgInstanceId": a.ID, "MatchingDeviceId": a.PnPID, "ComponentId": a.ComponentID} {
		if want := strings.Join(hivexget(t, file, class, name), ""); got != want {
			t.Errorf("%s %s = %q, hivexget says %q", a.ClassKey, name, got, want)
		}
	}
	conn := cs + `\` + networkKey + `\` + a.ID + `\Connection`
	if want := strings.Join(hivexget(t, file, conn, "Name"), ""); a.Connection != want {
		t.Errorf("%s connection %q, hivexget says %q", a.ClassKey, a.Connection, want)
	}
	tcp := cs + `\` + TcpipIfKey + `\` + a.ID
	if dhcp := hivexget(t, file, tcp, "EnableDHCP"); a.DHCP != (dhcp[0] != "0") {
		t.Errorf("%s DHCP %v, hivexget EnableDHCP %v", a.ClassKey, a.DHCP, dhcp)
	}
	if a.DHCP {
		return
	}
	var ips, masks []string
	for _, ad := range a.IPv4 {
		ips, masks = append(ips, ad.Address), append(masks, ad.Mask)
	}
	if want := hivexget(t, file, tcp, "IPAddress"); !slices.Equal(ips, want) {
		t.Errorf("%s IPv4 %v, hivexget IPAddress %v", a.ClassKey, ips, want)
	}
	if want := hivexget(t, file, tcp, "SubnetMask"); !slices.Equal(masks, want) {
		t.Errorf("%s masks %v, hivexget SubnetMask %v", a.ClassKey, masks, want)
	}
	var gws []string
	for _, g := range a.Gateways {
		gws = append(gws, g.Address)
	}
	if want := hivexget(t, file, tcp, "DefaultGateway"); !slices.Equal(gws, want) {
		t.Errorf("%s gateways %v, hivexget DefaultGateway %v", a.ClassKey, gws, want)
	}
	if want := strings.Join(hivexget(t, file, tcp, "NameServer"), ""); strings.Join(a.DNS, ",") != strings.ReplaceAll(want, " ", ",") {
		t.Errorf("%s DNS %v, hivexget NameServer %q", a.ClassKey, a.DNS, want)
	}
}

type want struct {
	class, desc, id, conn string
	dhcp, static, ghost   bool
	ipv4                  []string // ADDR/LEN
	gws                   []Gateway
	dns                   []string
	nsi                   []string
}

func checkAdapters(t *testing.T, file, cs string, id Identity, wants []want) {
	t.Helper()
	if id.ControlSet != cs {
		t.Errorf("control set %s, want %s", id.ControlSet, cs)
	}
	if len(id.Adapters) != len(wants) {
		t.Fatalf("%d adapters, want %d: %+v", len(id.Adapters), len(wants), id.Adapters)
	}
	for i, w := range wants {
		a := id.Adapters[i]
		var v4, nsi []string
		for _, ad := range a.IPv4 {
			v4 = append(v4, ad.String())
		}
		for _, n := range a.NSIValues {
			nsi = append(nsi, n.Name)
		}
		if a.ClassKey != w.class || a.Description != w.desc || !strings.EqualFold(a.ID, w.id) || a.Connection != w.conn ||
			a.DHCP != w.dhcp || a.Static != w.static || a.Ghost != w.ghost || !slices.Equal(v4, w.ipv4) ||
			!slices.Equal(a.Gateways, w.gws) && len(w.gws)+len(a.Gateways) > 0 || !slices.Equal(a.DNS, w.dns) && len(w.dns)+len(a.DNS) > 0 ||
			!slices.Equal(nsi, w.nsi) {
			t.Errorf("adapter %d = %+v\nwant %+v", i, a, w)
		}
		if _, err := exec.LookPath("hivexget"); err == nil {
			checkAgainstHivex(t, file, cs, a)
		}
	}
}

// The real hives hold (read with hivexregedit --export): Windows 7 SP1 two
// static Intel PRO/1000 MT adapters, both with a device present; Windows 10
// one DHCP Intel 82574L. Virtual adapters (WAN miniports, kernel debug,
// Bluetooth PAN) are all DHCP and left out.
func TestCorpusHives(t *testing.T) {
	testenv.RequireTool(t, "hivexget")
	t.Run("win7sp1", func(t *testing.T) {
		f := hiveFile(t, "hives/regipy_SYSTEM_win7sp1_x86.xz")
		checkAdapters(t, f, "ControlSet001", readFile(t, f, "ControlSet001"), []want{
			{class: "0007", desc: "Intel(R) PRO/1000 MT Network Connection", id: "{6AAFC9A9-0542-4DB2-8760-CCFFA953737C}",
				conn: "Local Area Connection", static: true, ipv4: []string{"192.168.1.123/24"},
				gws: []Gateway{{"192.168.1.1", 0}}, dns: []string{"192.168.1.112"}, nsi: []string{"0000000600000600c0a8017b00000000"}},
			{class: "0012", desc: "Intel(R) PRO/1000 MT Network Connection", id: "{698E50A9-4F58-4D86-B61D-F42E58DCACF6}",
				conn: "Local Area Connection 2", static: true, ipv4: []string{"10.3.58.5/24"},
				gws: []Gateway{{"10.3.58.1", 0}}, dns: []string{"10.3.58.4"}, nsi: []string{"00000007000006000a033a0500000000"}},
		})
	})
	t.Run("win10-19041", func(t *testing.T) {
		f := hiveFile(t, "hives/dissect_SYSTEM_win10_19041_x64.gz")
		id := readFile(t, f, "ControlSet001")
		checkAdapters(t, f, "ControlSet001", id, []want{
			{class: "0001", desc: "Intel(R) 82574L Gigabit Network Connection", id: "{C43669B3-AB3E-4D0E-8FDE-69579925A20F}",
				conn: "Ethernet0", dhcp: true},
		})
		if a := id.Adapters[0]; a.PnPID != `PCI\VEN_8086&DEV_10D3` || a.Service != "e1i65x64" ||
			a.Instance != `PCI\VEN_8086&DEV_10D3&SUBSYS_07D015AD&REV_00\000C29FFFF661AA200` {
			t.Errorf("device of the 82574L: %+v", a)
		}
	})
}

func TestFixtureHives(t *testing.T) {
	testenv.RequireTool(t, "hivexget")
	dir := testenv.Fixture(t, "netid")
	const e1000 = "Intel(R) PRO/1000 MT Network Connection"
	for _, tc := range []struct {
		name, cs string
		wants    []want
		check    func(t *testing.T, id Identity)
	}{
		{"one-static", "ControlSet002", []want{{class: "0007", desc: e1000, id: "{11111111-2222-3333-4444-555555555555}",
			conn: "Ethernet0", static: true, ipv4: []string{"192.168.10.20/24"}, gws: []Gateway{{"192.168.10.1", 0}},
			dns: []string{"192.168.10.2", "192.168.10.3"}}},
			func(t *testing.T, id Identity) {
				// Select\Current names ControlSet002, the set read above;
				// ControlSet001 holds a decoy address that must not be used.
				f := filepath.Join(dir, "one-static.hive")
				if cur := hivexget(t, f, "Select", "Current"); len(cur) != 1 || cur[0] != "2" {
					t.Fatalf("hivexget Select Current = %v", cur)
				}
				if other := readFile(t, f, "ControlSet001"); other.Adapters[0].IPv4[0].Address != "10.9.9.9" {
					t.Errorf("decoy control set: %+v", other.Adapters)
				}
				a := id.Adapters[0]
				if a.Domain != "corp.example" || !a.RegisterAdapterName || a.PnPID != `pci\ven_8086&dev_100f` || a.Service != "e1g60" {
					t.Errorf("domain/register/pnp/service: %+v", a)
				}
			}},
		{"two-nics", "ControlSet001", []want{
			{class: "0001", desc: e1000, id: "{22222222-0000-0000-0000-000000000001}", conn: "LAN", static: true,
				ipv4: []string{"10.0.0.5/8"}, gws: []Gateway{{"10.0.0.1", 5}}, dns: []string{"10.0.0.53"}},
			{class: "0002", desc: e1000 + " #2", id: "{22222222-0000-0000-0000-000000000002}", conn: "Backup", dhcp: true},
		}, nil},
		{"multi-addr", "ControlSet001", []want{{class: "0000", desc: "vmxnet3 Ethernet Adapter", id: "{33333333-0000-0000-0000-000000000001}",
			conn: "Ethernet0", static: true, ipv4: []string{"172.16.1.10/16", "172.16.1.11/16", "192.168.50.10/24"},
			gws: []Gateway{{"172.16.0.1", 10}, {"172.16.0.2", 20}}, dns: []string{"172.16.0.53", "172.16.0.54"}}}, nil},
		{"ipv6", "ControlSet001", []want{{class: "0003", desc: "Red Hat VirtIO Ethernet Adapter", id: "{44444444-0000-0000-0000-000000000001}",
			conn: "Ethernet", dhcp: true, static: true, nsi: []string{"000000050000060020010db800010000000000000000001000000000"}}},
			func(t *testing.T, id Identity) {
				a := id.Adapters[0]
				if len(a.IPv6) != 1 || a.IPv6[0].String() != "2001:db8:1::10/64" || !slices.Equal(a.DNS6, []string{"2001:db8:1::53"}) {
					t.Errorf("IPv6 %v DNS6 %v, want [2001:db8:1::10/64] [2001:db8:1::53]", a.IPv6, a.DNS6)
				}
			}},
		{"ghost", "ControlSet001", []want{
			{class: "0000", desc: "vmxnet3 Ethernet Adapter", id: "{55555555-0000-0000-0000-000000000001}", conn: "Ethernet0",
				static: true, ghost: true, ipv4: []string{"192.168.1.50/24"}, gws: []Gateway{{"192.168.1.1", 0}},
				dns: []string{"192.168.1.1"}, nsi: []string{"0000000300000600c0a8013200000000"}},
			{class: "0001", desc: e1000, id: "{55555555-0000-0000-0000-000000000002}", conn: "Ethernet1", static: true,
				ipv4: []string{"192.168.1.50/24"}, gws: []Gateway{{"192.168.1.1", 0}}, dns: []string{"192.168.1.1"}},
			{class: "0002", desc: e1000 + " #2", id: "{55555555-0000-0000-0000-000000000003}", conn: "Ethernet2", dhcp: true, ghost: true},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(dir, tc.name+".hive")
			id := readFile(t, f, tc.cs)
			checkAdapters(t, f, tc.cs, id, tc.wants)
			if tc.check != nil {
				tc.check(t, id)
			}
		})
	}
}

func TestLUIDHexAndMasks(t *testing.T) {
	// The Windows 7 hive names 192.168.1.123 of NetLuidIndex 6 this way.
	if got := LUIDHex(6, 6); got != "0000000600000600" {
		t.Errorf("LUIDHex(6, 6) = %s", got)
	}
	for bits, m := range map[int]string{0: "0.0.0.0", 8: "255.0.0.0", 24: "255.255.255.0", 27: "255.255.255.224", 32: "255.255.255.255"} {
		if MaskOf(bits) != m || MaskBits(m) != bits {
			t.Errorf("mask %d: %s / %d", bits, MaskOf(bits), MaskBits(m))
		}
	}
}
