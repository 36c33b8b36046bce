package wizard_test

import (
	. "github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/wizardtest"
	"slices"
	"strings"
	"testing"
)

func TestNetworkOnOptionsAndInReport(t *testing.T) {
	r := newRun(t)
	r.to(StepOptions)
	st := r.w.State()
	// The fake guest has one static adapter: listed and checked by default.
	want := []NetChoice{{Connection: "Ethernet0", Carry: true, Addresses: "192.168.10.20/24", Gateway: "192.168.10.1", DNS: "192.168.10.2, 192.168.10.3"}}
	if !slices.Equal(st.Network, want) {
		t.Fatalf("Options step network %+v, want %+v", st.Network, want)
	}
	if g := st.Guests[st.Guest].Network[0]; g.Settings() != "192.168.10.20/24; gateway 192.168.10.1; DNS 192.168.10.2, 192.168.10.3" {
		t.Errorf("detected settings shown as %q", g.Settings())
	}

	// A bad edit blocks Next with a message naming the adapter.
	cs := r.w.NetChoices()
	cs[0].Addresses = "192.168.10.300/24"
	r.must(r.w.SetNetChoices(cs))
	r.blocked(`Ethernet0: "192.168.10.300/24" is not an address`)

	// Edited settings and a MAC go to Apply as --ip values.
	cs[0].Addresses, cs[0].MAC = "192.168.10.21/24, 192.168.10.22/24", "52:54:00:12:34:56"
	r.must(r.w.SetNetChoices(cs))
	r.to(StepApply)
	req, err := r.w.Request()
	if err != nil {
		t.Fatal(err)
	}
	wantIPs := []string{"52:54:00:12:34:56:192.168.10.21/24,192.168.10.1,192.168.10.2,192.168.10.3", "52:54:00:12:34:56:192.168.10.22/24"}
	if req.KeepIP != "off" || !slices.Equal(req.IPs, wantIPs) {
		t.Fatalf("request keep=%q ips=%q, want off %q", req.KeepIP, req.IPs, wantIPs)
	}
	r.must(r.w.Apply(r.ctx))
	rep := r.w.State().Apply.Report
	if rep == nil || !strings.Contains(strings.Join(rep.FirstBoot, "\n"), "52:54:00:12:34:56:192.168.10.21/24") {
		t.Fatalf("report does not list the carried settings: %+v", rep)
	}
	if text := ReportText(*rep); !strings.Contains(text, "192.168.10.21/24") || !strings.Contains(text, "To undo") {
		t.Errorf("report text:\n%s", text)
	}
}

func TestNetworkUncheckedAndSeveral(t *testing.T) {
	r := newRun(t)
	g := wizardtest.FakeWin10()
	g.Network = append(g.Network, NetAdapter{Connection: "Backup", Static: true, IPv4: []string{"10.0.0.5/8"}},
		NetAdapter{Connection: "Old", Static: true, Ghost: true, IPv4: []string{"10.0.0.6/8"}},
		NetAdapter{Connection: "DHCP LAN"})
	r.f.Guests = []GuestSummary{g}
	r.to(StepOptions)
	st := r.w.State()
	if len(st.Network) != 2 || st.Network[0].Carry || st.Network[1].Carry || st.Network[1].Connection != "Backup" {
		t.Fatalf("with two static adapters none is checked by default, ghosts and DHCP are not listed: %+v", st.Network)
	}
	r.to(StepApply)
	req, err := r.w.Request()
	if err != nil {
		t.Fatal(err)
	}
	if req.KeepIP != "off" || len(req.IPs) != 0 {
		t.Errorf("nothing checked, yet keep=%q ips=%q", req.KeepIP, req.IPs)
	}
}
