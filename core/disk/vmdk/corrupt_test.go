package vmdk

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestCorruptHeader overwrites KDMV header fields at their documented
// offsets and expects a *disk.FormatError from Open.
func TestCorruptHeader(t *testing.T) {
	base := seedImage(t, "fuzz-sparse.vmdk")
	le := binary.LittleEndian
	for _, c := range []struct {
		name string
		mod  func(b []byte) []byte
	}{
		{"truncated header", func(b []byte) []byte { return b[:300] }},
		{"version 9", func(b []byte) []byte { le.PutUint32(b[4:], 9); return b }},
		{"absurd capacity", func(b []byte) []byte { le.PutUint64(b[12:], 1<<50); return b }},
		{"grain size 0", func(b []byte) []byte { le.PutUint64(b[20:], 0); return b }},
		{"grain size 3", func(b []byte) []byte { le.PutUint64(b[20:], 3); return b }},
		{"huge descriptor", func(b []byte) []byte { le.PutUint64(b[36:], 1<<40); return b }},
		{"no GTEs", func(b []byte) []byte { le.PutUint32(b[44:], 0); return b }},
		{"both directories past EOF", func(b []byte) []byte {
			le.PutUint64(b[48:], 1<<30)
			le.PutUint64(b[56:], 1<<30)
			return b
		}},
		{"descriptor without extents", func(b []byte) []byte {
			d := le.Uint64(b[28:]) * 512
			copy(b[d:], "# Disk DescriptorFile\nversion=1\n\x00")
			return b
		}},
		{"truncated before the directories", func(b []byte) []byte { return b[:le.Uint64(b[48:])*512] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open("mem.vmdk", newMem(c.mod(bytes.Clone(base))), memOpts)
			var fe *disk.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("want *disk.FormatError, got %v", err)
			}
			t.Log(err)
		})
	}
}

// TestRedundantDirectory damages the primary grain directory: reads go
// through the redundant copy and give the same bytes, writes are refused.
func TestRedundantDirectory(t *testing.T) {
	base := seedImage(t, "fuzz-sparse.vmdk")
	le := binary.LittleEndian
	want := readAll(t, base, false)
	for _, c := range []struct {
		name string
		mod  func(b []byte)
	}{
		{"directory past EOF", func(b []byte) { le.PutUint64(b[56:], 1<<30) }},
		{"entry past EOF", func(b []byte) { le.PutUint32(b[le.Uint64(b[56:])*512:], 0x7fffff00) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := bytes.Clone(base)
			c.mod(img)
			if got := readAll(t, img, true); !bytes.Equal(got, want) {
				t.Fatal("reading through the redundant directory gave other bytes")
			}
		})
	}
}

func readAll(t *testing.T, img []byte, damaged bool) []byte {
	t.Helper()
	mb := newMem(bytes.Clone(img))
	opts := memOpts
	opts.Writable = true
	m, err := Open("mem.vmdk", mb, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := make([]byte, m.Size())
	if _, err := m.ReadAt(out, 0); err != nil {
		t.Fatal(err)
	}
	before := bytes.Clone(mb.Data)
	_, werr := m.WriteAt([]byte{1}, 0)
	if damaged {
		var fe *disk.FormatError
		if !errors.As(werr, &fe) || !bytes.Equal(before, mb.Data) {
			t.Fatalf("write to a damaged disk: %v (file changed: %v)", werr, !bytes.Equal(before, mb.Data))
		}
	}
	return out
}

// TestCorruptGrainTable points a grain table entry past the end of the
// file: the read fails with a *disk.FormatError and a write changes nothing.
func TestCorruptGrainTable(t *testing.T) {
	img := bytes.Clone(seedImage(t, "fuzz-sparse.vmdk"))
	le := binary.LittleEndian
	for _, dir := range []uint64{le.Uint64(img[48:]), le.Uint64(img[56:])} {
		gt := le.Uint32(img[dir*512:])
		le.PutUint32(img[int64(gt)*512:], 0x7fffff00)
	}
	mb := newMem(img)
	opts := memOpts
	opts.Writable = true
	m, err := Open("mem.vmdk", mb, opts)
	if err != nil {
		t.Fatal(err)
	}
	var fe *disk.FormatError
	if _, err := m.ReadAt(make([]byte, 512), 0); !errors.As(err, &fe) {
		t.Fatalf("read: want *disk.FormatError, got %v", err)
	}
	before := bytes.Clone(mb.Data)
	if _, err := m.WriteAt([]byte{1}, 0); !errors.As(err, &fe) {
		t.Fatalf("write: want *disk.FormatError, got %v", err)
	}
	if !bytes.Equal(before, mb.Data) {
		t.Fatal("a refused write modified the file")
	}
}

// TestNewGrainTable removes the grain tables from both directories, so a
// write must append new ones, and checks qemu reads the result.
func TestNewGrainTable(t *testing.T) {
	testenv.RequireTool(t, "qemu-io", "qemu-img")
	img := bytes.Clone(seedImage(t, "fuzz-sparse.vmdk"))
	le := binary.LittleEndian
	for _, dir := range []uint64{le.Uint64(img[48:]), le.Uint64(img[56:])} {
		le.PutUint32(img[dir*512:], 0)
	}
	p := filepath.Join(t.TempDir(), "fuzz-sparse.vmdk")
	if err := os.WriteFile(p, img, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := Open(p, disk.NewFileBacking(f), disk.Options{Writable: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.WriteAt(bytes.Repeat([]byte{0x5a}, 4096), 8192); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("qemu-io", "-f", "vmdk", "-c", "read -P 0 0 8192", "-c", "read -P 0x5a 8192 4096", "-c", "read -P 0 12288 4096", p).CombinedOutput()
	if err != nil || strings.Contains(string(out), "failed") {
		t.Fatalf("qemu-io: %v\n%s", err, out)
	}
	if out, err := exec.Command("qemu-img", "check", "-f", "vmdk", p).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img check: %v\n%s", err, out)
	}
}

// TestRefusedExtents: extent kinds this package does not read are refused
// by name at Open, before any extent file is opened.
func TestRefusedExtents(t *testing.T) {
	for _, c := range []struct{ name, data string }{
		{"ESX sparse file", "COWD" + string(make([]byte, 2044))},
		{"vmfsSparse extent", "# Disk DescriptorFile\nversion=1\ncreateType=\"vmfsSparse\"\nRW 2048 VMFSSPARSE \"x-delta.vmdk\"\n"},
		{"seSparse extent", "# Disk DescriptorFile\nversion=1\ncreateType=\"seSparse\"\nRW 2048 SESPARSE \"x-sesparse.vmdk\"\n"},
		{"raw device mapping", "# Disk DescriptorFile\nversion=1\ncreateType=\"vmfsRawDeviceMap\"\nRW 2048 VMFSRDM \"x-rdm.vmdk\"\n"},
		{"unterminated name", "# Disk DescriptorFile\nversion=1\nRW 2048 FLAT \"x-flat.vmdk\n"},
		{"negative sectors", "# Disk DescriptorFile\nversion=1\nRW -5 FLAT \"x-flat.vmdk\" 0\n"},
		{"bad CID", "# Disk DescriptorFile\nversion=1\nCID=zz\nRW 5 FLAT \"x-flat.vmdk\" 0\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open("x.vmdk", newMem([]byte(c.data)), memOpts)
			var fe *disk.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("want *disk.FormatError, got %v", err)
			}
			t.Log(err)
		})
	}
}

type cidParent struct {
	zeroParent
	cid uint32
}

func (c cidParent) CID() uint32 { return c.cid }

type wrapped struct{ disk.Image }

func (w wrapped) Unwrap() disk.Image { return w.Image }

// TestFindCIDThroughWrappers: the parentCID check sees through wrappers
// that have Unwrap, and gives up on those that do not.
func TestFindCIDThroughWrappers(t *testing.T) {
	p := cidParent{zeroParent{N: 1 << 20}, 0x1234abcd}
	if c, ok := findCID(wrapped{wrapped{p}}); !ok || c.CID() != 0x1234abcd {
		t.Fatalf("findCID through two wrappers = %v, %v", c, ok)
	}
	if _, ok := findCID(zeroParent{N: 1}); ok {
		t.Fatal("findCID found a CID on an image without one")
	}
}
