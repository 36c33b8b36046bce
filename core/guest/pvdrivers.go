package guest

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// PVDriver is a paravirtual driver service registered in the current
// control set, with the version of its driver file when readable.
type PVDriver struct {
	Family    string `json:"family"` // virtio, xen, vmware, parallels, hyperv
	Service   string `json:"service"`
	Start     int    `json:"start"` // 0 boot, 1 system, 2 auto, 3 demand, 4 disabled; -1 unset
	ImagePath string `json:"image_path,omitempty"`
	File      string `json:"file,omitempty"` // path on the volume that was read
	Version   string `json:"version,omitempty"`
	Vendor    string `json:"vendor,omitempty"` // CompanyName of the file
	Error     string `json:"error,omitempty"`  // why the version could not be read
}

// Product is an installed PV driver package from the Uninstall list.
type Product struct {
	Family  string `json:"family"`
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Set is the driver-set id the matrix uses (e.g. "oracle-pv-3.2.2"),
	// "" when the package is not one of them.
	Set string `json:"set,omitempty"`
}

// pvServices maps PV driver service names to their family. The Oracle
// guide names no service; Oracle's drivers are recognised from the Uninstall
// list and from the CompanyName of xen* driver files instead.
var pvServices = []struct{ svc, family string }{
	{"viostor", "virtio"}, {"vioscsi", "virtio"}, {"netkvm", "virtio"}, {"balloon", "virtio"},
	{"vioser", "virtio"}, {"viorng", "virtio"}, {"pvpanic", "virtio"}, {"viofs", "virtio"},
	{"xenbus", "xen"}, {"xenvbd", "xen"}, {"xennet", "xen"}, {"xenfilt", "xen"}, {"xenvif", "xen"},
	{"xeniface", "xen"}, {"xenblk", "xen"}, {"xendisk", "xen"}, {"rhelscsi", "xen"},
	// GPLPV's bus driver, an UpperFilter of the IDE class: left there
	// disabled it gives 0x7B (QubesOS/qubes-issues#1078; facts §3.3).
	{"xenpci", "xen"},
	{"vmscsi", "vmware"}, {"pvscsi", "vmware"}, {"vmxnet3ndis6", "vmware"}, {"vmxnet3", "vmware"},
	{"vm3dmp", "vmware"}, {"vmci", "vmware"}, {"vsock", "vmware"}, {"VMTools", "vmware"},
	{"storvsc", "hyperv"}, {"netvsc", "hyperv"}, {"vmbus", "hyperv"},
}

const maxDriverFile = 64 << 20 // the largest PV driver files are a few MiB

// readPVDrivers lists the PV services present in control set cs and reads
// their driver files' versions. Only files below %SystemRoot% are read.
func readPVDrivers(v FS, sys Hive, cs string, c candidate) ([]PVDriver, error) {
	var out []PVDriver
	for _, p := range pvServices {
		k, found, err := readKey(sys, cs+`\Services\`+p.svc)
		if err != nil {
			return out, fmt.Errorf("reading %s\\Services\\%s: %w", cs, p.svc, err)
		}
		if !found {
			continue
		}
		d := PVDriver{Family: p.family, Service: p.svc, Start: -1, ImagePath: k.str("ImagePath")}
		if n, ok := k.uint("Start"); ok && n <= 4 {
			d.Start = int(n)
		}
		rel, ok := driverFile(d.ImagePath, p.svc)
		if !ok {
			out = append(out, d)
			continue
		}
		path, _, err := resolvePath(v, c.root, rel)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			d.Error = "driver file " + rel + " not found"
		case err != nil:
			d.Error = err.Error()
		default:
			d.File = path
			d.Version, d.Vendor, err = fileVersion(v, path)
			if err != nil {
				d.Error = err.Error()
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// driverFile turns a service ImagePath into a slash path relative to
// %SystemRoot%. Forms seen: "system32\drivers\x.sys",
// "\SystemRoot\System32\drivers\x.sys", "%SystemRoot%\...",
// "C:\Windows\...". Without ImagePath the kernel loads
// System32\drivers\<service>.sys. ok is false for files outside
// %SystemRoot% (e.g. Program Files), which detection does not read.
func driverFile(imagePath, svc string) (string, bool) {
	p := strings.TrimSpace(strings.Trim(imagePath, `"`))
	if p == "" {
		return "System32/drivers/" + svc + ".sys", true
	}
	if i := strings.Index(strings.ToLower(p), ".sys"); i >= 0 {
		p = p[:i+4] // drop arguments
	} else if i := strings.Index(strings.ToLower(p), ".exe"); i >= 0 {
		p = p[:i+4]
	}
	p = strings.ReplaceAll(p, `\`, "/")
	lower := strings.ToLower(p)
	for _, prefix := range []string{"/systemroot/", "%systemroot%/", `/??/c:/windows/`, "c:/windows/", "/"} {
		if strings.HasPrefix(lower, prefix) {
			p = p[len(prefix):]
			lower = lower[len(prefix):]
			break
		}
	}
	if strings.Contains(lower, ":") || !strings.HasPrefix(lower, "system32/") || !fs.ValidPath(p) {
		return "", false
	}
	return p, true
}

// fileVersion reads a driver file's version resource.
func fileVersion(v FS, path string) (version, vendor string, err error) {
	b, err := readBounded(v, path, maxDriverFile)
	if err != nil {
		return "", "", err
	}
	vi, err := PEVersionInfo(b)
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	return vi.FileVersion, vi.Strings["CompanyName"], nil
}

const (
	uninstallKey     = `Microsoft\Windows\CurrentVersion\Uninstall`
	uninstallKeyWow  = `WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`
	maxUninstallKeys = 5000
)

// readProducts finds PV driver packages in the Uninstall lists (the native
// one and, on 64-bit Windows, the 32-bit one: Oracle's installer is an
// InstallShield package).
func readProducts(sw Hive) ([]Product, error) {
	var out []Product
	for _, base := range []string{uninstallKey, uninstallKeyWow} {
		names, err := subkeys(sw, base)
		if err != nil {
			return out, fmt.Errorf("listing SOFTWARE\\%s: %w", base, err)
		}
		if len(names) > maxUninstallKeys {
			names = names[:maxUninstallKeys]
		}
		for _, n := range names {
			k, _, err := readKey(sw, base+`\`+n)
			if err != nil {
				return out, fmt.Errorf("reading SOFTWARE\\%s\\%s: %w", base, n, err)
			}
			if p, ok := classifyProduct(k.str("DisplayName"), k.str("DisplayVersion")); ok {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

func classifyProduct(name, ver string) (Product, bool) {
	l := strings.ToLower(name)
	p := Product{Name: name, Version: ver}
	switch {
	case strings.Contains(l, "oracle vm") && (strings.Contains(l, "pv") || strings.Contains(l, "paravirtual")):
		p.Family = "xen"
		for _, r := range []string{"3.2.3", "3.2.2", "3.0.1"} {
			if strings.HasPrefix(ver, r) || strings.Contains(l, r) {
				p.Set = "oracle-pv-" + r
			}
		}
	case strings.Contains(l, "xcp-ng") || strings.Contains(l, "xenserver") || strings.Contains(l, "citrix vm tools") ||
		(strings.Contains(l, "citrix") && strings.Contains(l, "xen")) || strings.Contains(l, "xen pv") ||
		strings.Contains(l, "paravirtualized xen"):
		p.Family = "xen"
	case strings.Contains(l, "virtio-win"):
		p.Family = "virtio"
	case strings.Contains(l, "vmware tools"):
		p.Family = "vmware"
	case strings.Contains(l, "parallels tools") || strings.Contains(l, "virtuozzo tools"):
		// The names virt-v2v matches (convert_windows.ml, prltools_uninsts).
		p.Family = "parallels"
	default:
		return p, false
	}
	return p, true
}
