package vhd

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// seeds adds the first footer, dynamic header and BAT bytes of the vhd.sh
// fixtures, and a tiny hand-made dynamic disk with 4 KiB blocks.
func seeds(f *testing.F, part func(b []byte) []byte) {
	f.Add(part(tinyVHD()))
	if _, err := exec("qemu-img"); err != nil {
		return
	}
	dir := testenv.Fixture(f, "vhd")
	for _, n := range []string{"dyn.vhd", "fixed.vhd", "forcesize.vhd", "child.vhd"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err == nil {
			f.Add(part(b))
		}
	}
}

func exec(name string) (string, error) {
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && !st.IsDir() {
			return filepath.Join(d, name), nil
		}
	}
	return "", os.ErrNotExist
}

// tinyVHD is a 16 KiB dynamic disk with 4 KiB blocks, block 1 allocated.
func tinyVHD() []byte {
	const bs = 4096
	cyls, heads, spt := geometry(32)
	ft := footer{Features: 2, Version: 0x00010000, DataOffset: 512, CreatorApp: [4]byte{'w', 'i', 'n', ' '},
		OriginalSize: 16384, CurrentSize: 16384, Cylinders: cyls, Heads: heads, SectorsPerTr: spt, DiskType: typeDynamic}
	h := dynHeader{TableOffset: 1536, Version: 0x00010000, MaxTableEntries: 4, BlockSize: bs}
	var b bytes.Buffer
	b.Write(ft.marshal())
	b.Write(h.marshal())
	bat := bytes.Repeat([]byte{0xff}, 512)
	binary.BigEndian.PutUint32(bat[4:], 4) // block 1 at sector 4 (2048)
	b.Write(bat)
	bm := make([]byte, 512)
	bm[0] = 0xf0
	b.Write(bm)
	b.Write(bytes.Repeat([]byte{0x42}, bs))
	b.Write(ft.marshal())
	return b.Bytes()
}

func FuzzFooter(f *testing.F) {
	seeds(f, func(b []byte) []byte { return b[len(b)-footerSize:] })
	f.Fuzz(func(t *testing.T, b []byte) {
		if footerProblem(b) != "" {
			return
		}
		ft := parseFooter(b)
		_ = ft.virtualSize()
		again := parseFooter(ft.marshal())
		if again != ft {
			t.Fatalf("footer does not survive marshal: %+v vs %+v", ft, again)
		}
	})
}

func FuzzDynHeader(f *testing.F) {
	seeds(f, func(b []byte) []byte { return b[512:min(len(b), 1536)] })
	f.Fuzz(func(t *testing.T, b []byte) {
		if dynHeaderProblem(b) != "" {
			return
		}
		h := parseDynHeader(b)
		again := parseDynHeader(h.marshal())
		if again.TableOffset != h.TableOffset || again.BlockSize != h.BlockSize || again.Locators != h.Locators || again.ParentUniqueID != h.ParentUniqueID {
			t.Fatalf("dynamic header does not survive marshal: %+v vs %+v", h, again)
		}
	})
}

// FuzzOpen opens arbitrary bytes as a VHD (writable, in memory), then
// reads, maps and writes a little: nothing may panic.
func FuzzOpen(f *testing.F) {
	seeds(f, func(b []byte) []byte {
		if len(b) > 64<<10 {
			return append(append([]byte{}, b[:32<<10]...), b[len(b)-512:]...)
		}
		return b
	})
	f.Fuzz(func(t *testing.T, b []byte) {
		mb := newMem(append([]byte{}, b...))
		parent := func(ref, child string) (disk.Image, error) { return nil, os.ErrNotExist }
		m, err := open("fuzz.vhd", mb, disk.Options{Writable: true, OpenParent: parent})
		if err != nil {
			return
		}
		buf := make([]byte, 8192)
		for _, off := range []int64{0, m.size / 2, m.size - 1} {
			n := min(int64(len(buf)), m.size-off)
			m.ReadAt(buf[:n], off)
			m.Map(off, n)
		}
		if m.size < 64<<20 {
			m.WriteAt([]byte("fuzz"), m.size/3)
			m.ReadAt(buf[:16], m.size/3)
		}
		m.Close()
	})
}

// memBacking is an in-memory host file of at most 256 << 20 bytes.
type memBacking = disktest.BareMem

func newMem(b []byte) *memBacking { return &memBacking{B: b, Max: 256 << 20} }

func TestTinySeedOpens(t *testing.T) {
	m, err := open("tiny.vhd", newMem(tinyVHD()), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 16384)
	if _, err := m.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	want := append(make([]byte, 4096), bytes.Repeat([]byte{0x42}, 4096)...)
	want = append(want, make([]byte, 8192)...)
	if !bytes.Equal(got, want) {
		t.Fatal("tiny seed reads wrong")
	}
}
