package qcow2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// TestCorruptHeader overwrites header fields at their documented offsets
// (docs/interop/qcow2.txt) and expects a *disk.FormatError from Open.
func TestCorruptHeader(t *testing.T) {
	base := seedImage(t, "fuzz-v3.qcow2")
	be := binary.BigEndian
	for _, c := range []struct {
		name string
		mod  func(b []byte) []byte
	}{
		{"truncated to 50 bytes", func(b []byte) []byte { return b[:50] }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"version 4", func(b []byte) []byte { be.PutUint32(b[4:], 4); return b }},
		{"cluster_bits 30", func(b []byte) []byte { be.PutUint32(b[20:], 30); return b }},
		{"cluster_bits 8", func(b []byte) []byte { be.PutUint32(b[20:], 8); return b }},
		{"absurd size", func(b []byte) []byte { be.PutUint64(b[24:], 1<<62); return b }},
		{"L1 too small for size", func(b []byte) []byte { be.PutUint64(b[24:], 1<<40); return b }},
		{"huge l1_size", func(b []byte) []byte { be.PutUint32(b[36:], 0xffffffff); return b }},
		{"L1 past EOF", func(b []byte) []byte { be.PutUint64(b[40:], 1<<40); return b }},
		{"L1 unaligned", func(b []byte) []byte { be.PutUint64(b[40:], be.Uint64(b[40:])+8); return b }},
		{"refcount table past EOF", func(b []byte) []byte { be.PutUint64(b[48:], 1<<40); return b }},
		{"huge refcount table", func(b []byte) []byte { be.PutUint32(b[56:], 0x7fffffff); return b }},
		{"refcount_order 7", func(b []byte) []byte { be.PutUint32(b[96:], 7); return b }},
		{"header_length 7", func(b []byte) []byte { be.PutUint32(b[100:], 7); return b }},
		{"backing name too long", func(b []byte) []byte { be.PutUint64(b[8:], 200); be.PutUint32(b[16:], 5000); return b }},
		{"extension past cluster", func(b []byte) []byte {
			hl := be.Uint32(b[100:])
			be.PutUint32(b[hl:], 0x12345678)
			be.PutUint32(b[hl+4:], 0xffff)
			return b
		}},
		{"truncated after the first cluster", func(b []byte) []byte { return b[:512] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := c.mod(bytes.Clone(base))
			_, err := Open("mem.qcow2", newMem(img), disk.Options{Writable: true})
			var fe *disk.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("want *disk.FormatError, got %v", err)
			}
			t.Log(err)
		})
	}
}

// TestCorruptTables points L1 and L2 entries past the end of the file:
// Open succeeds, but reads and writes of the affected clusters fail with a
// *disk.FormatError and leave the file untouched.
func TestCorruptTables(t *testing.T) {
	base := seedImage(t, "fuzz-v3.qcow2")
	be := binary.BigEndian
	l1 := be.Uint64(base[40:])
	l2 := be.Uint64(base[l1:]) & offsetMask
	for _, c := range []struct {
		name string
		at   uint64
		val  uint64
	}{
		{"L1 entry past EOF", l1, 1<<40 | flagCopied},
		{"L2 entry past EOF", l2, 1<<40 | flagCopied},
		{"L2 compressed past EOF", l2, flagCompressed | 1<<40},
		{"L2 compressed garbage", l2, flagCompressed | 600},
	} {
		t.Run(c.name, func(t *testing.T) {
			img := bytes.Clone(base)
			be.PutUint64(img[c.at:], c.val)
			mb := newMem(img)
			m, err := Open("mem.qcow2", mb, disk.Options{Writable: true})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			buf := make([]byte, 4096)
			_, rerr := m.ReadAt(buf, 0)
			var fe *disk.FormatError
			if !errors.As(rerr, &fe) {
				t.Fatalf("read: want *disk.FormatError, got %v", rerr)
			}
			before := bytes.Clone(mb.Data)
			if _, err := m.WriteAt([]byte("x"), 100); err == nil {
				t.Fatal("write through a corrupt table succeeded")
			}
			if !bytes.Equal(before, mb.Data) {
				t.Fatal("a refused write modified the file")
			}
			if err := m.Flush(); err == nil {
				t.Fatal("Flush after a failed write must report the sticky error")
			}
		})
	}
}

// TestCreateLayout checks the header Create writes field by field.
func TestCreateLayout(t *testing.T) {
	for _, c := range []struct {
		sub     string
		version uint32
	}{{"", 3}, {"v2", 2}} {
		mo := &memOpener{}
		img, err := Create("new.qcow2", 10<<30, disk.CreateOptions{Subformat: c.sub, Opener: mo})
		if err != nil {
			t.Fatal(err)
		}
		if err := img.Close(); err != nil {
			t.Fatal(err)
		}
		b := mo.b.Data
		be := binary.BigEndian
		if string(b[:4]) != magic || be.Uint32(b[4:]) != c.version || be.Uint32(b[20:]) != 16 || be.Uint64(b[24:]) != 10<<30 {
			t.Fatalf("%q: bad header % x", c.sub, b[:32])
		}
		if got := be.Uint32(b[36:]); got != 20 { // 10 GiB / 512 MiB per L2 table
			t.Fatalf("%q: l1_size %d, want 20", c.sub, got)
		}
		if len(b) != 4<<16 {
			t.Fatalf("%q: new image is %d bytes, want 4 clusters", c.sub, len(b))
		}
	}
}

type memOpener struct{ b *memBacking }

func (o *memOpener) Open(path string, writable bool) (disk.Backing, error) { return o.b, nil }
func (o *memOpener) Create(path string) (disk.Backing, error) {
	o.b = newMem(nil)
	return o.b, nil
}
