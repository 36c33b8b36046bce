package inject

import (
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/safety"
)

// Finding codes of the package review.
const (
	CodeStorageUnusable = "inject.storage-package-unusable"
	CodeNICDropped      = "inject.nic-driver-not-used"
	CodeNoNIC           = "inject.no-nic-driver"
)

// nicDriver names the network driver each driver set ships, for the
// warning when a source of that set has none for the guest (virtio-win's
// layout: NetKVM/<os>/<arch>; the Xen PV drivers: xennet).
var nicDriver = map[drivers.Kind]string{
	drivers.KindVirtioWin:  "NetKVM",
	drivers.KindOracleVMPV: "the Oracle VM PV network driver (xennet)",
	drivers.KindXenPV:      "xennet",
}

// Storage and network device setup classes (Microsoft's system-defined
// device setup classes).
const (
	classSCSIAdapter = "{4D36E97B-E325-11CE-BFC1-08002BE10318}"
	classHDC         = "{4D36E96A-E325-11CE-BFC1-08002BE10318}"
	classNet         = "{4D36E972-E325-11CE-BFC1-08002BE10318}"
)

func isStorage(p *drivers.Package) bool {
	return strings.EqualFold(p.Class, "SCSIAdapter") || strings.EqualFold(p.Class, "HDC") ||
		strings.EqualFold(p.ClassGUID, classSCSIAdapter) || strings.EqualFold(p.ClassGUID, classHDC)
}

func isNet(p *drivers.Package) bool {
	return strings.EqualFold(p.Class, "Net") || strings.EqualFold(p.ClassGUID, classNet)
}

// packageProblems says why a package cannot be set up as its INF asks: an
// architecture no header or decoration gives (then no install section is
// read, so no service is known: issue 10), no service, or files missing.
func packageProblems(p *drivers.Package) []string {
	var out []string
	if p.Arch == "" {
		why := "its architecture cannot be determined"
		var bad []string
		for _, f := range p.Files {
			if f.Kind == drivers.KindSys && f.Present && f.PEError != "" {
				bad = append(bad, f.Name)
			}
		}
		if len(bad) > 0 {
			why += " (the header of " + strings.Join(bad, ", ") + " cannot be read as a Windows driver)"
		}
		out = append(out, why)
	}
	if len(p.Services) == 0 {
		out = append(out, "its INF installs no driver service for this architecture")
	}
	if m := p.Missing(); len(m) > 0 {
		out = append(out, "files its INF names are missing from the driver source ("+strings.Join(m, ", ")+")")
	}
	return out
}

// reviewPackages runs after selection. A storage package that cannot be
// set up blocks the plan: silently staging it instead would end in 0x7B. A
// non-storage package with missing files is not used (pnputil would fail
// on it at every boot: injection-facts §4.4), with a word when it is the
// NIC driver. Every package found and not used is listed with why.
func reviewPackages(p *Plan, src *drivers.Source, sel *drivers.Selection, guestArch inf.Arch) {
	kept := sel.Chosen[:0]
	chosen := map[*drivers.Package]bool{}
	for _, c := range sel.Chosen {
		pkg := c.Package
		why := packageProblems(pkg)
		switch {
		case len(why) == 0:
		case isStorage(pkg):
			p.Blockers = append(p.Blockers, safety.Finding{Severity: safety.Blocker, Code: CodeStorageUnusable,
				Message: fmt.Sprintf("the storage driver %s (%s) cannot be set up for boot: %s; without it Windows stops at boot with INACCESSIBLE_BOOT_DEVICE (0x7B) on that disk bus",
					pkg.Name, pkg.INFPath, strings.Join(why, "; ")),
				Remedy: "use an intact copy of the driver package for this Windows version and architecture (for example from the virtio-win ISO)"})
		default:
			p.Rejected = append(p.Rejected, Rejected{Name: pkg.Name, Path: pkg.INFPath, Reason: "not used: " + strings.Join(why, "; ")})
			if isNet(pkg) {
				p.Warnings = append(p.Warnings, safety.Finding{Severity: safety.Warning, Code: CodeNICDropped,
					Message: fmt.Sprintf("the network driver %s (%s) is not used: %s; the VM will have no network on its paravirtual NIC until a network driver is installed",
						pkg.Name, pkg.INFPath, strings.Join(why, "; ")),
					Remedy: "use a complete driver source, or give the VM an emulated NIC (e1000) until the driver is installed"})
			}
			continue
		}
		chosen[pkg] = true
		kept = append(kept, c)
	}
	sel.Chosen = kept
	noNICDriver(p, src, sel)

	listed := map[string]bool{}
	for _, r := range p.Rejected {
		if r.Path != "" {
			listed[r.Path] = true
		}
	}
	names := map[string]string{}
	for _, c := range sel.Chosen {
		names[c.Package.Name] = c.Package.INFPath
	}
	for _, pkg := range src.Packages {
		if chosen[pkg] || listed[pkg.INFPath] {
			continue
		}
		var why string
		switch {
		case pkg.Arch != "" && pkg.Arch != guestArch:
			why = fmt.Sprintf("built for %s; this Windows is %s", pkg.Arch, guestArch)
		case names[pkg.Name] != "":
			why = "another build of " + pkg.Name + " was chosen (" + names[pkg.Name] + ")"
		default:
			why = "not chosen for this Windows version"
		}
		listed[pkg.INFPath] = true
		p.Rejected = append(p.Rejected, Rejected{Name: pkg.Name, Path: pkg.INFPath, Reason: why})
	}
	for _, sk := range src.Skipped {
		if listed[sk.Path] {
			continue
		}
		listed[sk.Path] = true
		name := strings.TrimSuffix(path.Base(sk.Path), path.Ext(sk.Path))
		p.Rejected = append(p.Rejected, Rejected{Name: name, Path: sk.Path, Reason: "not a usable package: " + sk.Reason})
	}
}

// noNICDriver warns when a driver set that ships a network driver has none
// for this Windows: the migrated VM would come up without network on its
// paravirtual NIC, which an admin finds only after the move.
func noNICDriver(p *Plan, src *drivers.Source, sel *drivers.Selection) {
	name := nicDriver[src.Kind]
	if name == "" {
		return
	}
	for _, c := range sel.Chosen {
		if isNet(c.Package) {
			return
		}
	}
	for _, w := range p.Warnings {
		if w.Code == CodeNICDropped {
			return // already said, with the reason
		}
	}
	p.Warnings = append(p.Warnings, safety.Finding{Severity: safety.Warning, Code: CodeNoNIC,
		Title: "No network driver in this driver source",
		Message: fmt.Sprintf("The driver source has no %s for this Windows, so the VM will have no network on its paravirtual network adapter after the move.",
			name),
		Remedy: "Choose a complete driver source (for example the whole virtio-win ISO), or give the VM an emulated network adapter (e1000) until a network driver is installed."})
}

// Consents lists the risks the user accepted, in words, for the top of
// every report.
func (p *Plan) Consents() []string {
	var out []string
	if p.Options.AllowUnsigned || p.Request.AllowUnsigned {
		out = append(out, "You allowed unsigned drivers: 64-bit Windows loads an unsigned boot driver only with test signing on.")
	}
	if p.Options.AllowUnsupported || p.Request.AllowUnsupported {
		out = append(out, "You allowed a Windows version the driver set does not support: the vendor gives no guarantee that it works.")
	}
	return out
}

// UnusedSummary groups the packages not used by reason, one line each, so
// a full driver ISO's hundreds of other builds read as a few lines.
func (p *Plan) UnusedSummary() []string {
	groups := map[string][]string{}
	var keys []string
	for _, r := range p.Rejected {
		k := r.Reason
		if strings.HasPrefix(k, "another build of ") {
			k = "another build of the same driver was chosen"
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r.Name)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		ns := uniqueSorted(groups[k])
		list := strings.Join(ns, ", ")
		if len(ns) > 8 {
			list = strings.Join(ns[:8], ", ") + fmt.Sprintf(" and %d more", len(ns)-8)
		}
		out = append(out, fmt.Sprintf("%s: %s", k, list))
	}
	return out
}

func uniqueSorted(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// writeAttention puts what a person must know first at the top of the
// text report: the boot check's verdict, blockers, warnings and the risks
// they accepted.
func (r *Report) writeAttention(w io.Writer) {
	p := r.Plan
	if r.Applied {
		switch {
		case !r.Boot.Checked:
			fmt.Fprintln(w, "BOOT CHECK COULD NOT RUN: do not assume the VM boots.")
		case r.Boot.OK:
			fmt.Fprintln(w, "Boot check: Windows will boot.")
		default:
			fmt.Fprintln(w, "BOOT CHECK: WINDOWS WILL NOT BOOT. Do not start the VM on the new hypervisor yet.")
		}
		for _, s := range r.Boot.Summary {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	for _, f := range p.Blockers {
		fmt.Fprintf(w, "BLOCKER %s: %s", f.Code, f.Message)
		if f.Remedy != "" {
			fmt.Fprintf(w, " -> %s", f.Remedy)
		}
		fmt.Fprintln(w)
	}
	for _, f := range p.Warnings {
		fmt.Fprintf(w, "warning %s: %s\n", f.Code, f.Message)
	}
	for _, c := range p.Consents() {
		fmt.Fprintf(w, "accepted risk: %s\n", c)
	}
}

// Attention is the top of the JSON report.
type Attention struct {
	// Boots is the boot check's verdict on the written image (false before
	// apply, and whenever the check did not run); Boot says it in words.
	Boots    bool             `json:"boots"`
	Boot     []string         `json:"boot"`
	Blockers []safety.Finding `json:"blockers"`
	Warnings []safety.Finding `json:"warnings"`
	Consents []string         `json:"consents"`
}

func attentionOf(p *Plan) Attention {
	a := Attention{Boot: []string{}, Blockers: p.Blockers, Warnings: p.Warnings, Consents: p.Consents()}
	if a.Blockers == nil {
		a.Blockers = []safety.Finding{}
	}
	if a.Warnings == nil {
		a.Warnings = []safety.Finding{}
	}
	if a.Consents == nil {
		a.Consents = []string{}
	}
	return a
}
