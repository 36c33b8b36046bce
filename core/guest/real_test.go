//go:build cgo

package guest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/ntfs"
	"www.velocidex.com/golang/go-ntfs/parser"
)

// TestDetectCorpusHives runs detection on the corpus's real SYSTEM hives
// (Windows 7 SP1 x86, Windows 10 19041 x64) and its synthetic SOFTWARE
// stand-ins, which guests.sh places into guest trees. The guests fixture
// needs the corpus; without it the test skips (fails under PVINJECT_STRICT=1).
func TestDetectCorpusHives(t *testing.T) {
	testenv.Corpus(t)
	real := filepath.Join(testenv.Fixture(t, "guests"), "real")
	for oname, open := range openers(t) {
		t.Run(oname, func(t *testing.T) { testCorpusHives(t, real, open) })
	}
}

func testCorpusHives(t *testing.T, real string, open HiveOpener) {
	for _, tc := range []struct {
		name, osid, product, cs string
		arch, regArch           Arch
		build, sp               int
		fastStartup             bool
		present                 []string
		drivers                 []string // PV services that must be found
	}{
		// Real Win7 SP1 x86 SYSTEM: two control sets, in-box Hyper-V drivers.
		{"win7sp1-x86", "win7", "Microsoft Windows 7 Phony Edition", "ControlSet001", ArchX86, ArchX86, 0, 1, false,
			[]string{"ControlSet001", "ControlSet002"}, []string{"storvsc", "vmbus"}},
		// Real Win10 19041 x64 SYSTEM with virt-v2v's Windows 10 SOFTWARE stand-in.
		{"win10-19041-x64", "win10", "Windows 10 Enterprise Evaluation", "ControlSet001", ArchAMD64, ArchAMD64, 17763, 0, true,
			[]string{"ControlSet001"}, nil},
		// libguestfs's binary stand-ins: no Environment key, so no registry arch.
		{"libguestfs-phony", "win7", "Microsoft Windows 7 Phony Edition", "ControlSet001", ArchX86, ArchUnknown, 0, 0, false,
			[]string{"ControlSet001"}, nil},
		// virt-v2v's Windows 11 stand-in keeps a "Windows 10" ProductName.
		{"v2v-win11", "win11", "Windows 10 Home", "ControlSet001", ArchAMD64, ArchUnknown, 22631, 0, false, []string{"ControlSet001"}, nil},
		{"v2v-win2k22", "win2k22", "Windows Server 2022 Phony Edition", "ControlSet001", ArchAMD64, ArchUnknown, 20348, 0, false, []string{"ControlSet001"}, nil},
	} {
		ws, err := Detect(DirFS(filepath.Join(real, tc.name)), open)
		if err != nil || len(ws) != 1 {
			t.Errorf("%s: %v (%d installs)", tc.name, err, len(ws))
			continue
		}
		w := ws[0]
		if w.OSID != tc.osid || w.ProductName != tc.product || w.ControlSet != tc.cs || w.Arch != tc.arch ||
			w.RegistryArch != tc.regArch || w.Build != tc.build || w.ServicePack != tc.sp || w.FastStartup != tc.fastStartup || !slices.Equal(w.ControlSets.Present, tc.present) {
			t.Errorf("%s: got %s %q cs %s %+v arch %s/%s build %d sp%d fast startup %v", tc.name, w.OSID, w.ProductName, w.ControlSet,
				w.ControlSets, w.Arch, w.RegistryArch, w.Build, w.ServicePack, w.FastStartup)
		}
		if len(w.Safety.Blockers) > 0 {
			t.Errorf("%s: blockers %+v", tc.name, w.Safety.Blockers)
		}
		var svcs []string
		for _, d := range w.PVDrivers {
			svcs = append(svcs, d.Service)
		}
		for _, s := range tc.drivers {
			if !slices.Contains(svcs, s) {
				t.Errorf("%s: PV service %s not found in %v", tc.name, s, svcs)
			}
		}
	}
}

// ntfsFS adapts go-ntfs (an NTFS reader we did not write) to FS, standing
// in for core/ntfs in tests.
type ntfsFS struct{ ctx *parser.NTFSContext }

func (n ntfsFS) entry(name string) (*parser.MFT_ENTRY, error) {
	root, err := n.ctx.GetMFT(5)
	if err != nil || name == "." {
		return root, err
	}
	e, err := root.Open(n.ctx, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %v: %w", name, err, fs.ErrNotExist)
	}
	return e, nil
}

type ntfsInfo struct{ fi *parser.FileInfo }

func (i ntfsInfo) Name() string { return i.fi.Name }
func (i ntfsInfo) Size() int64  { return i.fi.Size }
func (i ntfsInfo) Mode() fs.FileMode {
	return map[bool]fs.FileMode{true: fs.ModeDir, false: 0}[i.fi.IsDir]
}
func (i ntfsInfo) ModTime() time.Time { return i.fi.Mtime }
func (i ntfsInfo) IsDir() bool        { return i.fi.IsDir }
func (i ntfsInfo) Sys() any           { return nil }

func (n ntfsFS) Stat(name string) (fs.FileInfo, error) {
	e, err := n.entry(name)
	if err != nil {
		return nil, err
	}
	st := parser.Stat(n.ctx, e)
	if len(st) == 0 {
		return nil, fmt.Errorf("%s: no stat", name)
	}
	return ntfsInfo{st[0]}, nil
}

func (n ntfsFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := n.entry(name)
	if err != nil {
		return nil, err
	}
	var out []fs.DirEntry
	for _, fi := range parser.ListDir(n.ctx, e) {
		if fi.Name == "." || strings.HasPrefix(fi.Name, "$") {
			continue
		}
		out = append(out, fs.FileInfoToDirEntry(ntfsInfo{fi}))
	}
	return out, nil
}

func (n ntfsFS) ReadFile(name string) ([]byte, error) {
	fi, err := n.Stat(name)
	if err != nil {
		return nil, err
	}
	r, err := parser.GetDataForPath(n.ctx, name)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.NewSectionReader(r, 0, fi.Size()))
}

// TestDetectNTFS reads the fixture disk through go-ntfs: a volume with two
// installs (Windows and WINNT) and a volume found only through boot.ini.
func TestDetectNTFS(t *testing.T) {
	got := map[string][]string{}
	for _, part := range fixturePartitions(t) {
		label, sec, size := part.label, part.sec, part.sec.Size()
		ctx, err := parser.GetNTFSContext(sec, 0)
		if err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		vol, err := ntfs.Open(sec, size, ntfs.Options{})
		if err != nil {
			t.Fatalf("%s: core/ntfs: %v", label, err)
		}
		defer vol.Close()
		// go-ntfs + libhivex share no code with pvinject; core/ntfs +
		// core/hive are what pvinject runs.
		for rname, v := range map[string]struct {
			fs   FS
			open HiveOpener
		}{"go-ntfs+hivex": {ntfsFS{ctx}, hivexOpener(t)}, "core": {FromNTFS(vol), OpenHive}} {
			ws, err := Detect(v.fs, v.open)
			if err != nil {
				t.Fatalf("%s %s: %v", rname, label, err)
			}
			for _, w := range ws {
				got[rname+" "+label] = append(got[rname+" "+label], fmt.Sprintf("%s %s %s %s sp%d", w.SystemRoot, w.OSID, w.Arch, w.ControlSet, w.ServicePack))
				if len(w.Safety.Blockers) > 0 {
					t.Errorf("%s %s %s: blockers %+v", rname, label, w.SystemRoot, w.Safety.Blockers)
				}
			}
		}
	}
	want := map[string][]string{
		"DUAL":    {`\Windows win2k22 amd64 ControlSet001 sp0`, `\WINNT win2k3r2 x86 ControlSet001 sp2`},
		"BOOTINI": {`\XPROOT winxp x86 ControlSet001 sp3`},
	}
	for k, v := range want {
		for _, r := range []string{"go-ntfs+hivex ", "core "} {
			if !slices.Equal(got[r+k], v) {
				t.Errorf("%s%s: got %q, want %q", r, k, got[r+k], v)
			}
		}
	}
}

// TestNotWindowsVolumes runs detection on real Windows-formatted NTFS
// volumes from the corpus that hold a Windows folder but no installation
// (dfvfs: Windows\System32\config without cmd.exe; velociraptor: an empty
// Windows\System32): both must say ErrNoWindows (RHBZ#674130).
func TestNotWindowsVolumes(t *testing.T) {
	testenv.Corpus(t)
	dir := testenv.Fixture(t, "guests")
	list, err := os.ReadFile(filepath.Join(dir, "notwin.parts"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(list)), "\n")
	if len(lines) != 2 {
		t.Fatalf("notwin.parts: %q", list)
	}
	for _, line := range lines {
		var file string
		var start, size int64
		if _, err := fmt.Sscan(line, &file, &start, &size); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sec := io.NewSectionReader(f, start, size)
		vol, err := ntfs.Open(sec, size, ntfs.Options{})
		if err != nil {
			t.Fatalf("%s: core/ntfs: %v", file, err)
		}
		defer vol.Close()
		// The Windows folder is there, so a wrong test would find it.
		if _, _, err := resolve(FromNTFS(vol), "", "windows"); err != nil {
			t.Fatalf("%s: no Windows folder: %v", file, err)
		}
		if ws, err := Detect(FromNTFS(vol), OpenHive); !errors.Is(err, ErrNoWindows) {
			t.Errorf("%s: got %d installs, %v; want ErrNoWindows", file, len(ws), err)
		}
	}
}
