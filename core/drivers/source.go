package drivers

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// Kind is the kind of driver source.
type Kind string

const (
	KindFolder     Kind = "inf"          // a folder of INF packages (or one INF)
	KindVirtioISO  Kind = "virtio-win"   // the virtio-win ISO
	KindVirtioWin  Kind = "virtio-win"   // its unpacked tree
	KindOracleVMPV Kind = "oracle-vm-pv" // Oracle VM PV drivers: installer and/or INF packages
	KindXenPV      Kind = "xen-pv"       // XCP-ng/Citrix/Xen Project winpv, SUSE VMDP
	maxSourceFiles      = 200000         // a virtio-win ISO has ~1,200 files
)

// Skipped is a file the source did not turn into a package, and why.
type Skipped struct {
	Path   string
	Reason string
}

// Installer is a vendor installer found in the source, to run at first
// boot (Oracle VM PV: Setup.exe /s with setup.iss, guide section 3.3).
type Installer struct {
	Path         string // slash path in the source
	ResponseFile string // setup.iss beside it, "" when absent
}

// Source is an opened driver source.
type Source struct {
	Path      string
	Kind      Kind
	ISO       bool // read through the ISO9660 reader
	FS        fs.FS
	Packages  []*Package
	Skipped   []Skipped
	Installer *Installer
	closer    io.Closer
}

// Close releases the ISO file, if any.
func (s *Source) Close() error {
	if s.closer != nil {
		return s.closer.Close()
	}
	return nil
}

// ErrNoPackages is returned when a source holds no usable INF package.
var ErrNoPackages = errors.New("drivers: no driver packages found")

// OpenSource detects what p is (an ISO image, a folder, a single INF) and
// loads its packages. opts is passed to the INF parser.
func OpenSource(p string, opts inf.Options) (*Source, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("drivers: %w", err)
	}
	src := &Source{Path: p}
	only := ""
	if !st.IsDir() && !st.Mode().IsRegular() {
		return nil, &UnsafeFileError{Path: p, Why: modeWords(st.Mode())}
	}
	var dir *sourceFS
	switch {
	case st.IsDir():
		if dir, err = newSourceFS(p); err != nil {
			return nil, err
		}
		src.FS = dir
	case isISO(p):
		fsys, closer, err := openISO(p)
		if err != nil {
			return nil, err
		}
		src.FS, src.closer, src.ISO = fsys, closer, true
	case strings.EqualFold(filepath.Ext(p), ".inf") || strings.EqualFold(filepath.Ext(p), ".inx"):
		if dir, err = newSourceFS(filepath.Dir(p)); err != nil {
			return nil, err
		}
		src.FS, only = dir, filepath.Base(p)
	case strings.EqualFold(filepath.Ext(p), ".exe"):
		if dir, err = newSourceFS(filepath.Dir(p)); err != nil {
			return nil, err
		}
		src.FS = dir
		src.Kind = KindOracleVMPV
		src.Installer = &Installer{Path: filepath.Base(p)}
		if rf, _, ok := lookupFold(src.FS, ".", "setup.iss"); ok {
			src.Installer.ResponseFile = rf
		}
		return src, nil
	default:
		return nil, fmt.Errorf("drivers: %s is not a folder, an ISO image, an .inf or an installer", p)
	}
	if err := src.load(opts, only); err != nil {
		src.Close()
		return nil, err
	}
	return src, nil
}

func (s *Source) load(opts inf.Options, only string) error {
	var infs, exes []string
	n := 0
	err := fs.WalkDir(s.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			s.Skipped = append(s.Skipped, Skipped{p, err.Error()})
			if d != nil && d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if n++; n > maxSourceFiles {
			return fmt.Errorf("drivers: %s has more than %d files", s.Path, maxSourceFiles)
		}
		if sfs, ok := s.FS.(*sourceFS); ok && only == "" {
			if err := sfs.checkEntry(p, d); err != nil {
				return err
			}
		}
		if d.IsDir() {
			if p != "." && strings.EqualFold(d.Name(), "sriov") {
				s.Skipped = append(s.Skipped, Skipped{p + "/", virtioExcluded(p + "/")})
				return fs.SkipDir
			}
			return nil
		}
		name := strings.ToLower(d.Name())
		switch {
		case only != "" && p != only:
		case strings.HasSuffix(name, ".inf") || strings.HasSuffix(name, ".inx"):
			infs = append(infs, p)
		case strings.HasSuffix(name, ".exe"):
			exes = append(exes, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(infs)
	for _, p := range infs {
		if why := virtioExcluded(p); why != "" {
			s.Skipped = append(s.Skipped, Skipped{p, why})
			continue
		}
		pkg, err := LoadPackage(s.FS, p, opts)
		if err != nil {
			s.Skipped = append(s.Skipped, Skipped{p, err.Error()})
			continue
		}
		if drv, osd, arch, ok := virtioLocation(p); ok {
			pkg.Driver, pkg.OSDir, pkg.ArchDir = drv, osd, arch
			if drv == "" {
				pkg.Driver, pkg.flatLayout = pkg.Name, true
			}
		}
		s.Packages = append(s.Packages, pkg)
	}
	s.dropQemuFwCfg()
	s.detectKind(exes)
	if len(s.Packages) == 0 && s.Installer == nil {
		var why []string
		for i, sk := range s.Skipped {
			if i == 3 {
				why = append(why, fmt.Sprintf("and %d more", len(s.Skipped)-3))
				break
			}
			why = append(why, sk.Path+": "+sk.Reason)
		}
		return fmt.Errorf("%w in %s (%d skipped: %s)", ErrNoPackages, s.Path, len(s.Skipped), strings.Join(why, "; "))
	}
	return nil
}

// dropQemuFwCfg removes qemufwcfg where fwcfg exists for the same OS and
// arch: the two conflict (RHBZ#2151752).
func (s *Source) dropQemuFwCfg() {
	has := map[string]bool{}
	for _, p := range s.Packages {
		if p.Name == "fwcfg" {
			has[strings.ToLower(p.OSDir+"/"+p.ArchDir)] = true
		}
	}
	kept := s.Packages[:0]
	for _, p := range s.Packages {
		if p.Name == "qemufwcfg" && has[strings.ToLower(p.OSDir+"/"+p.ArchDir)] {
			s.Skipped = append(s.Skipped, Skipped{p.INFPath, "qemufwcfg conflicts with fwcfg, which is present (RHBZ#2151752)"})
			continue
		}
		kept = append(kept, p)
	}
	s.Packages = kept
}

var xenNames = map[string]bool{"xenbus": true, "xenvbd": true, "xennet": true, "xenvif": true, "xeniface": true, "xenblk": true, "xenfilt": true}

func (s *Source) detectKind(exes []string) {
	var virtio, xen, oracle int
	for _, p := range s.Packages {
		prov := strings.ToLower(p.Provider)
		switch {
		case p.OSDir != "":
			virtio++
		case strings.Contains(prov, "oracle"):
			oracle++
		case xenNames[p.Name] || strings.Contains(prov, "xcp-ng") || strings.Contains(prov, "citrix") || strings.Contains(prov, "xen project"):
			xen++
		}
	}
	for _, e := range exes {
		b := strings.ToLower(path.Base(e))
		if path.Dir(e) == "." && (b == "setup.exe" || strings.Contains(b, "oracle") || strings.Contains(b, "ovm")) {
			s.Installer = &Installer{Path: e}
			if rf, _, ok := lookupFold(s.FS, ".", "setup.iss"); ok {
				s.Installer.ResponseFile = rf
			}
		}
	}
	switch {
	case virtio > 0:
		s.Kind = KindVirtioWin
	case oracle > 0 || s.Installer != nil && xen == 0:
		s.Kind = KindOracleVMPV
	case xen > 0:
		s.Kind = KindXenPV
	default:
		s.Kind = KindFolder
	}
	if s.Kind != KindOracleVMPV {
		s.Installer = nil
	}
}

func isISO(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [5]byte
	if _, err := f.ReadAt(b[:], 0x8001); err != nil {
		return false
	}
	return string(b[:]) == "CD001"
}
