package bootcheck

import (
	"fmt"
	"sort"
	"strings"
)

// Bus names, as `pvinject inspect --json` spells them.
const (
	BusVirtioBlk  = "virtio-blk"
	BusVirtioSCSI = "virtio-scsi"
	BusXenVBD     = "xen-vbd"
	BusIDE        = "ide"
	BusAHCI       = "ahci"
)

// Buses lists every bus checked, in report order.
var Buses = []string{BusVirtioBlk, BusVirtioSCSI, BusXenVBD, BusIDE, BusAHCI}

// Verdict is what Windows will do at boot with its system disk on one bus.
type Verdict struct {
	Bus   string `json:"bus"`
	Label string `json:"label"` // for people: "virtio-blk (VirtIO block)"
	Boots bool   `json:"boots"`
	// Service is the driver service bound to the disk controller ("" when
	// nothing binds it); Services lists every layer's for multi-layer buses
	// (IDE: controller and channel; Xen: platform device and disk).
	Service  string   `json:"service"`
	Services []string `json:"services"`
	// Binding says where the binding was found: "CriticalDeviceDatabase" or
	// "DriverDatabase", with the device id.
	Binding string `json:"binding,omitempty"`
	// File is the driver file the service loads, as a guest path.
	File string `json:"file,omitempty"`
	// Reasons say in plain words why it will not boot (or, for a bus that
	// boots, what is worth knowing); Remedy what to do.
	Reasons []string `json:"reasons"`
	Remedy  string   `json:"remedy,omitempty"`
}

// NIC is the network verdict for one paravirtual NIC type.
type NIC struct {
	Device string `json:"device"` // virtio-net, xen-vif
	Label  string `json:"label"`
	// State is "installed" (a driver is bound or its service and file are
	// in place), "staged" (its package waits in the guest for first-boot
	// installation) or "missing".
	State   string   `json:"state"`
	Driver  string   `json:"driver,omitempty"`
	Where   string   `json:"where,omitempty"`
	Message string   `json:"message"`
	Notes   []string `json:"notes,omitempty"`
}

// NIC states.
const (
	NICInstalled = "installed"
	NICStaged    = "staged"
	NICMissing   = "missing"
)

// Result is the whole check for one Windows installation.
type Result struct {
	SystemRoot string `json:"systemroot"`
	Arch       string `json:"arch"`
	// ControlSet is the one Windows will use: SYSTEM\Select\Current.
	ControlSet string `json:"control_set"`
	// Database is how devices bind drivers at boot in this Windows:
	// "CriticalDeviceDatabase" (up to 7 / 2008 R2) or "DriverDatabase".
	Database string `json:"database"`
	// TestSigning is the testsigning setting of the default boot entry:
	// "on", "off" or "unknown" (no BCD store found).
	TestSigning string    `json:"test_signing"`
	BCD         string    `json:"bcd,omitempty"` // where the BCD store was read
	Buses       []Verdict `json:"buses"`
	NICs        []NIC     `json:"nics"`
	// Problems are reasons every bus shares (an unreadable SYSTEM hive).
	Problems []string `json:"problems"`
}

// Bus returns the verdict for one bus, nil when it was not checked.
func (r *Result) Bus(name string) *Verdict {
	if r == nil {
		return nil
	}
	for i := range r.Buses {
		if r.Buses[i].Bus == name {
			return &r.Buses[i]
		}
	}
	return nil
}

// Summary is one sentence per bus for people, boots first.
func (r *Result) Summary() []string {
	var ok, bad []string
	for _, v := range r.Buses {
		if v.Boots {
			ok = append(ok, v.Label)
		} else {
			bad = append(bad, v.Label)
		}
	}
	var out []string
	if len(ok) > 0 {
		out = append(out, "Windows will boot with its disk on: "+strings.Join(ok, ", ")+".")
	}
	if len(bad) > 0 {
		out = append(out, "Windows will NOT boot with its disk on: "+strings.Join(bad, ", ")+".")
	}
	return out
}

// Text renders the result for people: a line per bus with its reasons and
// remedy, then the network.
func (r *Result) Text() string {
	var b strings.Builder
	if r == nil {
		return ""
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "  ! %s\n", p)
	}
	for _, v := range r.Buses {
		mark := "boots"
		if !v.Boots {
			mark = "WILL NOT BOOT"
		}
		svc := ""
		if v.Service != "" {
			svc = " (driver " + strings.Join(v.Services, " + ") + ")"
		}
		fmt.Fprintf(&b, "  %-28s %s%s\n", v.Label+":", mark, svc)
		for _, why := range v.Reasons {
			fmt.Fprintf(&b, "      - %s\n", why)
		}
		if !v.Boots && v.Remedy != "" {
			fmt.Fprintf(&b, "      What to do: %s\n", v.Remedy)
		}
	}
	for _, n := range r.NICs {
		fmt.Fprintf(&b, "  %-28s %s\n", n.Label+" network:", n.Message)
	}
	return b.String()
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
