package firstboot

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf16"
)

const (
	oldGUID  = "{55555555-0000-0000-0000-000000000001}"
	newGUID  = "{66666666-0000-0000-0000-000000000001}"
	new2GUID = "{66666666-0000-0000-0000-000000000002}"
	classKey = `HKLM\SYSTEM\CurrentControlSet\Control\Class\{4d36e972-e325-11ce-bfc1-08002be10318}`
	nsi4Key  = `Control\Nsi\{eb004a00-9b1a-11d4-9123-0050047759bc}\10`
	nsi4Name = "0000000300000600c0a8013200000000"
)

func netConfig() Config {
	c := testConfig()
	c.JumboPacket, c.WriteCache = 0, CacheKeep
	c.NetIdentities = []NetIdentity{{
		Name: "Ethernet0", Order: 1,
		IPv4:    []IPv4{{"192.168.10.20", "255.255.255.0"}, {"192.168.10.21", "255.255.255.0"}},
		Gateway: "192.168.10.1", DNS: []string{"192.168.10.2", "192.168.10.3"},
		Domain: "corp.example", RegisterAdapterName: 1,
		IPv6: []string{"2001:db8:1::10/64"}, DNS6: []string{"2001:db8:1::53"},
		Ghosts: []Ghost{{ID: oldGUID, Name: "Ethernet0", NSI: [][2]string{{nsi4Key, nsi4Name}}}},
	}}
	return c
}

// stageNet adds to the staged guest what Windows has once the new virtio
// adapter is installed: its NetCfgInstanceId and connection ("Ethernet 2"),
// and the old vmxnet3 adapter (another PnP id) with its static settings.
func (w *winePrefix) stageNet(c Config, getmac string) {
	w.t.Helper()
	w.stage(c, "")
	for _, f := range []string{"netsh-calls.txt", "netsh-catalog.txt", "getmac-calls.txt"} {
		os.Remove(w.file(f))
	}
	if err := os.WriteFile(w.file("getmac.txt"), []byte(getmac), 0o644); err != nil {
		w.t.Fatal(err)
	}
	// One reg import instead of a dozen reg calls: each wine start costs a second.
	hk := func(k string) string { return strings.Replace(k, "HKLM", "HKEY_LOCAL_MACHINE", 1) }
	tk := hk(tcpipIfKey + `\` + oldGUID)
	reg := strings.Join([]string{"Windows Registry Editor Version 5.00", "",
		"[-" + hk(classKey) + `\0009]`, "[-" + tk + "]", "",
		"[" + hk(nicKey) + "]", `"NetCfgInstanceId"="` + newGUID + `"`, "",
		"[" + hk(netConnKey) + `\` + newGUID + `\Connection]`, `"Name"="Ethernet 2"`, "",
		"[" + hk(classKey) + `\0003]`, `"MatchingDeviceId"="pci\\ven_15ad&dev_07b0"`, `"NetCfgInstanceId"="` + oldGUID + `"`, "",
		"[" + hk(netConnKey) + `\` + oldGUID + `\Connection]`, `"Name"="Ethernet0"`, "",
		"[" + tk + "]", `"EnableDHCP"=dword:00000000`,
		`"IPAddress"=` + multiSZ("192.168.10.20", "192.168.10.21"),
		`"SubnetMask"=` + multiSZ("255.255.255.0", "255.255.255.0"),
		`"DefaultGateway"=` + multiSZ("192.168.10.1"),
		`"NameServer"="192.168.10.2,192.168.10.3"`, "",
		`[HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\` + nsi4Key + "]", `"` + nsi4Name + `"=hex:ff,ff,ff,ff`, "", ""}, "\r\n")
	if err := os.WriteFile(w.file("net.reg"), []byte(reg), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.mustReg("import", `C:\net.reg`)
}

// multiSZ is REG_MULTI_SZ in .reg syntax: UTF-16LE strings, each NUL-ended, then a NUL.
func multiSZ(ss ...string) string {
	var hex []string
	for _, s := range ss {
		for _, u := range utf16.Encode([]rune(s + "\x00")) {
			hex = append(hex, fmt.Sprintf("%02x", u&0xff), fmt.Sprintf("%02x", u>>8))
		}
	}
	return "hex(7):" + strings.Join(append(hex, "00", "00"), ",")
}

func (w *winePrefix) netshCalls() []string {
	var out []string
	for _, l := range strings.Split(strings.ReplaceAll(w.read("netsh-calls.txt"), "\r", ""), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (w *winePrefix) exists(key, name string) bool {
	_, code := w.reg("query", key, "/v", name)
	return code == 0
}

// runNetIdentity runs the network identity scenarios in TestRunnerUnderWine's
// prefix: a second Wine prefix would cost the suite half a minute more.
func runNetIdentity(t *testing.T, w *winePrefix) {
	log := func() string { return w.read("windows/pvinject/firstboot.log") }

	t.Run("found by PnP id: old settings cleared first, then netsh in order, then renamed", func(t *testing.T) {
		w.stageNet(netConfig(), "")
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d; log:\n%s", code, log())
		}
		// The stand-in sees argv as the C runtime splits it: quotes removed.
		want := []string{
			"interface ip set address name=Ethernet 2 source=static addr=192.168.10.20 mask=255.255.255.0 gateway=192.168.10.1",
			"interface ip add address name=Ethernet 2 addr=192.168.10.21 mask=255.255.255.0",
			"interface ip set dns name=Ethernet 2 source=static addr=192.168.10.2 register=primary",
			"interface ip add dns name=Ethernet 2 addr=192.168.10.3 index=2",
			"interface ipv6 add address interface=Ethernet 2 address=2001:db8:1::10/64",
			"interface ipv6 add dnsserver interface=Ethernet 2 address=2001:db8:1::53 index=1",
			"interface set interface name=Ethernet 2 newname=Ethernet0",
		}
		if got := w.netshCalls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("netsh calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		tk := tcpipIfKey + `\` + oldGUID
		for _, v := range []string{"IPAddress", "SubnetMask", "DefaultGateway", "NameServer"} {
			if w.exists(tk, v) {
				t.Errorf("old adapter still has %s", v)
			}
		}
		if got := w.value(tk, "EnableDHCP"); got != "0x1" {
			t.Errorf("old adapter EnableDHCP = %q, want 0x1", got)
		}
		if w.exists(`HKLM\SYSTEM\CurrentControlSet\`+nsi4Key, nsi4Name) {
			t.Error("old adapter's persistent address is still in the NSI store")
		}
		out, _ := w.reg("query", netConnKey+`\`+oldGUID+`\Connection`, "/v", "Name")
		if !strings.Contains(out, "Ethernet0"+GhostSuffix) {
			t.Errorf("old connection not renamed:\n%s", out)
		}
		if got := w.value(tcpipIfKey+`\`+newGUID, "Domain"); got != "corp.example" {
			t.Errorf("new adapter Domain = %q", got)
		}
		if got := w.value(tcpipIfKey+`\`+newGUID, "RegisterAdapterName"); got != "0x1" {
			t.Errorf("new adapter RegisterAdapterName = %q", got)
		}
		l := log()
		found := strings.Index(l, "new adapter "+newGUID+" found by its PnP id")
		cleared := strings.Index(l, "static settings removed from the old adapter "+oldGUID)
		applied := strings.Index(l, "set address 192.168.10.20: netsh exited with 0")
		if found < 0 || cleared < found || applied < cleared {
			t.Errorf("log does not show find, clear, apply in that order (%d %d %d):\n%s", found, cleared, applied, l)
		}
		if w.serviceExists() {
			t.Error("service not removed")
		}
	})

	t.Run("found by MAC among two new adapters", func(t *testing.T) {
		c := netConfig()
		c.NetIdentities[0].MAC = "52-54-00-AA-BB-02"
		c.NetIdentities[0].IPv6, c.NetIdentities[0].DNS6, c.NetIdentities[0].DNS = nil, nil, nil
		c.NetIdentities[0].IPv4 = c.NetIdentities[0].IPv4[:1]
		w.stageNet(c, "\"52-54-00-AA-BB-01\",\"\\Device\\Tcpip_"+newGUID+"\"\r\n\"52-54-00-AA-BB-02\",\"\\Device\\Tcpip_"+new2GUID+"\"\r\n")
		w.mustReg("add", classKey+`\0009`, "/v", "MatchingDeviceId", "/t", "REG_SZ", "/d", `pci\ven_1af4&dev_1041&subsys_11001af4`, "/f")
		w.mustReg("add", classKey+`\0009`, "/v", "NetCfgInstanceId", "/t", "REG_SZ", "/d", new2GUID, "/f")
		w.mustReg("add", netConnKey+`\`+new2GUID+`\Connection`, "/v", "Name", "/t", "REG_SZ", "/d", "Ethernet 3", "/f")
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d; log:\n%s", code, log())
		}
		want := []string{
			"interface ip set address name=Ethernet 3 source=static addr=192.168.10.20 mask=255.255.255.0 gateway=192.168.10.1",
			"interface set interface name=Ethernet 3 newname=Ethernet0",
		}
		if got := w.netshCalls(); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("netsh calls:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if !strings.Contains(log(), "new adapter "+new2GUID+" found by its MAC 52-54-00-AA-BB-02") {
			t.Errorf("log:\n%s", log())
		}
	})

	t.Run("no new adapter appears: bounded retries, nothing applied", func(t *testing.T) {
		c := netConfig()
		c.MaxBoots, c.PnPWaitSeconds = 2, 5
		w.stageNet(c, "")
		w.mustReg("delete", nicKey, "/f")
		for boot := 1; boot <= 2; boot++ {
			if code := w.boot(); code == 0 {
				t.Fatalf("boot %d succeeded although no adapter appeared; log:\n%s", boot, log())
			}
		}
		if code := w.boot(); code != 0 {
			t.Fatalf("boot 3 exit %d, want 0 (gave up)", code)
		}
		if calls := w.netshCalls(); len(calls) != 0 {
			t.Errorf("netsh called although no adapter appeared: %q", calls)
		}
		if !w.exists(tcpipIfKey+`\`+oldGUID, "IPAddress") {
			t.Error("old adapter's address removed although nothing was applied")
		}
		l := log()
		if n := strings.Count(l, "0 new network adapter(s) appeared within 5 s, 1 needed"); n != 2 {
			t.Errorf("%d waits logged, want 2:\n%s", n, l)
		}
		if !strings.Contains(l, "GIVING UP") || w.serviceExists() {
			t.Errorf("runner did not give up and remove itself:\n%s", l)
		}
	})

	t.Run("turned off: no network step, old settings untouched", func(t *testing.T) {
		c := netConfig()
		c.NetIdentities = nil
		w.stageNet(c, "")
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d; log:\n%s", code, log())
		}
		if calls := w.netshCalls(); len(calls) != 0 {
			t.Errorf("netsh called: %q", calls)
		}
		if !w.exists(tcpipIfKey+`\`+oldGUID, "IPAddress") || !w.exists(`HKLM\SYSTEM\CurrentControlSet\`+nsi4Key, nsi4Name) {
			t.Error("old adapter's settings changed although the step was off")
		}
		if strings.Contains(log(), "network identity") {
			t.Errorf("log mentions the network step:\n%s", log())
		}
	})
}
