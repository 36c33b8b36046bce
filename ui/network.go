package ui

import (
	"fmt"
	"log/slog"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/wizard"
)

// netSection is the Options step's list of static network adapters: one
// checkbox per adapter and its editable settings. Minimal on purpose; the
// wizard holds the rules (wizard/network.go).
type netSection struct {
	u    *UI
	box  *fyne.Container
	err  *widget.Label
	rows []netRow
	key  string // the adapters the rows were built for
}

type netRow struct {
	carry                  *widget.Check
	addrs, gw, dns, newMAC *widget.Entry
}

func newNetSection(u *UI) *netSection {
	return &netSection{u: u, box: container.NewVBox(), err: errLabel()}
}

func (n *netSection) object() fyne.CanvasObject {
	return card("Network addresses",
		para("A new network adapter comes up with DHCP. Checked adapters get their old static settings back at the first boot."),
		n.box, n.err)
}

func (n *netSection) save() {
	if n.u.updating {
		return
	}
	cs := n.u.wiz.NetChoices()
	if len(cs) != len(n.rows) {
		return
	}
	for i, r := range n.rows {
		cs[i].Carry, cs[i].Addresses, cs[i].Gateway, cs[i].DNS, cs[i].MAC = r.carry.Checked, r.addrs.Text, r.gw.Text, r.dns.Text, r.newMAC.Text
	}
	if err := n.u.wiz.SetNetChoices(cs); err != nil {
		n.u.showError(err)
	}
}

func (n *netSection) update(st wizard.State, errMsg string) {
	var names []string
	for _, c := range st.Network {
		names = append(names, c.Connection)
	}
	if key := strings.Join(names, "\x00"); key != n.key || len(n.rows) != len(st.Network) {
		n.key = key
		n.rebuild(st)
		var shown []string
		for _, c := range st.Network {
			shown = append(shown, fmt.Sprintf("%s %s carry=%t", c.Connection, c.Addresses, c.Carry))
		}
		// The real-window walk reads what the Options step lists from here.
		slog.Debug("ui: network shown", "adapters", strings.Join(shown, "; "))
	}
	for i, c := range st.Network {
		r := n.rows[i]
		r.carry.SetChecked(c.Carry)
		for _, f := range []struct {
			e *widget.Entry
			v string
		}{{r.addrs, c.Addresses}, {r.gw, c.Gateway}, {r.dns, c.DNS}, {r.newMAC, c.MAC}} {
			if f.e.Text != f.v {
				f.e.SetText(f.v)
			}
		}
	}
	showErr(n.err, errMsg)
}

func (n *netSection) rebuild(st wizard.State) {
	n.box.RemoveAll()
	n.rows = nil
	var detected map[string]wizard.NetAdapter
	if st.Guest >= 0 && st.Guest < len(st.Guests) {
		detected = map[string]wizard.NetAdapter{}
		for _, a := range st.Guests[st.Guest].Network {
			detected[a.Connection] = a
		}
	}
	if len(st.Network) == 0 {
		n.box.Add(dim("No static IP settings were found; the guest's adapters use DHCP."))
		return
	}
	for _, c := range st.Network {
		a := detected[c.Connection]
		r := netRow{addrs: widget.NewEntry(), gw: widget.NewEntry(), dns: widget.NewEntry(), newMAC: widget.NewEntry()}
		r.carry = widget.NewCheck(fmt.Sprintf("Carry over %q (%s): %s", c.Connection, a.Description, a.Settings()), func(bool) { n.save() })
		r.newMAC.SetPlaceHolder("empty: the new adapters in install order")
		for _, e := range []*widget.Entry{r.addrs, r.gw, r.dns, r.newMAC} {
			e.OnChanged = func(string) { n.save() }
		}
		n.rows = append(n.rows, r)
		n.box.Add(r.carry)
		n.box.Add(container.New(layout.NewFormLayout(),
			widget.NewLabel("Addresses"), r.addrs,
			widget.NewLabel("Gateway"), r.gw,
			widget.NewLabel("DNS servers"), r.dns,
			widget.NewLabel("New adapter's MAC"), r.newMAC))
	}
}
