package inspect

import (
	"fmt"
	"io"
	"strings"

	"github.com/pvinject/pvinject/core/bootcheck"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/netid"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/safety"
)

// Network is the top-level "network" object of `pvinject inspect --json`:
// what the guest's network will be on the new hypervisor.
type Network struct {
	// NICs says, per paravirtual NIC type, whether a driver is installed
	// or staged, or that the VM will have no network on it until one is.
	NICs []bootcheck.NIC `json:"nics"`
	// Adapters are the adapters the guest had, with their TCP/IP settings
	// (core/netid): static or DHCP, and which were already ghosts.
	Adapters []netid.Adapter `json:"adapters"`
}

// readNetwork reads the adapters of one install from its SYSTEM hive, in
// place when the hive is clean (only the cells needed), whole with its
// logs replayed in memory otherwise. Never writes.
func readNetwork(vol *ntfs.Volume, w guest.Windows) ([]netid.Adapter, error) {
	n := []netid.Adapter{}
	if w.ControlSet == "" {
		return n, nil
	}
	dir := strings.Trim(strings.ReplaceAll(w.SystemRoot, `\`, "/"), "/") + "/System32/config/"
	var h interface {
		netid.Reader
		Close() error
	}
	if f, err := vol.OpenFile(dir + "SYSTEM"); err == nil {
		if l, err := hive.OpenLazy("SYSTEM", f, f.Size()); err == nil {
			h = l
		}
		if c, ok := f.(io.Closer); ok && h == nil {
			c.Close()
		}
	}
	if h == nil {
		data, err := vol.ReadFile(dir + "SYSTEM")
		if err != nil {
			return n, fmt.Errorf("reading the SYSTEM hive: %w", err)
		}
		var logs []hive.LogFile
		for _, ln := range hive.LogNames("SYSTEM") {
			if b, err := vol.ReadFile(dir + ln); err == nil {
				logs = append(logs, hive.LogFile{Name: ln, Data: b})
			}
		}
		full, err := hive.OpenReadOnly("SYSTEM", data, logs...)
		if err != nil {
			return n, fmt.Errorf("opening the SYSTEM hive: %w", err)
		}
		h = full
	}
	defer h.Close()
	id, err := netid.Read(h, w.ControlSet)
	if err != nil {
		return n, err
	}
	return id.Adapters, nil
}

// writeNetworkText lists the adapters for `pvinject inspect`.
func writeNetworkText(w io.Writer, adapters []netid.Adapter) {
	if len(adapters) == 0 {
		fmt.Fprintln(w, "  network adapters: none found")
		return
	}
	fmt.Fprintf(w, "  network adapters (%d):\n", len(adapters))
	for _, a := range adapters {
		state := "DHCP"
		if a.Static {
			state = "static"
		}
		if a.Ghost {
			state += ", ghost: " + a.GhostReason
		}
		fmt.Fprintf(w, "    %q: %s (%s) [%s]\n", a.Connection, a.Description, a.PnPID, state)
		if a.Static {
			var v4, v6, gw []string
			for _, x := range a.IPv4 {
				v4 = append(v4, x.String())
			}
			for _, x := range a.IPv6 {
				v6 = append(v6, x.String())
			}
			for _, g := range a.Gateways {
				gw = append(gw, g.Address)
			}
			for _, l := range [][2]string{{"IPv4", strings.Join(v4, ", ")}, {"gateway", strings.Join(gw, ", ")},
				{"DNS", strings.Join(a.DNS, ", ")}, {"IPv6", strings.Join(v6, ", ")}, {"IPv6 DNS", strings.Join(a.DNS6, ", ")},
				{"DNS suffix", a.Domain}} {
				if l[1] != "" {
					fmt.Fprintf(w, "      %s: %s\n", l[0], l[1])
				}
			}
		}
	}
}

// networksOf reads the network of every install found on one volume; an
// unreadable one is a warning, never a reason to fail the inspection.
func networksOf(vol *ntfs.Volume, ws []guest.Windows) ([][]netid.Adapter, []safety.Finding) {
	nets := make([][]netid.Adapter, len(ws))
	var fs []safety.Finding
	for i, w := range ws {
		n, err := readNetwork(vol, w)
		if err != nil {
			fs = append(fs, safety.Finding{Severity: safety.Warning, Code: "inspect.network_unreadable",
				Title:   "The network settings could not be read",
				Message: fmt.Sprintf("The network settings of the Windows in %s could not be read, so static IP settings cannot be carried over.", w.SystemRoot),
				Remedy:  "Note the virtual machine's IP settings before the migration.",
				Details: err.Error()})
		}
		nets[i] = n
	}
	return nets, fs
}

// selectNetwork shows the chosen install's adapters.
func (r *Report) selectNetwork() {
	r.Network.Adapters = []netid.Adapter{}
	if r.Selected >= 0 && r.Selected < len(r.nets) {
		r.Network.Adapters = r.nets[r.Selected]
	}
}

// AdaptersOf are the network adapters of Installs[i] (empty when out of range).
func (r *Report) AdaptersOf(i int) []netid.Adapter {
	if i < 0 || i >= len(r.nets) {
		return []netid.Adapter{}
	}
	return r.nets[i]
}
