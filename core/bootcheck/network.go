package bootcheck

import (
	"fmt"
	"strings"
)

type nicSpec struct {
	device, label string
	pats          []pattern
	services      []string // driver services that serve it
	infs          []string // their INF names
	remedy        string
}

// NIC ids and drivers: virtio-win NetKVM (injection-facts §2.5) and the Xen
// PV network drivers (xcp-ng win-xenvif/win-xennet, SUSE VMDP xennet).
var nicSpecs = []nicSpec{
	{"virtio-net", "VirtIO NIC", []pattern{{Enum: "PCI", Prefix: "VEN_1AF4&DEV_1000"}, {Enum: "PCI", Prefix: "VEN_1AF4&DEV_1041"}},
		[]string{"netkvm"}, []string{"netkvm.inf"},
		"inject the virtio-win NIC driver (NetKVM), or give the VM an emulated NIC (e1000 or rtl8139) until it is installed"},
	{"xen-vif", "Xen PV NIC", []pattern{{Enum: "XENBUS", Contains: "&DEV_VIF"}, {Enum: "XEN", Prefix: "TYPE_VIF"}},
		[]string{"xennet", "xenvif", "xennet6"}, []string{"xennet.inf", "xenvif.inf"},
		"install the Xen PV network driver inside Windows; Xen HVM guests also get an emulated NIC to use until then"},
}

// Places where a NIC package may wait for installation: the driver store
// (PnP installs from it when the device appears), pvinject's staging
// folder and virt-v2v's (both installed at first boot by pnputil;
// injection-facts §3.1, §3.2).
var stagePlaces = []string{"System32/DriverStore/FileRepository", "pvinject/drivers", "Drivers/VirtIO"}

func (c *checker) nics() []NIC {
	var out []NIC
	for _, spec := range nicSpecs {
		out = append(out, c.nic(spec))
	}
	return out
}

func (c *checker) nic(spec nicSpec) NIC {
	n := NIC{Device: spec.device, Label: spec.label}
	for _, b := range c.bindings(layer{what: spec.label, pats: spec.pats}) {
		if b.service != "" && len(c.serviceProblems(b.service, asFilter)) == 0 {
			n.State, n.Driver, n.Where = NICInstalled, b.service, b.where+" "+b.id
			n.Message = fmt.Sprintf("a driver (%s) is installed for the %s: the VM will have network on it", b.service, spec.label)
			return n
		}
	}
	for _, s := range spec.services {
		if _, ok := c.services[strings.ToLower(s)]; ok {
			if why := c.serviceProblems(s, asFilter); len(why) == 0 {
				n.State, n.Driver, n.Where = NICInstalled, s, c.cs+`\Services\`+c.services[strings.ToLower(s)]
				n.Message = fmt.Sprintf("the %s driver is installed: the VM will have network on a %s", s, spec.label)
				return n
			} else {
				n.Notes = append(n.Notes, fmt.Sprintf("the %s service exists but %s", s, strings.Join(why, "; ")))
			}
		}
	}
	if where := c.staged(spec.infs); where != "" {
		n.State, n.Driver, n.Where = NICStaged, strings.TrimSuffix(spec.infs[0], ".inf"), where
		n.Message = fmt.Sprintf("the %s driver is staged in %s and is installed at the first boot: the network comes up after that", n.Driver, where)
		return n
	}
	n.State = NICMissing
	n.Message = fmt.Sprintf("no driver for the %s is installed or staged: the VM will have no network on a %s until one is installed (%s)", spec.label, spec.label, spec.remedy)
	return n
}

// staged returns the guest folder holding one of the INFs, "" when none.
func (c *checker) staged(infs []string) string {
	root := strings.Trim(c.in.SystemRoot, "/")
	for _, place := range stagePlaces {
		dir, _, err := resolve(c.in.FS, root+"/"+place)
		if err != nil {
			continue
		}
		ents, err := c.in.FS.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := strings.ToLower(e.Name())
			for _, inf := range infs {
				switch {
				case !e.IsDir() && name == inf:
					return `\` + strings.ReplaceAll(dir, "/", `\`)
				case e.IsDir() && (strings.HasPrefix(name, inf+"_") || strings.TrimSuffix(inf, ".inf") == strings.Split(name, "-")[0]):
					if _, _, err := resolve(c.in.FS, dir+"/"+e.Name()+"/"+inf); err == nil {
						return `\` + strings.ReplaceAll(dir+"/"+e.Name(), "/", `\`)
					}
				}
			}
		}
	}
	return ""
}
