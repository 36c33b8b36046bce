package inf

import (
	"fmt"
	"strconv"
	"strings"
)

// Arch is a Windows platform as INF decorations spell it.
type Arch string

const (
	ArchX86   Arch = "x86"
	ArchAMD64 Arch = "amd64"
	ArchARM64 Arch = "arm64"
	ArchIA64  Arch = "ia64"
	ArchARM   Arch = "arm"
)

// Product types (VER_NT_* in winnt.h) used by TargetOSVersion.
const (
	ProductWorkstation      = 1
	ProductDomainController = 2
	ProductServer           = 3
)

// OS describes the Windows a package is being chosen for.
type OS struct {
	Arch         Arch
	Major, Minor int
	Build        int
	ProductType  int    // 1 workstation, 2 domain controller, 3 server; 0 unknown
	SuiteMask    uint32 // VER_SUITE_* bits the OS has; 0 unknown
}

func (o OS) String() string {
	return fmt.Sprintf("NT%s %d.%d build %d product type %d", o.Arch, o.Major, o.Minor, o.Build, o.ProductType)
}

// TargetOS is one TargetOSVersion decoration:
// NT[Architecture][.[OSMajorVersion][.[OSMinorVersion][.[ProductType][.[SuiteMask][.[BuildNumber]]]]]].
// Absent numeric parts are -1 (versions) or 0 (the rest).
type TargetOS struct {
	Raw          string
	Arch         Arch
	Major, Minor int
	ProductType  int
	SuiteMask    uint32
	Build        int
}

// ParseTargetOS decodes a decoration such as "NTamd64.10.0...14393".
func ParseTargetOS(s string) (TargetOS, error) {
	t := TargetOS{Raw: s, Major: -1, Minor: -1}
	parts := strings.Split(strings.TrimSpace(s), ".")
	head := strings.ToLower(parts[0])
	if !strings.HasPrefix(head, "nt") {
		return t, fmt.Errorf("%w: TargetOSVersion %q does not start with NT", ErrSyntax, s)
	}
	switch a := Arch(head[2:]); a {
	case "", ArchX86, ArchAMD64, ArchARM64, ArchIA64, ArchARM:
		t.Arch = a
	default:
		return t, fmt.Errorf("%w: TargetOSVersion %q: unknown architecture %q", ErrSyntax, s, a)
	}
	if len(parts) > 6 {
		return t, fmt.Errorf("%w: TargetOSVersion %q has too many parts", ErrSyntax, s)
	}
	num := func(i int) (uint32, bool, error) {
		if i >= len(parts) || strings.TrimSpace(parts[i]) == "" {
			return 0, false, nil
		}
		v, err := parseNumber(parts[i])
		if err != nil {
			return 0, false, fmt.Errorf("TargetOSVersion %q: %w", s, err)
		}
		return v, true, nil
	}
	for i := 1; i < len(parts); i++ {
		v, ok, err := num(i)
		if err != nil {
			return t, err
		}
		if !ok {
			continue
		}
		if (i == 1 || i == 2 || i == 5) && v > 1<<30 {
			return t, fmt.Errorf("%w: TargetOSVersion %q: number out of range", ErrSyntax, s)
		}
		switch i {
		case 1:
			t.Major = int(v)
		case 2:
			t.Minor = int(v)
		case 3:
			t.ProductType = int(v)
		case 4:
			t.SuiteMask = v
		case 5:
			t.Build = int(v)
		}
	}
	if t.Major >= 0 && t.Minor < 0 {
		t.Minor = 0
	}
	return t, nil
}

// Matches reports whether Windows would consider this decoration on o.
func (t TargetOS) Matches(o OS) bool {
	if t.Arch != "" && t.Arch != o.Arch {
		return false
	}
	if t.Major >= 0 && (o.Major < t.Major || o.Major == t.Major && o.Minor < t.Minor) {
		return false
	}
	if t.ProductType != 0 && t.ProductType != o.ProductType {
		return false
	}
	if t.SuiteMask != 0 && o.SuiteMask&t.SuiteMask != t.SuiteMask {
		return false
	}
	if t.Build != 0 && o.Build < t.Build {
		return false
	}
	return true
}

// better reports whether t is a closer match than u: the higher OS version
// (major, minor, then build) wins, then the more specific decoration
// (architecture, product type, suite mask given).
func (t TargetOS) better(u TargetOS) bool {
	if t.Major != u.Major {
		return t.Major > u.Major
	}
	if t.Minor != u.Minor {
		return t.Minor > u.Minor
	}
	if t.Build != u.Build {
		return t.Build > u.Build
	}
	return t.specificity() > u.specificity()
}

func (t TargetOS) specificity() int {
	n := 0
	if t.Arch != "" {
		n++
	}
	if t.ProductType != 0 {
		n++
	}
	if t.SuiteMask != 0 {
		n++
	}
	return n
}

// SelectTarget picks the decoration Windows uses on o. It returns false when
// none applies. An empty targets list, or no matching decoration, selects
// the undecorated models section only on x86: since Windows Server 2003 SP1
// other platforms require a decorated section.
func SelectTarget(targets []TargetOS, o OS) (TargetOS, string, bool) {
	var (
		best  TargetOS
		found bool
	)
	for _, t := range targets {
		if !t.Matches(o) {
			continue
		}
		if !found || t.better(best) {
			best, found = t, true
		}
	}
	if found {
		return best, fmt.Sprintf("decoration %s is the closest match for %s", best.Raw, o), true
	}
	if o.Arch == ArchX86 {
		return TargetOS{Major: -1, Minor: -1}, fmt.Sprintf("no decoration matches %s; x86 falls back to the undecorated models section", o), true
	}
	var raws []string
	for _, t := range targets {
		raws = append(raws, t.Raw)
	}
	return TargetOS{}, fmt.Sprintf("no decoration among [%s] matches %s, and %s requires a decorated models section", strings.Join(raws, ", "), o, o.Arch), false
}

// Manufacturer is one line of [Manufacturer].
type Manufacturer struct {
	Name          string
	ModelsSection string
	Targets       []TargetOS
}

// Model is one device line of a models section.
type Model struct {
	Manufacturer   string
	ModelsSection  string // the decorated section it came from
	Decoration     string // its TargetOSVersion decoration, "" when undecorated
	Description    string
	InstallSection string // as written; resolve with File.Install
	HardwareID     string
	CompatibleIDs  []string
}

// Manufacturers decodes [Manufacturer]. Malformed decorations are reported
// in Warnings and skipped.
func (f *File) Manufacturers() []Manufacturer {
	sec := f.Section("Manufacturer")
	if sec == nil {
		return nil
	}
	var out []Manufacturer
	for _, ln := range sec.Lines {
		m := Manufacturer{}
		fields := ln.Fields
		if ln.HasKey {
			m.Name = ln.Key
		} else if len(fields) > 0 {
			m.Name = fields[0] // "manufacturer-name" form: the name is the models section
		}
		if len(fields) == 0 || strings.TrimSpace(fields[0]) == "" {
			continue
		}
		m.ModelsSection = strings.TrimSpace(fields[0])
		for _, d := range fields[1:] {
			if strings.TrimSpace(d) == "" {
				continue
			}
			t, err := ParseTargetOS(d)
			if err != nil {
				f.warn(lineMsg(ln.LineNo, err.Error()))
				continue
			}
			m.Targets = append(m.Targets, t)
		}
		out = append(out, m)
	}
	return out
}

// ModelSelection is the result of choosing models sections for an OS.
type ModelSelection struct {
	Models   []Model
	Sections []string // decorated models sections used
	Reasons  []string
}

// ModelsFor returns the device models Windows would offer on o, from every
// manufacturer's best-matching models section.
func (f *File) ModelsFor(o OS) (ModelSelection, error) {
	var sel ModelSelection
	mans := f.Manufacturers()
	if len(mans) == 0 {
		return sel, fmt.Errorf("%s: %w: [Manufacturer] is missing or empty", f.Name, ErrNoSection)
	}
	for _, m := range mans {
		t, why, ok := SelectTarget(m.Targets, o)
		sel.Reasons = append(sel.Reasons, m.ModelsSection+": "+why)
		if !ok {
			continue
		}
		name := m.ModelsSection
		if t.Raw != "" {
			name += "." + t.Raw
		}
		sec := f.Section(name)
		if sec == nil {
			return sel, fmt.Errorf("%s: %w: models section [%s] named by [Manufacturer] is absent", f.Name, ErrNoSection, name)
		}
		sel.Sections = append(sel.Sections, sec.Name)
		for _, ln := range sec.Lines {
			if len(ln.Fields) < 2 || ln.Field(0) == "" {
				continue
			}
			md := Model{Manufacturer: m.Name, ModelsSection: sec.Name, Decoration: t.Raw, Description: ln.Key,
				InstallSection: ln.Field(0), HardwareID: ln.Field(1)}
			for _, c := range ln.Fields[2:] {
				if c != "" {
					md.CompatibleIDs = append(md.CompatibleIDs, c)
				}
			}
			sel.Models = append(sel.Models, md)
		}
	}
	if len(sel.Sections) == 0 {
		return sel, fmt.Errorf("%s: no models section applies to %s: %s", f.Name, o, strings.Join(sel.Reasons, "; "))
	}
	return sel, nil
}

// AllModels returns the models of every models section named by
// [Manufacturer], with any decoration; used to list hardware ids.
func (f *File) AllModels() []Model {
	var out []Model
	for _, m := range f.Manufacturers() {
		decs := []string{""}
		for _, t := range m.Targets {
			decs = append(decs, t.Raw)
		}
		for _, d := range decs {
			n := m.ModelsSection
			if d != "" {
				n += "." + d
			}
			sec := f.Section(n)
			if sec == nil {
				continue
			}
			for _, ln := range sec.Lines {
				if len(ln.Fields) < 2 {
					continue
				}
				out = append(out, Model{Manufacturer: m.Name, ModelsSection: sec.Name, Decoration: d, Description: ln.Key,
					InstallSection: ln.Field(0), HardwareID: ln.Field(1), CompatibleIDs: ln.Fields[2:]})
			}
		}
	}
	return out
}

// ProductTypeString names a VER_NT_* value.
func ProductTypeString(p int) string {
	switch p {
	case ProductWorkstation:
		return "workstation"
	case ProductDomainController:
		return "domain controller"
	case ProductServer:
		return "server"
	}
	return strconv.Itoa(p)
}
