package engine

import (
	"github.com/pvinject/pvinject/core/netid"
	"github.com/pvinject/pvinject/wizard"
)

// netAdapters maps core/netid's adapters to what the Options step shows.
func netAdapters(adapters []netid.Adapter) []wizard.NetAdapter {
	var out []wizard.NetAdapter
	for _, a := range adapters {
		w := wizard.NetAdapter{Connection: a.Connection, Description: a.Description, Static: a.Static,
			Ghost: a.Ghost, GhostReason: a.GhostReason, DNS: a.DNS}
		for _, x := range a.IPv4 {
			w.IPv4 = append(w.IPv4, x.String())
		}
		for _, x := range a.IPv6 {
			w.IPv6 = append(w.IPv6, x.String())
		}
		if len(a.Gateways) > 0 {
			w.Gateway = a.Gateways[0].Address
		}
		out = append(out, w)
	}
	return out
}
