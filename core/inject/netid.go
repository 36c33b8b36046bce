package inject

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/core/netid"
)

// Network is the plan's network identity: the adapters found in the guest
// and the settings the first-boot runner re-applies (docs/FIRSTBOOT.md,
// "Network identity").
type Network struct {
	KeepIP   string          `json:"keep_ip"` // auto or off
	Adapters []netid.Adapter `json:"adapters"`
	Carry    []NetCarry      `json:"carry"`
	Notes    []string        `json:"notes,omitempty"`
}

// NetCarry is one adapter's settings and where they go.
type NetCarry struct {
	From     string                `json:"from"` // old connection name and driver, "" for settings given by the user only
	OldID    string                `json:"old_id,omitempty"`
	Old      string                `json:"old,omitempty"` // the old settings in words
	To       string                `json:"to"`            // which new adapter
	Settings string                `json:"settings"`      // what is applied, in words
	Undo     string                `json:"undo"`
	Identity firstboot.NetIdentity `json:"identity"`
}

// IPSpec is one --ip value, parsed.
type IPSpec struct {
	MAC, Name string // exactly one is set
	Addr      netip.Prefix
	Gateway   string
	DNS       []string
	More      []netip.Prefix // further addresses from other --ip values for the same adapter
}

var macSpecRE = regexp.MustCompile(`^([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2})[:-]([0-9A-Fa-f]{2}):`)

// ParseIPSpec parses MAC_OR_NAME:ADDR/LEN[,GW[,DNS...]]. A MAC is six hex
// pairs joined by : or -; anything else before the first colon is the
// connection name the settings belong to.
func ParseIPSpec(s string) (IPSpec, error) {
	var sp IPSpec
	rest := ""
	if m := macSpecRE.FindStringSubmatch(s); m != nil {
		sp.MAC = strings.ToUpper(strings.Join(m[1:], "-"))
		rest = s[len(m[0]):]
	} else {
		i := strings.IndexByte(s, ':')
		if i <= 0 {
			return sp, fmt.Errorf("--ip %q: want MAC_OR_NAME:ADDR/LEN,GATEWAY,DNS (DNS servers repeatable)", s)
		}
		sp.Name, rest = strings.TrimSpace(s[:i]), s[i+1:]
	}
	f := strings.Split(rest, ",")
	p, err := netip.ParsePrefix(strings.TrimSpace(f[0]))
	if err != nil {
		return sp, fmt.Errorf("--ip %q: %q is not ADDRESS/PREFIX-LENGTH", s, f[0])
	}
	sp.Addr = p
	for i, x := range f[1:] {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		if _, err := netip.ParseAddr(x); err != nil {
			return sp, fmt.Errorf("--ip %q: %q is not an IP address", s, x)
		}
		if i == 0 {
			sp.Gateway = x
		} else {
			sp.DNS = append(sp.DNS, x)
		}
	}
	return sp, nil
}

func validateNetRequest(r *Request) error {
	switch r.KeepIP {
	case "", "auto", "off":
	default:
		return fmt.Errorf("%w: --keep-ip %q: want auto or off", ErrRequest, r.KeepIP)
	}
	for _, s := range r.IPs {
		sp, err := ParseIPSpec(s)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrRequest, err)
		}
		if strings.ContainsAny(sp.Name, "\"%!^&|<>") {
			return fmt.Errorf("%w: --ip %q: the connection name may not contain \" %% ! ^ & | < >", ErrRequest, s)
		}
	}
	return nil
}

// networkIdentity reads the guest's adapters and plans which settings the
// runner carries to the new adapters. It returns the runner's identities.
func (pl *planner) networkIdentity() []firstboot.NetIdentity {
	req := pl.p.Request
	keep := req.KeepIP
	if keep == "" {
		keep = "auto"
	}
	n := &Network{KeepIP: keep, Adapters: []netid.Adapter{}, Carry: []NetCarry{}}
	pl.p.Network = n
	id, err := netid.Read(pl.hives[HiveSystem], pl.w.ControlSet)
	if err != nil {
		f := warn("inject.netid-unreadable", "The guest's network settings could not be read, so static addresses are not carried over.")
		f.Title, f.Remedy, f.Details = "The network settings could not be read", "Note the virtual machine's IP settings before the migration.", err.Error()
		pl.p.Warnings = append(pl.p.Warnings, f)
		return nil
	}
	n.Adapters = id.Adapters

	var carry []netid.Adapter
	if keep == "auto" {
		for _, a := range id.Adapters {
			if a.Static && !a.Ghost {
				carry = append(carry, a)
			}
		}
	}
	var extra []IPSpec
	for _, s := range req.IPs {
		sp, _ := ParseIPSpec(s) // validated with the request
		i := findOld(id.Adapters, sp)
		if i < 0 {
			extra = append(extra, sp)
			continue
		}
		a := id.Adapters[i]
		j := -1
		for k := range carry {
			if carry[k].ID == a.ID {
				j = k
			}
		}
		if j < 0 {
			carry = append(carry, a)
			j = len(carry) - 1
		}
		carry[j] = applySpec(carry[j], sp, specSeen(req.IPs, a, id.Adapters, s))
	}

	var out []firstboot.NetIdentity
	macs := map[int]string{}
	for _, sp := range specsWithMAC(req.IPs) {
		if i := findOld(carry, sp); i >= 0 {
			macs[i] = sp.MAC
		}
	}
	for i, a := range carry {
		ni := identityOf(a, i+1, macs[i], id.Adapters)
		if err := ni.Validate(); err != nil {
			pl.p.Warnings = append(pl.p.Warnings, warn("inject.netid-unsafe",
				fmt.Sprintf("the settings of the adapter %q cannot be carried over safely (its name or an address has characters the first-boot script cannot quote); set them by hand after the first boot", a.Connection)))
			continue
		}
		ni.Order = len(out) + 1
		out = append(out, ni)
		orig := a // the settings as found, before any --ip replaced them
		for _, o := range id.Adapters {
			if o.ID == a.ID {
				orig = o
			}
		}
		n.Carry = append(n.Carry, carryOf(orig, ni))
	}
	for _, sp := range mergeSpecs(extra) {
		ni := firstboot.NetIdentity{Name: sp.Name, MAC: sp.MAC, Order: len(out) + 1, RegisterAdapterName: -1,
			Gateway: sp.Gateway, DNS: sp.DNS}
		for _, p := range append([]netip.Prefix{sp.Addr}, sp.More...) {
			addSpecAddr(&ni, p)
		}
		for _, a := range id.Adapters {
			if holds(a, sp.Addr.Addr().String()) {
				ni.Ghosts = append(ni.Ghosts, ghostOf(a))
			}
		}
		out = append(out, ni)
		n.Carry = append(n.Carry, carryOf(netid.Adapter{}, ni))
	}
	if len(out) == 0 {
		if keep == "auto" && len(id.Adapters) > 0 {
			n.Notes = append(n.Notes, "No adapter has static settings to carry over (DHCP adapters need nothing).")
		}
		return nil
	}
	byOrder := 0
	for _, ni := range out {
		if ni.MAC == "" {
			byOrder++
		}
	}
	if len(out) > 1 && byOrder > 0 {
		n.Notes = append(n.Notes, fmt.Sprintf("%d adapters' settings are carried over: those without a MAC go to the new adapters in the order Windows installs them (the first old adapter to the first new one). Give the new adapter's MAC to choose.", len(out)))
	}
	if len(pl.nicMatch()) == 0 {
		pl.p.Warnings = append(pl.p.Warnings, warn("inject.netid-no-nic",
			"the guest has static network settings but the driver set has no network driver: they are not carried over; set them by hand after the first boot"))
		n.Carry = []NetCarry{}
		return nil
	}
	return out
}

// findOld is the old adapter a spec refers to: by connection name, or
// (for a MAC) the one that held the spec's address.
func findOld(as []netid.Adapter, sp IPSpec) int {
	for i, a := range as {
		if sp.Name != "" && strings.EqualFold(a.Connection, sp.Name) {
			return i
		}
		if sp.MAC != "" && !a.Ghost && holds(a, sp.Addr.Addr().String()) {
			return i
		}
	}
	return -1
}

func holds(a netid.Adapter, addr string) bool {
	for _, x := range append(append([]netid.Address{}, a.IPv4...), a.IPv6...) {
		if x.Address == addr {
			return true
		}
	}
	return false
}

// specSeen reports whether an earlier --ip already named this adapter, so
// a later one adds an address instead of replacing the settings.
func specSeen(specs []string, a netid.Adapter, all []netid.Adapter, cur string) bool {
	for _, s := range specs {
		if s == cur {
			return false
		}
		sp, err := ParseIPSpec(s)
		if err == nil {
			if i := findOld(all, sp); i >= 0 && all[i].ID == a.ID {
				return true
			}
		}
	}
	return false
}

// applySpec replaces (or, for a second --ip of the same adapter, extends)
// an adapter's settings with the user's.
func applySpec(a netid.Adapter, sp IPSpec, add bool) netid.Adapter {
	if !add {
		a.IPv4, a.IPv6, a.Gateways, a.DNS, a.DNS6 = nil, nil, nil, nil, nil
	}
	a.DHCP, a.Static = false, true
	ad := netid.Address{Address: sp.Addr.Addr().String(), Prefix: sp.Addr.Bits()}
	if sp.Addr.Addr().Is4() {
		ad.Mask = netid.MaskOf(sp.Addr.Bits())
		a.IPv4 = append(a.IPv4, ad)
	} else {
		a.IPv6 = append(a.IPv6, ad)
	}
	if sp.Gateway != "" && len(a.Gateways) == 0 {
		a.Gateways = []netid.Gateway{{Address: sp.Gateway}}
	}
	a.DNS = append(a.DNS, sp.DNS...)
	return a
}

func specsWithMAC(specs []string) []IPSpec {
	var out []IPSpec
	for _, s := range specs {
		if sp, err := ParseIPSpec(s); err == nil && sp.MAC != "" {
			out = append(out, sp)
		}
	}
	return out
}

// mergeSpecs folds several --ip values for the same new adapter into one.
func mergeSpecs(specs []IPSpec) []IPSpec {
	var out []IPSpec
	idx := map[string]int{}
	for _, sp := range specs {
		k := strings.ToLower(sp.MAC + "|" + sp.Name)
		if i, ok := idx[k]; ok {
			out[i].DNS = append(out[i].DNS, sp.DNS...)
			out[i].More = append(out[i].More, sp.Addr)
			continue
		}
		idx[k] = len(out)
		out = append(out, sp)
	}
	return out
}

func addSpecAddr(ni *firstboot.NetIdentity, p netip.Prefix) {
	if p.Addr().Is4() {
		ni.IPv4 = append(ni.IPv4, firstboot.IPv4{Address: p.Addr().String(), Mask: netid.MaskOf(p.Bits())})
	} else {
		ni.IPv6 = append(ni.IPv6, p.String())
	}
}

func ghostOf(a netid.Adapter) firstboot.Ghost {
	g := firstboot.Ghost{ID: a.ID, Name: a.Connection}
	for _, v := range a.NSIValues {
		g.NSI = append(g.NSI, [2]string{v.Key, v.Name})
	}
	return g
}

// identityOf turns an old adapter into the runner's identity: the adapter
// itself is cleared first, and so are ghosts of earlier migrations that
// still hold one of its addresses.
func identityOf(a netid.Adapter, order int, mac string, all []netid.Adapter) firstboot.NetIdentity {
	ni := firstboot.NetIdentity{Name: a.Connection, MAC: mac, Order: order, Domain: a.Domain, RegisterAdapterName: 0}
	if a.RegisterAdapterName {
		ni.RegisterAdapterName = 1
	}
	for _, x := range a.IPv4 {
		ni.IPv4 = append(ni.IPv4, firstboot.IPv4{Address: x.Address, Mask: netid.MaskOf(x.Prefix)})
	}
	for _, x := range a.IPv6 {
		ni.IPv6 = append(ni.IPv6, x.String())
	}
	if len(a.Gateways) > 0 {
		ni.Gateway, ni.GatewayMetric = a.Gateways[0].Address, a.Gateways[0].Metric
	}
	ni.DNS, ni.DNS6 = a.DNS, a.DNS6
	if a.ID != "" {
		ni.Ghosts = append(ni.Ghosts, ghostOf(a))
	}
	for _, o := range all {
		if o.ID == a.ID || !o.Ghost {
			continue
		}
		for _, x := range a.IPv4 {
			if holds(o, x.Address) {
				ni.Ghosts = append(ni.Ghosts, ghostOf(o))
				break
			}
		}
	}
	return ni
}

// settingsText says an adapter's settings in words.
func settingsText(v4 []string, gw string, dns, v6 []string) string {
	parts := []string{}
	if len(v4) > 0 {
		parts = append(parts, "IPv4 "+strings.Join(v4, ", "))
	}
	if gw != "" {
		parts = append(parts, "gateway "+gw)
	}
	if len(dns) > 0 {
		parts = append(parts, "DNS "+strings.Join(dns, ", "))
	}
	if len(v6) > 0 {
		parts = append(parts, "IPv6 "+strings.Join(v6, ", "))
	}
	return strings.Join(parts, "; ")
}

// OldText is an adapter's detected settings in words.
func OldText(a netid.Adapter) string {
	if !a.Static {
		return "DHCP"
	}
	var v4, v6 []string
	for _, x := range a.IPv4 {
		v4 = append(v4, x.String())
	}
	for _, x := range a.IPv6 {
		v6 = append(v6, x.String())
	}
	gw := ""
	if len(a.Gateways) > 0 {
		gw = a.Gateways[0].Address
	}
	return settingsText(v4, gw, a.DNS, v6)
}

func carryOf(a netid.Adapter, ni firstboot.NetIdentity) NetCarry {
	c := NetCarry{OldID: a.ID, Identity: ni}
	if a.ID != "" {
		c.From = fmt.Sprintf("%q (%s)", a.Connection, a.Description)
		c.Old = OldText(a)
	}
	c.To = fmt.Sprintf("new network adapter number %d in the order Windows installs them", ni.Order)
	if ni.MAC != "" {
		c.To = "the new network adapter with MAC " + ni.MAC
	}
	var v4 []string
	for _, x := range ni.IPv4 {
		v4 = append(v4, fmt.Sprintf("%s/%d", x.Address, netid.MaskBits(x.Mask)))
	}
	c.Settings = settingsText(v4, ni.Gateway, ni.DNS, ni.IPv6)
	name := ni.Name
	if name == "" {
		name = "<its connection name>"
	} else {
		c.Settings += fmt.Sprintf("; connection renamed %q", name)
	}
	c.Undo = fmt.Sprintf(`in the guest: netsh interface ip set address name="%s" source=dhcp, then netsh interface ip set dns name="%s" source=dhcp (or set other addresses in the adapter's IPv4 properties)`, name, name)
	return c
}

// networkSteps are the first-boot steps of the network identity, in words.
func networkSteps(p *Plan) []string {
	if p.Network == nil {
		return nil
	}
	var s []string
	for _, c := range p.Network.Carry {
		from := "Settings you gave"
		if c.From != "" {
			from = fmt.Sprintf("The settings of %s (%s)", c.From, c.Old)
		}
		clear := ""
		if len(c.Identity.Ghosts) > 0 {
			clear = " The old adapter's static settings are removed first, so Windows sees no address conflict."
		}
		s = append(s, fmt.Sprintf("%s are applied to %s with netsh: %s.%s To undo: %s.", from, c.To, c.Settings, clear, c.Undo))
	}
	carried := map[string]bool{}
	for _, c := range p.Network.Carry {
		carried[c.OldID] = true
	}
	for _, a := range p.Network.Adapters {
		switch {
		case carried[a.ID]:
		case a.Ghost:
			s = append(s, fmt.Sprintf("The adapter %q (%s) was already gone before this migration (%s); it is left alone.", a.Connection, a.Description, a.GhostReason))
		case !a.Static:
			s = append(s, fmt.Sprintf("The adapter %q (%s) used DHCP: nothing to carry over.", a.Connection, a.Description))
		default:
			s = append(s, fmt.Sprintf("The static settings of %q (%s: %s) are not carried over; set them on the new adapter after the first boot.", a.Connection, a.Description, OldText(a)))
		}
	}
	s = append(s, p.Network.Notes...)
	return s
}
