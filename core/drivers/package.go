package drivers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// FileKind classifies a package file by extension.
type FileKind string

const (
	KindINF   FileKind = "inf"
	KindSys   FileKind = "sys"
	KindCat   FileKind = "cat"
	KindDLL   FileKind = "dll"
	KindExe   FileKind = "exe"
	KindOther FileKind = "other"
)

func kindOf(name string) FileKind {
	switch strings.ToLower(path.Ext(name)) {
	case ".inf":
		return KindINF
	case ".sys":
		return KindSys
	case ".cat":
		return KindCat
	case ".dll":
		return KindDLL
	case ".exe":
		return KindExe
	}
	return KindOther
}

// PackageFile is one file of a package.
type PackageFile struct {
	Name    string // as the INF names it
	Path    string // slash path in the source; "" when missing
	Size    int64
	Kind    FileKind
	Present bool
	Arch    inf.Arch // machine type from the PE header (sys, dll, exe)
	PEError string   // why the PE header could not be read
}

// CatalogStatus is the offline signature state of a package.
type CatalogStatus struct {
	Name    string // catalog the INF names for the package's arch ("" = none named)
	Present bool
	Valid   bool // structurally valid PKCS#7 SignedData with a signer
	Info    CatalogInfo
	Problem string // why it is not usable, for messages
}

// Package is one INF and the files it references.
type Package struct {
	Name     string // INF base name, lower case, no extension: "viostor"
	INFName  string // as found: "viostor.inf"
	INFPath  string // slash path in the source
	Dir      string
	INF      *inf.File
	Arch     inf.Arch // from the .sys files' PE headers, else from the INF decorations
	Class    string
	Provider string
	// ClassGUID in registry form; DriverDate/DriverVersion from DriverVer.
	ClassGUID     string
	DriverDate    time.Time
	DriverVersion [4]uint16
	Files         []PackageFile
	Services      []inf.Service
	HardwareIDs   []string
	Catalog       CatalogStatus
	Warnings      []string

	// Where a layout-aware source found it (virtio-win: NetKVM/w10/amd64).
	Driver, OSDir, ArchDir string
	flatLayout             bool // found in the storage-only <arch>/<os>/ layout
}

// DriverVer renders the DriverVer as Windows shows it.
func (p *Package) DriverVer() string {
	v := p.DriverVersion
	return fmt.Sprintf("%s,%d.%d.%d.%d", p.DriverDate.Format("01/02/2006"), v[0], v[1], v[2], v[3])
}

// Signed reports whether the package has its catalog, named by the INF for
// its architecture, present and structurally valid. It does NOT validate
// Authenticode signatures or file hashes (see the package doc).
func (p *Package) Signed() bool { return p.Catalog.Valid }

// ErrMissingFile marks a package whose INF references a file not found.
var ErrMissingFile = errors.New("drivers: package file missing")

// MaxINFSize bounds an INF read from a source.
const MaxINFSize = inf.MaxFileSize

func readBounded(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}

// lookupFold finds name in dir case-insensitively (INFs and ISO9660 names
// disagree on case; Windows does not care).
func lookupFold(fsys fs.FS, dir, name string) (string, fs.FileInfo, bool) {
	p := path.Join(dir, name)
	if st, err := fs.Stat(fsys, p); err == nil && !st.IsDir() {
		return p, st, true
	}
	ents, err := fs.ReadDir(fsys, path.Dir(p))
	if err != nil {
		return "", nil, false
	}
	base := path.Base(p)
	for _, e := range ents {
		if strings.EqualFold(e.Name(), base) && !e.IsDir() {
			st, err := e.Info()
			if err != nil {
				return "", nil, false
			}
			return path.Join(path.Dir(p), e.Name()), st, true
		}
	}
	return "", nil, false
}

// LoadPackage parses the INF at infPath in fsys and inspects the files it
// references. Template INFs are refused (inf.ErrTemplate). Missing files
// are recorded, not fatal: the caller decides (see Package.Missing).
func LoadPackage(fsys fs.FS, infPath string, opts inf.Options) (*Package, error) {
	b, err := readBounded(fsys, infPath, MaxINFSize)
	if err != nil {
		return nil, fmt.Errorf("drivers: %w", err)
	}
	f, err := inf.Parse(infPath, b, opts)
	if err != nil {
		return nil, err
	}
	base := path.Base(infPath)
	p := &Package{
		Name: strings.ToLower(strings.TrimSuffix(base, path.Ext(base))), INFName: base, INFPath: infPath,
		Dir: path.Dir(infPath), INF: f, Class: f.Version.Class, Provider: f.Version.Provider,
		DriverDate: f.Version.DriverDate, DriverVersion: f.Version.DriverVersion,
	}
	if f.Version.HasClassGUID {
		p.ClassGUID = f.Version.ClassGUID.String()
	}
	p.Files = append(p.Files, PackageFile{Name: base, Path: infPath, Kind: KindINF, Present: true, Size: int64(len(b))})

	// Binaries first: their PE headers give the package's architecture,
	// which picks the catalog and install-section decorations.
	names := f.SourceFiles()
	for _, n := range names {
		p.Files = append(p.Files, p.inspect(fsys, n, inf.ArchAMD64))
	}
	p.Arch = p.binaryArch()
	if p.Arch == "" {
		p.Arch = decoratedArch(f)
	}
	for i := range p.Files { // re-resolve with the real arch's [SourceDisksFiles.<arch>]
		if p.Files[i].Kind != KindINF && p.Arch != inf.ArchAMD64 {
			p.Files[i] = p.inspect(fsys, p.Files[i].Name, p.Arch)
		}
	}
	p.collectModels()
	p.checkCatalog(fsys)
	for _, fl := range p.Files {
		if fl.Kind == KindSys && fl.Present && fl.Arch != "" && p.Arch != "" && fl.Arch != p.Arch {
			p.Warnings = append(p.Warnings, fmt.Sprintf("%s is %s but the package is %s", fl.Name, fl.Arch, p.Arch))
		}
	}
	return p, nil
}

func (p *Package) inspect(fsys fs.FS, name string, arch inf.Arch) PackageFile {
	pf := PackageFile{Name: name, Kind: kindOf(name)}
	rel, ok := p.INF.SourceFile(name, arch)
	if !ok {
		rel = name
	}
	full, st, found := lookupFold(fsys, p.Dir, rel)
	if !found && rel != name { // fall back to the INF's own folder
		full, st, found = lookupFold(fsys, p.Dir, name)
	}
	if !found {
		return pf
	}
	pf.Path, pf.Present, pf.Size = full, true, st.Size()
	if pf.Kind == KindSys || pf.Kind == KindDLL || pf.Kind == KindExe {
		b, err := readBounded(fsys, full, MaxBinarySize)
		if err != nil {
			pf.PEError = err.Error()
			return pf
		}
		a, err := peArch(b)
		if err != nil {
			pf.PEError = err.Error()
		}
		pf.Arch = a
	}
	return pf
}

// binaryArch is the machine type shared by the package's .sys files.
func (p *Package) binaryArch() inf.Arch {
	var a inf.Arch
	for _, fl := range p.Files {
		if fl.Kind == KindSys && fl.Arch != "" {
			if a == "" {
				a = fl.Arch
			}
		}
	}
	return a
}

// decoratedArch is the single architecture the INF's models sections are
// decorated for, "" when none or several.
func decoratedArch(f *inf.File) inf.Arch {
	var a inf.Arch
	for _, m := range f.Manufacturers() {
		for _, t := range m.Targets {
			if t.Arch == "" {
				continue
			}
			if a != "" && a != t.Arch {
				return ""
			}
			a = t.Arch
		}
	}
	return a
}

// collectModels gathers hardware ids and services from every models section
// that applies to the package's architecture.
func (p *Package) collectModels() {
	seenID := map[string]bool{}
	seenSvc := map[string]bool{}
	seenInst := map[string]bool{}
	arch := p.Arch
	for _, md := range p.INF.AllModels() {
		if !decorationFits(md.Decoration, arch) {
			continue
		}
		for _, id := range append([]string{md.HardwareID}, md.CompatibleIDs...) {
			if id != "" && !seenID[strings.ToUpper(id)] {
				seenID[strings.ToUpper(id)] = true
				p.HardwareIDs = append(p.HardwareIDs, id)
			}
		}
		key := strings.ToLower(md.InstallSection)
		if seenInst[key] || arch == "" {
			continue
		}
		seenInst[key] = true
		in, err := p.INF.Install(md.InstallSection, arch)
		if err != nil {
			p.Warnings = append(p.Warnings, err.Error())
			continue
		}
		for _, s := range in.Services {
			if !seenSvc[strings.ToLower(s.Name)] {
				seenSvc[strings.ToLower(s.Name)] = true
				p.Services = append(p.Services, s)
			}
		}
	}
	sort.Strings(p.HardwareIDs)
}

// decorationFits reports whether a models decoration allows arch.
func decorationFits(dec string, arch inf.Arch) bool {
	if dec == "" || arch == "" {
		return true
	}
	t, err := inf.ParseTargetOS(dec)
	return err == nil && (t.Arch == "" || t.Arch == arch)
}

func (p *Package) checkCatalog(fsys fs.FS) {
	c := CatalogStatus{Name: p.INF.Version.CatalogFor(p.Arch)}
	if c.Name == "" {
		c.Problem = "the INF names no CatalogFile"
		p.Catalog = c
		return
	}
	full, _, ok := lookupFold(fsys, p.Dir, c.Name)
	p.Files = append(p.Files, PackageFile{Name: c.Name, Path: full, Kind: KindCat, Present: ok})
	if !ok {
		c.Problem = fmt.Sprintf("catalog %s named by the INF is not in %s", c.Name, p.Dir)
		p.Catalog = c
		return
	}
	c.Present = true
	b, err := readBounded(fsys, full, MaxCatalogSize)
	if err == nil {
		c.Info, err = CheckCatalog(b)
	}
	if err != nil {
		c.Problem = fmt.Sprintf("catalog %s: %v", full, err)
	} else {
		c.Valid = true
	}
	p.Catalog = c
}

// Missing lists referenced files that are not present.
func (p *Package) Missing() []string {
	var out []string
	for _, f := range p.Files {
		if !f.Present && f.Kind != KindCat {
			out = append(out, f.Name)
		}
	}
	return out
}

// BootCritical reports whether the package drives the boot disk controller
// (storage class with a boot-start service): viostor, vioscsi, xenvbd,
// xenblk and the like. Those must be pre-seeded offline; the rest can wait
// for PnP at first boot.
func (p *Package) BootCritical() bool {
	storage := strings.EqualFold(p.Class, "SCSIAdapter") || strings.EqualFold(p.Class, "HDC") ||
		strings.EqualFold(p.ClassGUID, "{4D36E97B-E325-11CE-BFC1-08002BE10318}") ||
		strings.EqualFold(p.ClassGUID, "{4D36E96A-E325-11CE-BFC1-08002BE10318}")
	if !storage {
		return false
	}
	for _, s := range p.Services {
		if s.StartType == 0 {
			return true
		}
	}
	return false
}

// BusCritical reports a boot-start system bus driver a boot-critical
// storage driver depends on (Xen's xenbus/xenfilt).
func (p *Package) BusCritical() bool {
	if !strings.EqualFold(p.Class, "System") {
		return false
	}
	for _, s := range p.Services {
		if s.StartType == 0 && strings.EqualFold(s.LoadOrderGroup, "Boot Bus Extender") {
			return true
		}
	}
	return false
}
