package inject

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// netPlanner is a planner over one of the netid fixture hives (made by
// hivexregedit, scripts/fixtures/netid.sh) with a virtio NIC package chosen.
func netPlanner(t *testing.T, hiveName, cs string, req Request) *planner {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.Fixture(t, "netid"), hiveName+".hive"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := hive.OpenReadOnly("SYSTEM", b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	net := drivers.Choice{Package: &drivers.Package{Name: "netkvm", Class: "Net",
		HardwareIDs: []string{`PCI\VEN_1AF4&DEV_1000&SUBSYS_00011AF4&REV_00`}}}
	return &planner{p: &Plan{Request: req}, hives: map[string]*hive.Hive{HiveSystem: h},
		w: guest.Windows{ControlSet: cs}, chosen: []drivers.Choice{net}}
}

func ghostIDs(ni firstboot.NetIdentity) []string {
	var out []string
	for _, g := range ni.Ghosts {
		out = append(out, g.ID)
	}
	return out
}

func TestNetworkIdentityPlan(t *testing.T) {
	t.Run("one static adapter, auto: carried with its old settings, cleared first", func(t *testing.T) {
		pl := netPlanner(t, "one-static", "ControlSet002", Request{})
		ids := pl.networkIdentity()
		if len(ids) != 1 {
			t.Fatalf("identities %+v", ids)
		}
		ni := ids[0]
		if ni.Name != "Ethernet0" || ni.Order != 1 || ni.MAC != "" || !slices.Equal(ni.IPv4, []firstboot.IPv4{{Address: "192.168.10.20", Mask: "255.255.255.0"}}) ||
			ni.Gateway != "192.168.10.1" || !slices.Equal(ni.DNS, []string{"192.168.10.2", "192.168.10.3"}) ||
			ni.Domain != "corp.example" || ni.RegisterAdapterName != 1 ||
			!slices.Equal(ghostIDs(ni), []string{"{11111111-2222-3333-4444-555555555555}"}) {
			t.Errorf("identity %+v", ni)
		}
		n := pl.p.Network
		if n.KeepIP != "auto" || len(n.Adapters) != 1 || len(n.Carry) != 1 {
			t.Fatalf("network %+v", n)
		}
		steps := strings.Join(networkSteps(pl.p), "\n")
		for _, want := range []string{`"Ethernet0" (Intel(R) PRO/1000 MT Network Connection)`, "IPv4 192.168.10.20/24; gateway 192.168.10.1; DNS 192.168.10.2, 192.168.10.3",
			"new network adapter number 1", `renamed "Ethernet0"`, "The old adapter's static settings are removed first", `To undo: in the guest: netsh interface ip set address name="Ethernet0" source=dhcp`} {
			if !strings.Contains(steps, want) {
				t.Errorf("report lacks %q:\n%s", want, steps)
			}
		}
		cfg := firstboot.Config{NetIdentities: ids, NICMatch: pl.nicMatch()}
		script, err := firstboot.Script(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(script, `netsh interface ip set address name="%NN%" source=static addr=192.168.10.20 mask=255.255.255.0 gateway=192.168.10.1`) {
			t.Errorf("runner does not set the address:\n%s", script)
		}
	})

	t.Run("keep-ip off: adapters listed, nothing carried", func(t *testing.T) {
		pl := netPlanner(t, "one-static", "ControlSet002", Request{KeepIP: "off"})
		if ids := pl.networkIdentity(); len(ids) != 0 {
			t.Errorf("identities %+v with keep-ip off", ids)
		}
		if len(pl.p.Network.Adapters) != 1 || len(pl.p.Network.Carry) != 0 {
			t.Errorf("network %+v", pl.p.Network)
		}
		if steps := networkSteps(pl.p); len(steps) != 1 || !strings.Contains(steps[0], `The static settings of "Ethernet0"`) || !strings.Contains(steps[0], "are not carried over") {
			t.Errorf("report: %q", steps)
		}
	})

	t.Run("two adapters: only the static one", func(t *testing.T) {
		pl := netPlanner(t, "two-nics", "ControlSet001", Request{})
		ids := pl.networkIdentity()
		if len(ids) != 1 || ids[0].Name != "LAN" || ids[0].GatewayMetric != 5 {
			t.Errorf("identities %+v", ids)
		}
		script, err := firstboot.Script(firstboot.Config{NetIdentities: ids, NICMatch: pl.nicMatch()})
		if err != nil || !strings.Contains(script, `addr=10.0.0.5 mask=255.0.0.0 gateway=10.0.0.1 gwmetric=5`) {
			t.Errorf("metric 5 not passed to netsh (%v)", err)
		}
		if steps := strings.Join(networkSteps(pl.p), "\n"); !strings.Contains(steps, `The adapter "Backup" (Intel(R) PRO/1000 MT Network Connection #2) used DHCP: nothing to carry over`) {
			t.Errorf("report does not mention the DHCP adapter:\n%s", steps)
		}
	})

	t.Run("ghost of an earlier migration holding the address is cleared too, not carried", func(t *testing.T) {
		ids := netPlanner(t, "ghost", "ControlSet001", Request{}).networkIdentity()
		if len(ids) != 1 || ids[0].Name != "Ethernet1" {
			t.Fatalf("identities %+v", ids)
		}
		want := []string{"{55555555-0000-0000-0000-000000000002}", "{55555555-0000-0000-0000-000000000001}"}
		if got := ghostIDs(ids[0]); !slices.Equal(got, want) {
			t.Errorf("ghosts %v, want %v", got, want)
		}
		if nsi := ids[0].Ghosts[1].NSI; len(nsi) != 1 || nsi[0][1] != "0000000300000600c0a8013200000000" {
			t.Errorf("old NSI values %v", nsi)
		}
	})

	t.Run("--ip with the new adapter's MAC and the old address picks that adapter", func(t *testing.T) {
		ids := netPlanner(t, "two-nics", "ControlSet001", Request{IPs: []string{"52:54:00:aa:bb:cc:10.0.0.5/8,10.0.0.1,10.0.0.53"}}).networkIdentity()
		if len(ids) != 1 || ids[0].MAC != "52-54-00-AA-BB-CC" || ids[0].Name != "LAN" {
			t.Errorf("identities %+v", ids)
		}
	})

	t.Run("--ip by connection name replaces, a second one adds an address", func(t *testing.T) {
		pl := netPlanner(t, "two-nics", "ControlSet001", Request{IPs: []string{"LAN:10.0.0.9/24,10.0.0.254", "lan:10.0.0.10/24"}})
		ids := pl.networkIdentity()
		if len(ids) != 1 || !slices.Equal(ids[0].IPv4, []firstboot.IPv4{{Address: "10.0.0.9", Mask: "255.255.255.0"}, {Address: "10.0.0.10", Mask: "255.255.255.0"}}) ||
			ids[0].Gateway != "10.0.0.254" {
			t.Errorf("identities %+v", ids)
		}
		if c := pl.p.Network.Carry[0]; c.Old != "IPv4 10.0.0.5/8; gateway 10.0.0.1; DNS 10.0.0.53" {
			t.Errorf("old settings %q", c.Old)
		}
	})

	t.Run("--ip for a name the guest never had, with keep-ip off", func(t *testing.T) {
		pl := netPlanner(t, "two-nics", "ControlSet001", Request{KeepIP: "off", IPs: []string{"Uplink:2001:db8::7/64"}})
		ids := pl.networkIdentity()
		if len(ids) != 1 || ids[0].Name != "Uplink" || !slices.Equal(ids[0].IPv6, []string{"2001:db8::7/64"}) || len(ids[0].Ghosts) != 0 {
			t.Errorf("identities %+v", ids)
		}
		if steps := strings.Join(networkSteps(pl.p), "\n"); strings.Contains(steps, "removed first") || !strings.Contains(steps, "Settings you gave are applied") {
			t.Errorf("report claims an old adapter is cleared, or misses the settings:\n%s", steps)
		}
	})

	t.Run("real Windows 7 hive: two static adapters go by install order, and the plan says so", func(t *testing.T) {
		pl := netPlanner(t, "one-static", "ControlSet002", Request{})
		pl.hives[HiveSystem] = corpusSystem(t)
		pl.w.ControlSet = "ControlSet001"
		ids := pl.networkIdentity()
		if len(ids) != 2 || ids[0].Name != "Local Area Connection" || ids[1].Name != "Local Area Connection 2" || ids[1].Order != 2 {
			t.Fatalf("identities %+v", ids)
		}
		if notes := strings.Join(pl.p.Network.Notes, " "); !strings.Contains(notes, "in the order Windows installs them") {
			t.Errorf("notes %q", notes)
		}
	})

	t.Run("no network driver: a warning, nothing carried", func(t *testing.T) {
		pl := netPlanner(t, "one-static", "ControlSet002", Request{})
		pl.chosen = nil
		if ids := pl.networkIdentity(); len(ids) != 0 || len(pl.p.Warnings) != 1 || pl.p.Warnings[0].Code != "inject.netid-no-nic" {
			t.Errorf("identities %+v warnings %+v", ids, pl.p.Warnings)
		}
	})
}

func TestIPSpecs(t *testing.T) {
	for _, bad := range []string{"10.0.0.5/24", "LAN:10.0.0.5", "LAN:10.0.0.5/24,gateway", "52:54:00:aa:bb:cc:nope/3", `A&B:10.0.0.5/24`} {
		err := validateNetRequest(&Request{IPs: []string{bad}})
		if !errors.Is(err, ErrRequest) {
			t.Errorf("--ip %q accepted (%v)", bad, err)
		}
	}
	if err := validateNetRequest(&Request{KeepIP: "maybe"}); !errors.Is(err, ErrRequest) {
		t.Errorf("--keep-ip maybe accepted (%v)", err)
	}
	sp, err := ParseIPSpec("52-54-00-AA-BB-CC:192.168.1.5/24,192.168.1.1,192.168.1.2,192.168.1.3")
	if err != nil || sp.MAC != "52-54-00-AA-BB-CC" || sp.Addr.String() != "192.168.1.5/24" || sp.Gateway != "192.168.1.1" ||
		!slices.Equal(sp.DNS, []string{"192.168.1.2", "192.168.1.3"}) {
		t.Errorf("%+v %v", sp, err)
	}
}

// corpusSystem opens the real Windows 7 SP1 SYSTEM hive of the corpus,
// decompressed in memory.
func corpusSystem(t *testing.T) *hive.Hive {
	t.Helper()
	testenv.RequireTool(t, "xz")
	out, err := exec.Command("xz", "-dc", testenv.CorpusFile(t, "hives/regipy_SYSTEM_win7sp1_x86.xz")).Output()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hive.OpenReadOnly("SYSTEM", out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}
