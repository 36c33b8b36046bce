package wizard_test

import (
	"errors"
	. "github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/wizardtest"
	"reflect"
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

// TestNetworkInAnswers: the Options step's network choices survive an
// answer file. As found, they are saved as keep_ip (auto or off), which
// serves any guest; edited, as the adapters themselves, which a second
// wizard on the same machine takes back and which become the same --ip
// values.
func TestNetworkInAnswers(t *testing.T) {
	save := func(edit func(cs []NetChoice)) (Answers, ApplyRequest) {
		t.Helper()
		r := newRun(t)
		r.to(StepOptions)
		cs := r.w.NetChoices()
		edit(cs)
		r.must(r.w.SetNetChoices(cs))
		a, err := r.w.Answers()
		if err != nil {
			t.Fatal(err)
		}
		r.to(StepApply)
		req, err := r.w.Request()
		if err != nil {
			t.Fatal(err)
		}
		return a, req
	}
	a, _ := save(func([]NetChoice) {})
	if a.KeepIP != "auto" || a.Adapters != nil {
		t.Errorf("as found and carried: keep_ip %q adapters %+v, want auto and none", a.KeepIP, a.Adapters)
	}
	a, _ = save(func(cs []NetChoice) { cs[0].Carry = false })
	if keep, ips := a.Network(); a.KeepIP != "off" || a.Adapters != nil || keep != "off" || ips != nil {
		t.Errorf("unchecked: keep_ip %q adapters %+v", a.KeepIP, a.Adapters)
	}
	a, req := save(func(cs []NetChoice) { cs[0].Addresses, cs[0].MAC = "192.168.10.21/24", "52:54:00:12:34:56" })
	if a.KeepIP != "off" || len(a.Adapters) != 1 || a.Adapters[0].Addresses != "192.168.10.21/24" {
		t.Fatalf("edited: keep_ip %q adapters %+v", a.KeepIP, a.Adapters)
	}
	if keep, ips := a.Network(); keep != req.KeepIP || !slices.Equal(ips, req.IPs) {
		t.Errorf("the answer file gives --keep-ip %q --ip %q, the wizard sent %q %q", keep, ips, req.KeepIP, req.IPs)
	}
	b, err := a.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseAnswers(b)
	if err != nil || !reflect.DeepEqual(back, a) {
		t.Fatalf("round trip: %+v, %v\n%s", back, err, b)
	}

	// A second wizard on the same machine shows the saved adapter checked
	// with its edits; keep_ip off unchecks what it would check.
	for _, c := range []struct {
		a    Answers
		want []NetChoice
	}{
		{back, a.Adapters},
		{Answers{Version: 1, Drivers: "/srv/virtio-win-0.1.285.iso", Set: SetVirtioWin, InPlace: true, KeepIP: "off"},
			[]NetChoice{{Connection: "Ethernet0", Addresses: "192.168.10.20/24", Gateway: "192.168.10.1", DNS: "192.168.10.2, 192.168.10.3"}}},
	} {
		r := newRun(t)
		r.must(r.w.Prefill(c.a))
		r.to(StepOptions)
		if got := r.w.NetChoices(); !slices.Equal(got, c.want) {
			t.Errorf("prefilled from keep_ip %q: %+v, want %+v", c.a.KeepIP, got, c.want)
		}
	}

	// Wrong network answers are refused, naming the field.
	for _, c := range []struct {
		edit func(a *Answers)
		msg  string
	}{
		{func(a *Answers) { a.KeepIP = "yes" }, `keep_ip "yes"`},
		{func(a *Answers) { a.KeepIP = "auto" }, "keep_ip auto and adapters exclude each other"},
		{func(a *Answers) { a.Adapters[0].Addresses = "192.168.10.300/24" }, `"192.168.10.300/24" is not an address`},
		{func(a *Answers) { a.Adapters[0].Connection = "" }, "connection name"},
	} {
		bad := a
		bad.Adapters = slices.Clone(a.Adapters)
		c.edit(&bad)
		if err := bad.Validate(); !errors.Is(err, ErrAnswers) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Validate = %v, want %q", err, c.msg)
		}
	}
}
