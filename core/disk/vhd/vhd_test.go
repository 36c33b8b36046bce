package vhd_test

import (
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhd"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Every vhd.sh fixture (qemu-made dynamic, fixed, force_size; the
// spec-built differencing disk) reads as its expected raw.
func TestReadFixtures(t *testing.T) {
	for _, e := range entries(t) {
		t.Run(e.File, func(t *testing.T) {
			img := disktest.Open(t, vhd.Format, e.Path(), disk.Options{})
			if err := disktest.CompareWithRaw(img, e.ExpectPath(), 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// disk.sh's vpc fixtures: qemu rounds 64 MiB up to the CHS geometry, so the
// raw source is a prefix of the virtual disk and the rest reads as zeros.
func TestReadDiskFixtures(t *testing.T) {
	es := disktest.Entries(t, "vpc", nil)
	if len(es) == 0 {
		t.Fatal("no vpc entry in disk MANIFEST")
	}
	for _, e := range es {
		t.Run(e.File, func(t *testing.T) {
			img := disktest.Open(t, vhd.Format, e.Path(), disk.Options{})
			if img.Size() != 67125248 {
				t.Fatalf("virtual size %d, qemu-img says 67125248", img.Size())
			}
			if err := compareLonger(img, e.ExpectPath()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCorpusDynamicVHD(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	src := testenv.CorpusFile(t, "images/dfvfs_ext2.vhd")
	raw := filepath.Join(t.TempDir(), "ext2.raw")
	if out, err := exec.Command("qemu-img", "convert", "-f", "vpc", "-O", "raw", src, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	img := disktest.Open(t, vhd.Format, src, disk.Options{})
	if err := disktest.CompareWithRaw(img, raw, 1); err != nil {
		t.Fatal(err)
	}
	if info := img.Image.(disk.Describer).Info(); info.Format != "vpc" || info.Subformat != "dynamic" {
		t.Fatalf("Info = %+v", info)
	}
}

func TestRandomWrites(t *testing.T) {
	var cases []disktest.Case
	for _, name := range []string{"dyn.vhd", "fixed.vhd", "forcesize.vhd"} {
		e := entry(t, name)
		cases = append(cases, disktest.Case{Name: name, Setup: func(t *testing.T, dir string) (string, string) {
			return disktest.CopyEntry(t, e, dir)
		}})
	}
	// 67125248 is a CHS size (964x8x17 sectors), so Create keeps it exactly.
	cases = append(cases, disktest.Created(vhd.Format, "", 67125248), disktest.Created(vhd.Format, "fixed", 67125248))
	disktest.RandomWrites(t, vhd.Format, cases...)
}

// qemu-img ignores a VHD's parent, so differencing writes are judged by a
// reference raw and by re-reading through a fresh open.
func TestRandomWritesDifferencing(t *testing.T) {
	e := entry(t, "child.vhd")
	dir := t.TempDir()
	img, ref := disktest.CopyEntry(t, e, dir)
	parent := filepath.Join(e.Dir, "dyn.vhd")
	before := testenv.FileSHA256(t, parent)
	if err := disktest.ApplyWrites(vhd.Format, img, ref, disktest.Seed(2), 150); err != nil {
		t.Fatal(err)
	}
	if testenv.FileSHA256(t, parent) != before {
		t.Fatal("the parent changed: writes must go to the top layer only")
	}
	o := disktest.Open(t, vhd.Format, img, disk.Options{})
	if err := disktest.CompareWithRaw(o, ref, 3); err != nil {
		t.Fatal(err)
	}
}

func TestSparse(t *testing.T) {
	// Five 4 KiB writes allocate at most five 2 MiB blocks.
	disktest.Sparse(t, vhd.Format, "", 1<<30, 12<<20)
}

// Create's geometry and size match qemu-img create's for the same request.
func TestCreateGeometryMatchesQemu(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	for _, size := range []int64{1 << 20, 24 << 20, 67108864, 1 << 30, 40<<30 + 12345*512, 127 << 30, 200 << 30, 2040 << 30} {
		q := filepath.Join(dir, "q.vhd")
		os.Remove(q)
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "vpc", q, itoa(size)).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img create %d: %v\n%s", size, err, out)
		}
		want := tail(t, q)
		p := filepath.Join(dir, "p.vhd")
		os.Remove(p)
		img, err := vhd.Create(p, size, disk.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := img.Close(); err != nil {
			t.Fatal(err)
		}
		got := tail(t, p)
		// current size and CHS geometry: footer bytes 48..60
		if string(got[48:60]) != string(want[48:60]) {
			t.Errorf("size %d: footer size+geometry % x, qemu % x", size, got[48:60], want[48:60])
		}
		if out, err := exec.Command("qemu-img", "check", "-f", "vpc", p).CombinedOutput(); err != nil {
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 63 {
				t.Errorf("qemu-img check: %v\n%s", err, out)
			}
		}
	}
}

func itoa(n int64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

func tail(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b[len(b)-512:]
}

func TestMapDifferencing(t *testing.T) {
	e := entry(t, "child.vhd")
	img := disktest.Open(t, vhd.Format, e.Path(), disk.Options{})
	ext, err := img.Image.(disk.Mapper).Map(0, img.Size())
	if err != nil {
		t.Fatal(err)
	}
	var pos, alloc int64
	for _, x := range ext {
		if x.Offset != pos {
			t.Fatalf("gap or overlap at %d: %+v", pos, x)
		}
		pos += x.Length
		if x.Allocated {
			alloc += x.Length
		}
	}
	if pos != img.Size() {
		t.Fatalf("extents cover %d bytes of %d", pos, img.Size())
	}
	// vhd_diff.py writes 64 KiB + 4 KiB + 2 sectors + 6 sectors + 8 KiB + 1 sector.
	if want := int64(65536 + 4096 + 2*512 + 6*512 + 8192 + 512); alloc != want {
		t.Fatalf("allocated %d bytes in the child, want %d", alloc, want)
	}
}

// The dynamic fixture's map covers every non-zero sector of its data.
func TestMapDynamicCoversData(t *testing.T) {
	e := entry(t, "dyn.vhd")
	img := disktest.Open(t, vhd.Format, e.Path(), disk.Options{})
	ext, err := img.Image.(disk.Mapper).Map(0, img.Size())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(e.ExpectPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ext {
		if x.Allocated {
			continue
		}
		for i := x.Offset; i < x.Offset+x.Length; i++ {
			if want[i] != 0 {
				t.Fatalf("unallocated extent %+v holds data at %d", x, i)
			}
		}
	}
}

// --- bad input ----------------------------------------------------------

// corrupt copies the fixture, lets edit change its bytes, and returns the path.
func corrupt(t *testing.T, name string, edit func(b []byte) []byte) string {
	t.Helper()
	e := entry(t, name)
	dir := t.TempDir()
	if name == "child.vhd" {
		testenv.CopyInto(t, filepath.Join(e.Dir, "dyn.vhd"), dir)
	}
	p := testenv.CopyInto(t, e.Path(), dir)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, edit(b), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sum is the VHD checksum, written here again from the spec so that the
// tests do not trust the package's own.
func sum(b []byte, at int) {
	binary.BigEndian.PutUint32(b[at:], 0)
	var s uint32
	for _, c := range b {
		s += uint32(c)
	}
	binary.BigEndian.PutUint32(b[at:], ^s)
}

const hdrOff = 512 // dynamic header of qemu-made images

func TestBadInput(t *testing.T) {
	footerAt := func(b []byte) []byte { return b[len(b)-512:] }
	cases := []struct {
		name, file string
		edit       func(b []byte) []byte
		structure  string // "" means: any error
	}{
		{"tiny file", "dyn.vhd", func(b []byte) []byte { return b[:300] }, "footer"},
		{"truncated dynamic", "dyn.vhd", func(b []byte) []byte { return b[:len(b)/2] }, "BAT"},
		{"truncated fixed", "fixed.vhd", func(b []byte) []byte { return append(b[:len(b)/2], footerAt(b)...) }, "data"},
		{"both footers bad", "dyn.vhd", func(b []byte) []byte { b[100]++; footerAt(b)[100]++; return b }, "footer"},
		{"fixed footer bad", "fixed.vhd", func(b []byte) []byte { footerAt(b)[70]++; return b }, "footer"},
		{"dynamic header checksum", "dyn.vhd", func(b []byte) []byte { b[hdrOff+40]++; return b }, "dynamic header"},
		{"BAT entry past EOF", "dyn.vhd", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[1536:], 0x00fffff0) // block 0 at 8 GiB
			return b
		}, "BAT"},
		{"two BAT entries share a block", "dyn.vhd", func(b []byte) []byte {
			var first uint32
			for i := 0; ; i++ {
				e := binary.BigEndian.Uint32(b[1536+4*i:])
				if e == 0xffffffff {
					continue
				}
				if first == 0 {
					first = e
					continue
				}
				binary.BigEndian.PutUint32(b[1536+4*i:], first)
				return b
			}
		}, "BAT"},
		{"BAT entry over the BAT", "dyn.vhd", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[1536:], 3) // sector 3 = the BAT itself
			return b
		}, "BAT"},
		{"block size not a power of two", "dyn.vhd", func(b []byte) []byte {
			binary.BigEndian.PutUint32(b[hdrOff+32:], 3<<20)
			sum(b[hdrOff:hdrOff+1024], 36)
			return b
		}, "dynamic header"},
		{"absurd size", "forcesize.vhd", func(b []byte) []byte {
			for _, f := range [][]byte{b[:512], footerAt(b)} {
				binary.BigEndian.PutUint64(f[48:], 1<<50)
				sum(f, 64)
			}
			return b
		}, "footer"},
		{"unknown disk type", "dyn.vhd", func(b []byte) []byte {
			for _, f := range [][]byte{b[:512], footerAt(b)} {
				binary.BigEndian.PutUint32(f[60:], 9)
				sum(f, 64)
			}
			return b
		}, "footer"},
		{"dynamic header outside file", "dyn.vhd", func(b []byte) []byte {
			for _, f := range [][]byte{b[:512], footerAt(b)} {
				binary.BigEndian.PutUint64(f[16:], 1<<40)
				sum(f, 64)
			}
			return b
		}, "footer"},
		{"locator outside file", "child.vhd", func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[hdrOff+576+16:], 1<<40)
			sum(b[hdrOff:hdrOff+1024], 36)
			return b
		}, "parent locator"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := corrupt(t, c.file, c.edit)
			before := testenv.FileSHA256(t, p)
			_, err := disktest.OpenImage(vhd.Format, p, disk.Options{Writable: true})
			if err == nil {
				t.Fatal("opened a damaged image without error")
			}
			var fe *disk.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *disk.FormatError: %v", err)
			}
			if fe.File != p || (c.structure != "" && fe.Structure != c.structure) {
				t.Fatalf("FormatError{File: %q, Structure: %q}, want %q, %q: %v", fe.File, fe.Structure, p, c.structure, err)
			}
			if testenv.FileSHA256(t, p) != before {
				t.Fatal("a failed open wrote to the file")
			}
		})
	}
}

// One damaged footer copy is survivable: the other one is used, and a
// writable open repairs the damaged copy on Flush.
func TestOneFooterCopyDamaged(t *testing.T) {
	e := entry(t, "dyn.vhd")
	for _, at := range []string{"head", "tail"} {
		t.Run(at, func(t *testing.T) {
			p := corrupt(t, "dyn.vhd", func(b []byte) []byte {
				if at == "head" {
					b[70]++
				} else {
					b[len(b)-512+70]++
				}
				return b
			})
			img := disktest.Open(t, vhd.Format, p, disk.Options{Writable: true})
			if err := disktest.CompareWithRaw(img, e.ExpectPath(), 1); err != nil {
				t.Fatal(err)
			}
			if err := img.Close(); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b[:512]) != string(b[len(b)-512:]) {
				t.Fatal("footer copies differ after a writable open and close")
			}
		})
	}
}

func TestParentMismatch(t *testing.T) {
	dir := fixtureDir(t)
	_, err := disktest.OpenImage(vhd.Format, filepath.Join(dir, "wrongid.vhd"), disk.Options{})
	if !errors.Is(err, vhd.ErrParentMismatch) {
		t.Fatalf("open with the wrong parent: %v, want ErrParentMismatch", err)
	}
}

func TestMissingParent(t *testing.T) {
	e := entry(t, "child.vhd")
	p := testenv.CopyInto(t, e.Path(), t.TempDir()) // no parent beside it
	_, err := disktest.OpenImage(vhd.Format, p, disk.Options{})
	if err == nil || !strings.Contains(err.Error(), "parent") {
		t.Fatalf("open without the parent: %v", err)
	}
	if _, err := vhd.Format.Open(p, nil, disk.Options{}); err == nil {
		t.Fatal("nil backing accepted")
	}
}

func TestReadOnly(t *testing.T) {
	e := entry(t, "dyn.vhd")
	img := disktest.Open(t, vhd.Format, e.Path(), disk.Options{})
	if _, err := img.WriteAt([]byte{1}, 0); !errors.Is(err, disk.ErrReadOnly) {
		t.Fatalf("write to a read-only image: %v", err)
	}
	if _, err := img.ReadAt(make([]byte, 2), img.Size()-1); !errors.Is(err, disk.ErrOutOfRange) {
		t.Fatalf("read past the end: %v", err)
	}
}

func TestProbe(t *testing.T) {
	e := entry(t, "dyn.vhd")
	b, err := os.ReadFile(e.Path())
	if err != nil {
		t.Fatal(err)
	}
	if !vhd.Format.Probe(b[:65536], int64(len(b))) {
		t.Fatal("dynamic VHD not recognised")
	}
	if vhd.Format.Probe(make([]byte, 65536), 1<<30) {
		t.Fatal("zeros recognised as VHD")
	}
	f, err := os.ReadFile(entry(t, "fixed.vhd").Path())
	if err != nil {
		t.Fatal(err)
	}
	if !vhd.ProbeFooter(f[len(f)-512:]) || vhd.ProbeFooter(f[:512]) {
		t.Fatal("ProbeFooter wrong on a fixed VHD")
	}
}

func TestInfo(t *testing.T) {
	for name, want := range map[string]disk.Info{
		"dyn.vhd":   {Subformat: "dynamic"},
		"fixed.vhd": {Subformat: "fixed"},
		"child.vhd": {Subformat: "differencing", Parent: `.\dyn.vhd`},
	} {
		path := entry(t, name).Path()
		img := disktest.Open(t, vhd.Format, path, disk.Options{})
		got := img.Image.(disk.Describer).Info()
		if got.Format != "vpc" || got.Subformat != want.Subformat || got.Parent != want.Parent || got.VirtualSize != img.Size() ||
			len(got.Files) != 1 || got.Files[0] != path || got.ReadOnly {
			t.Errorf("%s: Info = %+v", name, got)
		}
	}
}
