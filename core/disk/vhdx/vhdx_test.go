package vhdx_test

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
	"github.com/pvinject/pvinject/core/disk/vhdx"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// disk.sh's qemu-made VHDX files (dynamic, fixed, 1 MiB blocks).
func TestReadDiskFixtures(t *testing.T) { disktest.ReadAll(t, vhdx.Format, nil) }

// vhd.sh's VHDX files: qemu-made ones, qemu's replay of the log fixture,
// and the spec-built differencing disk (partially present block, sector
// bitmap, ZERO block over parent data).
func TestReadFixtures(t *testing.T) {
	for _, e := range entries(t) {
		t.Run(e.File, func(t *testing.T) {
			img := disktest.Open(t, vhdx.Format, e.Path(), disk.Options{})
			if err := disktest.CompareWithRaw(img, e.ExpectPath(), 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A real Hyper-V VHDX (32 MiB blocks, GPT + NTFS inside).
func TestCorpusHyperV(t *testing.T) {
	testenv.RequireTool(t, "qemu-img", "7zz")
	zip := testenv.CorpusFile(t, "images/velociraptor_test.vhdx.zip")
	dir := t.TempDir()
	if out, err := exec.Command("7zz", "x", "-bd", "-o"+dir, zip).CombinedOutput(); err != nil {
		t.Fatalf("7zz: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "test.vhdx")
	raw := filepath.Join(dir, "test.raw")
	if out, err := exec.Command("qemu-img", "convert", "-f", "vhdx", "-O", "raw", src, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
	img := disktest.Open(t, vhdx.Format, src, disk.Options{})
	if err := disktest.CompareWithRaw(img, raw, 1); err != nil {
		t.Fatal(err)
	}
	if info := img.Image.(disk.Describer).Info(); info.Format != "vhdx" || info.Subformat != "dynamic" || info.VirtualSize != 5<<20 {
		t.Fatalf("Info = %+v", info)
	}
	// GPT header at LBA 1.
	sig := make([]byte, 8)
	if _, err := img.ReadAt(sig, 512); err != nil || string(sig) != "EFI PART" {
		t.Fatalf("no GPT at LBA 1: %q %v", sig, err)
	}
}

func TestRandomWrites(t *testing.T) {
	cases := disktest.FromManifest(t, "vhdx", nil)
	for _, name := range []string{"base.vhdx", "big-blocks.vhdx"} {
		e := entry(t, name)
		cases = append(cases, disktest.Case{Name: "vhd.sh/" + name, Setup: func(t *testing.T, dir string) (string, string) {
			return disktest.CopyEntry(t, e, dir)
		}})
	}
	cases = append(cases, disktest.Created(vhdx.Format, "", 64<<20), disktest.Created(vhdx.Format, "fixed", 64<<20+512))
	disktest.RandomWrites(t, vhdx.Format, cases...)
}

// qemu cannot read differencing VHDX files, so writes are judged by the
// reference raw and a fresh open; the parent must not change.
func TestRandomWritesDifferencing(t *testing.T) {
	for _, name := range []string{"child.vhdx", "child4k.vhdx"} {
		t.Run(name, func(t *testing.T) {
			e := entry(t, name)
			dir := t.TempDir()
			img, ref := disktest.CopyEntry(t, e, dir)
			parent := filepath.Join(e.Dir, "base.vhdx")
			before := testenv.FileSHA256(t, parent)
			if err := disktest.ApplyWrites(vhdx.Format, img, ref, disktest.Seed(2), 150); err != nil {
				t.Fatal(err)
			}
			if testenv.FileSHA256(t, parent) != before {
				t.Fatal("the parent changed: writes must go to the top layer only")
			}
			o := disktest.Open(t, vhdx.Format, img, disk.Options{})
			if err := disktest.CompareWithRaw(o, ref, 3); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSparse(t *testing.T) {
	// Five 4 KiB writes allocate at most five 32 MiB blocks (host holes
	// keep the allocated bytes small; the apparent size counts them).
	disktest.Sparse(t, vhdx.Format, "", 1<<30, 5*32<<20+8<<20)
}

// The first write of an open changes FileWriteGuid and DataWriteGuid in
// the current header, and the file stays clean for qemu-img check.
func TestWriteUpdatesHeaderGUIDs(t *testing.T) {
	e := entry(t, "base.vhdx")
	p := testenv.CopyInto(t, e.Path(), t.TempDir())
	guids := func() (fw, dw string, seq uint64) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int{64 << 10, 128 << 10} {
			h := b[off:]
			if s := binary.LittleEndian.Uint64(h[8:]); s >= seq {
				seq, fw, dw = s, string(h[16:32]), string(h[32:48])
			}
		}
		return
	}
	fw0, dw0, seq0 := guids()
	img := disktest.Open(t, vhdx.Format, p, disk.Options{Writable: true})
	if _, err := img.WriteAt([]byte("x"), 12345); err != nil {
		t.Fatal(err)
	}
	if _, err := img.WriteAt([]byte("y"), 22<<20); err != nil {
		t.Fatal(err)
	}
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	fw1, dw1, seq1 := guids()
	if fw1 == fw0 || dw1 == dw0 || seq1 <= seq0 {
		t.Fatalf("header not updated: seq %d -> %d, guids changed: file %v data %v", seq0, seq1, fw1 != fw0, dw1 != dw0)
	}
	disktest.QemuCheck(t, "vhdx", p)
}

// log.vhdx holds one log entry writing 4 KiB of 0xC5 at guest offset 1 MiB;
// log.expect.raw is the replayed guest view, which vhd.sh checked against
// qemu's own replay (`qemu-img check -r all`).
func TestLogReplayReadOnly(t *testing.T) {
	dir := fixtureDir(t)
	p := testenv.CopyInto(t, filepath.Join(dir, "log.vhdx"), t.TempDir())
	before := testenv.FileSHA256(t, p)
	img := disktest.Open(t, vhdx.Format, p, disk.Options{})
	if err := disktest.CompareWithRaw(img, filepath.Join(dir, "log.expect.raw"), 1); err != nil {
		t.Fatal(err)
	}
	img.Close()
	if testenv.FileSHA256(t, p) != before {
		t.Fatal("a read-only open changed the file while replaying its log")
	}
}

func TestLogReplayWritable(t *testing.T) {
	dir := fixtureDir(t)
	p := testenv.CopyInto(t, filepath.Join(dir, "log.vhdx"), t.TempDir())
	img := disktest.Open(t, vhdx.Format, p, disk.Options{Writable: true})
	if err := img.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, off := range []int{64 << 10, 128 << 10} {
		if g := b[off+48 : off+64]; string(g) != string(make([]byte, 16)) {
			t.Fatalf("header at %d still names log %x after replay", off, g)
		}
	}
	disktest.QemuIdentical(t, "vhdx", p, filepath.Join(dir, "log.expect.raw"))
	disktest.QemuCheck(t, "vhdx", p)
}

// A log entry that fails its checksum is not an entry; a header naming a
// log without any valid sequence means a corrupt file, which the spec says
// must not be opened.
func TestLogWithoutValidSequenceRefused(t *testing.T) {
	dir := fixtureDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "log.vhdx"))
	if err != nil {
		t.Fatal(err)
	}
	b[1<<20+5000]++ // inside the entry's data sector (log at 1 MiB)
	p := filepath.Join(t.TempDir(), "badlog.vhdx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := disktest.OpenImage(vhdx.Format, p, disk.Options{Writable: true}); !errors.Is(err, vhdx.ErrLogNotEmpty) {
		t.Fatalf("open: %v, want ErrLogNotEmpty", err)
	}
}

// A file shorter than the log's FlushedFileOffset was truncated after the
// log was written: refused.
func TestLogTruncatedFileRefused(t *testing.T) {
	dir := fixtureDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "log.vhdx"))
	if err != nil {
		t.Fatal(err)
	}
	entry := b[1<<20 : 1<<20+8192]
	binary.LittleEndian.PutUint64(entry[48:], uint64(len(b))+1<<20) // FlushedFileOffset
	fixCRC(entry)
	p := filepath.Join(t.TempDir(), "short.vhdx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := disktest.OpenImage(vhdx.Format, p, disk.Options{}); !errors.Is(err, vhdx.ErrLogNotEmpty) {
		t.Fatalf("open: %v, want ErrLogNotEmpty", err)
	}
}

// A valid log that writes far past the end of the file is refused, with a
// message saying how to replay it elsewhere, and nothing is written.
func TestLogRefused(t *testing.T) {
	dir := fixtureDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "log.vhdx"))
	if err != nil {
		t.Fatal(err)
	}
	entry := b[1<<20 : 1<<20+8192]
	binary.LittleEndian.PutUint64(entry[64+16:], 1<<40) // the descriptor's file offset
	fixCRC(entry)
	p := filepath.Join(t.TempDir(), "hostile.vhdx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	before := testenv.FileSHA256(t, p)
	for _, writable := range []bool{false, true} {
		_, err := disktest.OpenImage(vhdx.Format, p, disk.Options{Writable: writable})
		if !errors.Is(err, vhdx.ErrLogNotEmpty) {
			t.Fatalf("open (writable %v): %v, want ErrLogNotEmpty", writable, err)
		}
		var fe *disk.FormatError
		if !errors.As(err, &fe) || fe.File != p || fe.Structure != "log" {
			t.Fatalf("error does not name the file and the log: %v", err)
		}
		if !strings.Contains(err.Error(), "qemu-img check -r all") || !strings.Contains(err.Error(), "Hyper-V") {
			t.Fatalf("error does not say how to replay the log: %v", err)
		}
	}
	if testenv.FileSHA256(t, p) != before {
		t.Fatal("a refused open changed the file")
	}
}

func TestParentMismatch(t *testing.T) {
	dir := fixtureDir(t)
	_, err := disktest.OpenImage(vhdx.Format, filepath.Join(dir, "wronglink.vhdx"), disk.Options{})
	if !errors.Is(err, vhdx.ErrParentMismatch) {
		t.Fatalf("open with the wrong parent: %v, want ErrParentMismatch", err)
	}
}

func TestMissingParent(t *testing.T) {
	e := entry(t, "child.vhdx")
	p := testenv.CopyInto(t, e.Path(), t.TempDir())
	if _, err := disktest.OpenImage(vhdx.Format, p, disk.Options{}); err == nil || !strings.Contains(err.Error(), "parent") {
		t.Fatalf("open without the parent: %v", err)
	}
}

func TestMapDifferencing(t *testing.T) {
	for name, sector := range map[string]int64{"child.vhdx": 512, "child4k.vhdx": 4096} {
		t.Run(name, func(t *testing.T) {
			e := entry(t, name)
			img := disktest.Open(t, vhdx.Format, e.Path(), disk.Options{})
			ext, err := img.Image.(disk.Mapper).Map(0, img.Size())
			if err != nil {
				t.Fatal(err)
			}
			var pos, alloc, zero int64
			for _, x := range ext {
				if x.Offset != pos {
					t.Fatalf("gap or overlap at %d: %+v", pos, x)
				}
				pos += x.Length
				switch {
				case x.Zero:
					zero += x.Length
				case x.Allocated:
					alloc += x.Length
				}
			}
			// vhdx_fixture.py: block 1 full (1 MiB), 20 sectors of block 3, block 6 ZERO.
			if pos != img.Size() || alloc != 1<<20+20*sector || zero != 1<<20 {
				t.Fatalf("map covers %d of %d, allocated %d, zero %d", pos, img.Size(), alloc, zero)
			}
		})
	}
}

func TestMapDynamic(t *testing.T) {
	e := entry(t, "base.vhdx")
	img := disktest.Open(t, vhdx.Format, e.Path(), disk.Options{})
	ext, err := img.Image.(disk.Mapper).Map(0, img.Size())
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(e.ExpectPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range ext {
		if !x.Allocated {
			for i := x.Offset; i < x.Offset+x.Length; i++ {
				if want[i] != 0 {
					t.Fatalf("unallocated extent %+v holds data at %d", x, i)
				}
			}
		}
	}
}

func TestReadOnlyAndRange(t *testing.T) {
	e := entry(t, "base.vhdx")
	img := disktest.Open(t, vhdx.Format, e.Path(), disk.Options{})
	if _, err := img.WriteAt([]byte{1}, 0); !errors.Is(err, disk.ErrReadOnly) {
		t.Fatalf("write to a read-only image: %v", err)
	}
	if _, err := img.ReadAt(make([]byte, 2), img.Size()-1); !errors.Is(err, disk.ErrOutOfRange) {
		t.Fatalf("read past the end: %v", err)
	}
	if !vhdx.Format.Probe([]byte("vhdxfile\x00"), 1<<20) || vhdx.Format.Probe(make([]byte, 4096), 1<<20) {
		t.Fatal("Probe wrong")
	}
}

func TestInfo(t *testing.T) {
	disk1 := disktest.FixtureDir(t)
	for path, want := range map[string]disk.Info{
		filepath.Join(disk1, "dynamic.vhdx"): {Subformat: "dynamic"},
		filepath.Join(disk1, "fixed.vhdx"):   {Subformat: "fixed"},
		entry(t, "child.vhdx").Path():        {Subformat: "differencing", Parent: `.\base.vhdx`},
	} {
		img := disktest.Open(t, vhdx.Format, path, disk.Options{})
		got := img.Image.(disk.Describer).Info()
		if got.Format != "vhdx" || got.Subformat != want.Subformat || got.Parent != want.Parent || got.VirtualSize != img.Size() ||
			len(got.Files) != 1 || got.Files[0] != path || got.ReadOnly {
			t.Errorf("%s: Info = %+v", path, got)
		}
	}
}
