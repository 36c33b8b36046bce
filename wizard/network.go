package wizard

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// NetAdapter is one network adapter the guest had, as the Options step
// shows it.
type NetAdapter struct {
	Connection  string   `json:"connection"`  // the name in Network Connections
	Description string   `json:"description"` // the driver's name for it
	Static      bool     `json:"static"`
	Ghost       bool     `json:"ghost,omitempty"` // already gone when the guest shut down
	GhostReason string   `json:"ghost_reason,omitempty"`
	IPv4        []string `json:"ipv4,omitempty"` // ADDR/LEN
	IPv6        []string `json:"ipv6,omitempty"`
	Gateway     string   `json:"gateway,omitempty"`
	DNS         []string `json:"dns,omitempty"`
}

// Settings says the adapter's settings in words.
func (a NetAdapter) Settings() string {
	if !a.Static {
		return "gets its address from DHCP"
	}
	var parts []string
	if len(a.IPv4) > 0 {
		parts = append(parts, strings.Join(a.IPv4, ", "))
	}
	if len(a.IPv6) > 0 {
		parts = append(parts, strings.Join(a.IPv6, ", "))
	}
	if a.Gateway != "" {
		parts = append(parts, "gateway "+a.Gateway)
	}
	if len(a.DNS) > 0 {
		parts = append(parts, "DNS "+strings.Join(a.DNS, ", "))
	}
	return strings.Join(parts, "; ")
}

// NetChoice is one static adapter on the Options step: whether its
// settings go to the new network adapter, and the fields the user may edit.
type NetChoice struct {
	Connection string `json:"connection"`
	Carry      bool   `json:"carry"`
	Addresses  string `json:"addresses"` // ADDR/LEN, comma-separated
	Gateway    string `json:"gateway"`
	DNS        string `json:"dns"` // comma-separated
	// MAC of the new adapter that gets the settings; empty: by install order.
	MAC string `json:"mac"`
}

// FieldNetwork names network problems in FieldError.
const FieldNetwork = "network"

// NetChoices lists the guest's static adapters (ghosts left out), checked
// by default only when there is exactly one: with several, which old
// adapter maps to which new one is the user's call.
func NetChoices(g GuestSummary) []NetChoice {
	var out []NetChoice
	for _, a := range g.Network {
		if !a.Static || a.Ghost {
			continue
		}
		out = append(out, NetChoice{Connection: a.Connection, Addresses: strings.Join(append(append([]string{}, a.IPv4...), a.IPv6...), ", "),
			Gateway: a.Gateway, DNS: strings.Join(a.DNS, ", ")})
	}
	if len(out) == 1 {
		out[0].Carry = true
	}
	return out
}

var macRE = regexp.MustCompile(`^[0-9A-Fa-f]{2}([:-][0-9A-Fa-f]{2}){5}$`)

func splitComma(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// Specs are the adapter's settings as inject's --ip values.
func (c NetChoice) Specs() ([]string, error) {
	sel := c.Connection
	if m := strings.TrimSpace(c.MAC); m != "" {
		if !macRE.MatchString(m) {
			return nil, FieldError{FieldNetwork, fmt.Sprintf("%s: %q is not a MAC address like 52:54:00:12:34:56", c.Connection, m)}
		}
		sel = m
	}
	if strings.ContainsAny(sel, `:"%!^&|<>`) && sel == c.Connection {
		return nil, FieldError{FieldNetwork, fmt.Sprintf("the name %q has characters the first-boot script cannot use; give the new adapter's MAC", c.Connection)}
	}
	addrs := splitComma(c.Addresses)
	if len(addrs) == 0 {
		return nil, FieldError{FieldNetwork, c.Connection + ": give at least one address, like 192.168.1.10/24"}
	}
	tail := ""
	gw := strings.TrimSpace(c.Gateway)
	dns := splitComma(c.DNS)
	for _, x := range append([]string{gw}, dns...) {
		if _, err := netip.ParseAddr(x); x != "" && err != nil {
			return nil, FieldError{FieldNetwork, fmt.Sprintf("%s: %q is not an IP address", c.Connection, x)}
		}
	}
	if gw != "" || len(dns) > 0 {
		tail = "," + gw
		if len(dns) > 0 {
			tail += "," + strings.Join(dns, ",")
		}
	}
	var out []string
	for i, a := range addrs {
		if _, err := netip.ParsePrefix(a); err != nil {
			return nil, FieldError{FieldNetwork, fmt.Sprintf("%s: %q is not an address with its prefix length, like 192.168.1.10/24", c.Connection, a)}
		}
		if i == 0 {
			out = append(out, sel+":"+a+tail)
		} else {
			out = append(out, sel+":"+a)
		}
	}
	return out, nil
}

func validateNet(cs []NetChoice) []FieldError {
	var errs []FieldError
	for _, c := range cs {
		if !c.Carry {
			continue
		}
		if _, err := c.Specs(); err != nil {
			errs = append(errs, err.(FieldError))
		}
	}
	return errs
}

// netSpecs are the checked adapters' settings as --ip values.
func netSpecs(cs []NetChoice) []string {
	var out []string
	for _, c := range cs {
		if !c.Carry {
			continue
		}
		s, err := c.Specs()
		if err == nil {
			out = append(out, s...)
		}
	}
	return out
}

// NetChoices returns the Options step's static adapters (a copy).
func (w *Wizard) NetChoices() []NetChoice {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]NetChoice(nil), w.net...)
}

// SetNetChoices stores the user's edits of the static adapters; the list
// must be the one NetChoices returned, edited in place.
func (w *Wizard) SetNetChoices(cs []NetChoice) error {
	w.mu.Lock()
	if len(cs) != len(w.net) {
		w.mu.Unlock()
		return notAllowed("the list of network adapters changed; choose again")
	}
	w.net = append([]NetChoice(nil), cs...)
	w.unlockNotify()
	return nil
}

// netAnswers says the Options step's network choices in an answer file:
// nothing when the guest has no static adapter, keep_ip auto or off when
// every adapter is as found and all or none are carried (so the file serves
// other guests too), else the adapters themselves, for this machine only.
// Caller holds mu.
func (w *Wizard) netAnswers() (string, []NetChoice) {
	if len(w.net) == 0 || w.guest < 0 || w.guest >= len(w.guests) {
		return "", nil
	}
	found := NetChoices(w.guests[w.guest])
	carried, asFound := 0, len(found) == len(w.net)
	for i, c := range w.net {
		if c.Carry {
			carried++
		}
		if asFound {
			f := found[i]
			f.Carry = c.Carry
			asFound = f == c
		}
	}
	switch {
	case asFound && carried == len(w.net):
		return "auto", nil
	case asFound && carried == 0:
		return "off", nil
	}
	return "off", append([]NetChoice(nil), w.net...)
}

// netChoices applies the answers' network choices to the static adapters
// found in this guest: the saved adapters by connection name (others are
// not carried), or keep_ip's all or none; no choice keeps the defaults.
func (a Answers) netChoices(cs []NetChoice) []NetChoice {
	out := append([]NetChoice(nil), cs...)
	for i := range out {
		switch {
		case len(a.Adapters) > 0:
			out[i].Carry = false
			for _, s := range a.Adapters {
				if strings.EqualFold(s.Connection, out[i].Connection) {
					out[i] = s
					out[i].Connection = cs[i].Connection
				}
			}
		case a.KeepIP == "auto":
			out[i].Carry = true
		case a.KeepIP == "off":
			out[i].Carry = false
		}
	}
	return out
}
