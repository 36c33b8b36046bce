package drivers

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// GuestInfo is what selection needs to know about the guest. The caller
// maps its detected guest to it; OSDir may be left empty to derive it.
type GuestInfo struct {
	OSDir        string   // virtio-win directory name: xp, 2k3, 2k8, w7, 2k8R2, ..., w11, 2k25
	Arch         inf.Arch // x86, amd64, arm64
	Major, Minor int
	Build        int
	Server       bool
}

// OS converts to the INF decoration matcher's view. A server is product
// type 3; a domain controller (2) cannot be told apart offline here.
func (g GuestInfo) OS() inf.OS {
	pt := inf.ProductWorkstation
	if g.Server {
		pt = inf.ProductServer
	}
	return inf.OS{Arch: g.Arch, Major: g.Major, Minor: g.Minor, Build: g.Build, ProductType: pt}
}

// Choice is a package picked for the guest and why.
type Choice struct {
	Package      *Package
	Reason       string
	ExactOS      bool // from the guest's own OS directory (layout sources) or an exact decoration
	BootCritical bool // boot-disk storage: pre-seed offline
	BootBus      bool // boot-start bus driver the boot storage needs (xenbus)
	Models       inf.ModelSelection
}

// Rejection is a package, or a whole driver, not chosen and why.
type Rejection struct {
	Name   string
	Path   string
	Reason string
}

// Selection is the result of Select.
type Selection struct {
	Guest    GuestInfo
	Chosen   []Choice
	Rejected []Rejection
}

// ErrNoMatch is returned when nothing in the source fits the guest.
var ErrNoMatch = errors.New("drivers: no package fits the guest")

// Select picks the packages for g. Layout sources (virtio-win) choose per
// driver directory: the guest's own OS directory, else the newest
// compatible older one (same NT generation, not newer than the guest, same
// client/server line unless the kernel version is identical), else refuse
// that driver. Other sources choose per INF name. In every case the INF
// must have a models section for the guest (the rule Windows applies) and
// its .sys files must be built for the guest's architecture.
func (s *Source) Select(g GuestInfo) (*Selection, error) {
	if g.OSDir == "" {
		d, err := OSDirFor(g.Major, g.Minor, g.Build, g.Server)
		if err != nil {
			return nil, err
		}
		g.OSDir = d
	}
	gd, ok := lookupOSDir(g.OSDir)
	if !ok {
		return nil, fmt.Errorf("drivers: unknown guest OS directory %q", g.OSDir)
	}
	sel := &Selection{Guest: g}
	groups := map[string][]*Package{}
	var keys []string
	for _, p := range s.Packages {
		k := p.Name
		if p.OSDir != "" {
			k = strings.ToLower(p.Driver) + "/" + p.Name
		}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], p)
	}
	sort.Strings(keys)
	chosenNames := map[string]bool{}
	for _, k := range keys {
		c, rej := pickFromGroup(groups[k], g, gd)
		sel.Rejected = append(sel.Rejected, rej...)
		if c == nil {
			continue
		}
		// The storage-only amd64/<os>/ layout repeats <Driver>/<os>/<arch>:
		// keep one package per INF name.
		if chosenNames[c.Package.Name] {
			sel.Rejected = append(sel.Rejected, Rejection{c.Package.Name, c.Package.INFPath, "duplicate of a package already chosen from another layout"})
			continue
		}
		chosenNames[c.Package.Name] = true
		sel.Chosen = append(sel.Chosen, *c)
	}
	if len(sel.Chosen) == 0 {
		var why []string
		for _, r := range sel.Rejected {
			why = append(why, r.Name+": "+r.Reason)
		}
		return sel, fmt.Errorf("%w: %s %s in %s: %s", ErrNoMatch, g.OSDir, g.Arch, s.Path, strings.Join(why, "; "))
	}
	// Boot-critical storage first: it is what the plan must pre-seed.
	rank := func(c Choice) int {
		switch {
		case c.BootCritical:
			return 0
		case c.BootBus:
			return 1
		}
		return 2
	}
	sort.SliceStable(sel.Chosen, func(i, j int) bool { return rank(sel.Chosen[i]) < rank(sel.Chosen[j]) })
	return sel, nil
}

func archMatches(p *Package, g GuestInfo) (bool, string) {
	if p.ArchDir != "" {
		if a := archDirs[strings.ToLower(p.ArchDir)]; a != g.Arch {
			return false, fmt.Sprintf("directory %s is for %s", p.ArchDir, a)
		}
	}
	if p.Arch != "" && p.Arch != g.Arch {
		return false, fmt.Sprintf("its .sys files are %s", p.Arch)
	}
	return true, ""
}

// compatible reports whether a package built for OS directory d may serve
// guest directory gd: same NT major version, not built for a newer
// Windows, and the same client/server line unless the kernel version is
// the same (w10 for 2k16).
func compatible(d, gd osDir) bool {
	if d.Major != gd.Major {
		return false
	}
	if d.Minor > gd.Minor || d.Minor == gd.Minor && d.Build > gd.Build {
		return false
	}
	return d.Server == gd.Server || d.Minor == gd.Minor
}

// closer reports whether directory a serves guest gd better than b: the
// guest's own client/server line first (server Windows wants drivers signed
// for server), then the newest build.
func closer(a, b, gd osDir) bool {
	if (a.Server == gd.Server) != (b.Server == gd.Server) {
		return a.Server == gd.Server
	}
	if a.Minor != b.Minor {
		return a.Minor > b.Minor
	}
	return a.Build > b.Build
}

func pickFromGroup(pkgs []*Package, g GuestInfo, gd osDir) (*Choice, []Rejection) {
	var rej []Rejection
	var cands []*Package
	for _, p := range pkgs {
		if ok, why := archMatches(p, g); !ok {
			_ = why // other architectures are expected in every source: not worth listing one by one
			continue
		}
		cands = append(cands, p)
	}
	name := pkgs[0].Name
	if pkgs[0].Driver != "" {
		name = pkgs[0].Driver
	}
	if len(cands) == 0 {
		return nil, []Rejection{{name, "", fmt.Sprintf("no %s build", g.Arch)}}
	}
	layout := cands[0].OSDir != ""
	var best *Package
	var reason string
	exact := false
	if layout {
		var avail []string
		for _, p := range cands {
			avail = append(avail, p.OSDir)
			// Prefer <Driver>/<os>/<arch> over the storage-only copy.
			if strings.EqualFold(p.OSDir, gd.Name) && (best == nil || best.flatLayout) {
				best, exact = p, true
			}
		}
		if best == nil {
			var bestDir osDir
			for _, p := range cands {
				d, ok := lookupOSDir(p.OSDir)
				if !ok || !compatible(d, gd) {
					continue
				}
				if best == nil || closer(d, bestDir, gd) {
					best, bestDir = p, d
				}
			}
			if best == nil {
				return nil, []Rejection{{name, "", fmt.Sprintf("no directory for %s %s and no compatible older one (have %s)", gd.Name, g.Arch, strings.Join(avail, ", "))}}
			}
			reason = fmt.Sprintf("%s from %s: newest directory not newer than the guest (%s missing)", best.Name, best.Dir, gd.Name)
		} else {
			reason = fmt.Sprintf("%s from %s: exact OS match", best.Name, best.Dir)
		}
	} else {
		// Plain folders: the newest DriverVer among those whose INF applies.
		for _, p := range cands {
			if _, err := p.INF.ModelsFor(g.OS()); err != nil {
				rej = append(rej, Rejection{p.Name, p.INFPath, err.Error()})
				continue
			}
			if best == nil || newerDriver(p, best) {
				if best != nil {
					rej = append(rej, Rejection{best.Name, best.INFPath, "older DriverVer " + best.DriverVer() + " than " + p.INFPath})
				}
				best = p
			} else {
				rej = append(rej, Rejection{p.Name, p.INFPath, "older DriverVer " + p.DriverVer() + " than " + best.INFPath})
			}
		}
		if best == nil {
			return nil, rej
		}
	}
	ms, err := best.INF.ModelsFor(g.OS())
	if err != nil {
		return nil, append(rej, Rejection{best.Name, best.INFPath, "its INF does not apply: " + err.Error()})
	}
	if !layout {
		reason = fmt.Sprintf("%s from %s: models section %s applies to %s", best.Name, best.INFPath, strings.Join(ms.Sections, ", "), g.OS())
		exact = true
	} else {
		reason += "; models section " + strings.Join(ms.Sections, ", ")
	}
	if best.Arch != "" {
		reason += fmt.Sprintf("; .sys built for %s", best.Arch)
	}
	return &Choice{Package: best, Reason: reason, ExactOS: exact, BootCritical: best.BootCritical(), BootBus: best.BusCritical(), Models: ms}, rej
}

func newerDriver(a, b *Package) bool {
	if !a.DriverDate.Equal(b.DriverDate) {
		return a.DriverDate.After(b.DriverDate)
	}
	for i := range a.DriverVersion {
		if a.DriverVersion[i] != b.DriverVersion[i] {
			return a.DriverVersion[i] > b.DriverVersion[i]
		}
	}
	return false
}

// Installs resolves the install sections of the chosen models for the
// guest's architecture (one per distinct section): what the plan needs for
// service keys, AddReg and the device (.HW) settings.
func (c Choice) Installs(arch inf.Arch) ([]*inf.Install, error) {
	seen := map[string]bool{}
	var out []*inf.Install
	for _, m := range c.Models.Models {
		k := strings.ToLower(m.InstallSection)
		if seen[k] {
			continue
		}
		seen[k] = true
		in, err := c.Package.INF.Install(m.InstallSection, arch)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Package.INFPath, err)
		}
		out = append(out, in)
	}
	return out, nil
}
