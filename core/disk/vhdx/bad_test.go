package vhdx_test

import (
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhdx"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Offsets from [MS-VHDX]: headers at 64 and 128 KiB (4 KiB checksummed),
// region tables at 192 and 256 KiB (64 KiB checksummed).
const (
	h1, h2 = 64 << 10, 128 << 10
	r1, r2 = 192 << 10, 256 << 10
)

func TestBadInput(t *testing.T) {
	bat := func(b []byte) []byte { return b[regionOffset(b, batGUID):] }
	firstFull := func(b []byte) int { // BAT index of the first fully present block
		for i := 0; ; i++ {
			if binary.LittleEndian.Uint64(bat(b)[8*i:])&7 == 6 {
				return i
			}
		}
	}
	cases := []struct {
		name      string
		edit      func(b []byte) []byte
		structure string
	}{
		{"tiny file", func(b []byte) []byte { return b[:4096] }, "file identifier"},
		{"no signature", func(b []byte) []byte { b[0] = 'X'; return b }, "file identifier"},
		{"truncated", func(b []byte) []byte { return b[:len(b)/2] }, "BAT"},
		{"both headers bad", func(b []byte) []byte { b[h1+100]++; b[h2+100]++; return b }, "header"},
		{"both region tables bad", func(b []byte) []byte { b[r1+100]++; b[r2+100]++; return b }, "region table"},
		{"BAT entry past EOF", func(b []byte) []byte {
			e := bat(b)[8*firstFull(b):]
			binary.LittleEndian.PutUint64(e, 6|uint64(1<<40))
			return b
		}, "BAT"},
		{"payload block over the metadata", func(b []byte) []byte {
			e := bat(b)[8*firstFull(b):]
			binary.LittleEndian.PutUint64(e, 6|uint64(regionOffset(b, metadataGUID)))
			return b
		}, "BAT"},
		{"invalid BAT state", func(b []byte) []byte {
			e := bat(b)[8*firstFull(b):]
			e[0] = e[0]&^7 | 4
			return b
		}, "BAT"},
		{"partially present without parent", func(b []byte) []byte {
			e := bat(b)[8*firstFull(b):]
			e[0] |= 7
			return b
		}, "BAT"},
		{"virtual size over 64 TiB", func(b []byte) []byte {
			binary.LittleEndian.PutUint64(metadataItem(b, virtualSize), 65<<40)
			return b
		}, "metadata"},
		{"block size not a power of two", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(metadataItem(b, fileParams), 3<<20)
			return b
		}, "metadata"},
		{"block size zero", func(b []byte) []byte {
			binary.LittleEndian.PutUint32(metadataItem(b, fileParams), 0)
			return b
		}, "metadata"},
		{"region past EOF", func(b []byte) []byte {
			for _, r := range []int{r1, r2} {
				binary.LittleEndian.PutUint64(b[r+16+16:], 1<<40) // first entry's offset
				fixCRC(b[r : r+64<<10])
			}
			return b
		}, "region table"},
		{"huge log", func(b []byte) []byte {
			for _, h := range []int{h1, h2} {
				binary.LittleEndian.PutUint32(b[h+68:], 0xfff00000)
				fixCRC(b[h : h+4096])
			}
			return b
		}, "header"},
	}
	src := entry(t, "base.vhdx")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(src.Path())
			if err != nil {
				t.Fatal(err)
			}
			p := t.TempDir() + "/bad.vhdx"
			if err := os.WriteFile(p, c.edit(b), 0o644); err != nil {
				t.Fatal(err)
			}
			before := testenv.FileSHA256(t, p)
			_, err = disktest.OpenImage(vhdx.Format, p, disk.Options{Writable: true})
			var fe *disk.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *disk.FormatError, got %v", err)
			}
			if fe.File != p || fe.Structure != c.structure {
				t.Fatalf("FormatError{File: %q, Structure: %q}, want %q, %q: %v", fe.File, fe.Structure, p, c.structure, err)
			}
			if testenv.FileSHA256(t, p) != before {
				t.Fatal("a failed open wrote to the file")
			}
		})
	}
}

// One damaged header or region table copy is survivable.
func TestOneCopyDamaged(t *testing.T) {
	src := entry(t, "base.vhdx")
	for name, at := range map[string]int{"header 1": h1 + 100, "header 2": h2 + 100, "region table 1": r1 + 100} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(src.Path())
			if err != nil {
				t.Fatal(err)
			}
			b[at]++
			p := t.TempDir() + "/one.vhdx"
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			img := disktest.Open(t, vhdx.Format, p, disk.Options{})
			if err := disktest.CompareWithRaw(img, src.ExpectPath(), 1); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// vhdx_fixture.py's child has its chunk 0 sector bitmap at BAT index 4096
// (1 MiB blocks, 512-byte sectors: chunk ratio 4096); without it the
// partially present block 3 cannot be read.
func TestPartialBlockWithoutBitmap(t *testing.T) {
	e := entry(t, "child.vhdx")
	dir := t.TempDir()
	testenv.CopyInto(t, e.Dir+"/base.vhdx", dir)
	p := testenv.CopyInto(t, e.Path(), dir)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint64(b[regionOffset(b, batGUID)+8*4096:], 0)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = disktest.OpenImage(vhdx.Format, p, disk.Options{})
	var fe *disk.FormatError
	if !errors.As(err, &fe) || fe.Structure != "BAT" {
		t.Fatalf("open: %v, want a BAT FormatError", err)
	}
}
