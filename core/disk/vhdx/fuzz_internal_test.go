package vhdx

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// template is a 5 MiB dynamic VHDX (8 MiB virtual, 1 MiB blocks) with
// block 0 allocated at 4 MiB and holding 0x42: small enough to fuzz.
func template() []byte {
	md := metadata{BlockSize: mib, VirtualSize: 8 * mib, LogicalSector: 512, PhysicalSector: 4096}
	l := newLayout(md)
	f := make([]byte, 5*mib)
	copy(f, fileIdentifier("fuzz"))
	h := header{Sequence: 1, Version: 1, LogLength: mib, LogOffset: mib}
	copy(f[header1Offset:], h.marshal())
	h.Sequence = 2
	copy(f[header2Offset:], h.marshal())
	rt := marshalRegionTable([]region{{GUID: regionBAT, Offset: 2 * mib, Length: mib, Required: true}, {GUID: regionMetadata, Offset: 3 * mib, Length: mib, Required: true}})
	copy(f[region1Offset:], rt)
	copy(f[region2Offset:], rt)
	binary.LittleEndian.PutUint64(f[2*mib+8*l.payloadIndex(0):], 4*mib|payloadFull)
	binary.LittleEndian.PutUint64(f[2*mib+8*l.payloadIndex(1):], payloadZero)
	copy(f[3*mib:], marshalMetadata(md, mib))
	copy(f[4*mib:], bytes.Repeat([]byte{0x42}, mib))
	return f
}

func TestTemplateOpens(t *testing.T) {
	m, err := open("t.vhdx", newMem(template()), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2*mib)
	if _, err := m.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(bytes.Repeat([]byte{0x42}, mib), make([]byte, mib)...)) {
		t.Fatal("template reads wrong")
	}
}

// fixtureHeads returns the first 4 MiB of a few fixture files when the
// fixture tools are present (the fuzz seeds then cover real qemu output).
func fixtureHeads(f *testing.F) [][]byte {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		return nil
	}
	dir := testenv.Fixture(f, "vhd")
	var out [][]byte
	for _, n := range []string{"base.vhdx", "child.vhdx", "log.vhdx"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			out = append(out, b[:min(len(b), 5*mib)])
		}
	}
	return out
}

func FuzzHeader(f *testing.F) {
	for _, b := range append(fixtureHeads(f), template()) {
		f.Add(b[header1Offset : header1Offset+headerSize])
		f.Add(b[header2Offset : header2Offset+headerSize])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if headerProblem(b) != "" {
			return
		}
		h := parseHeader(b)
		if again := parseHeader(h.marshal()); again != h {
			t.Fatalf("header does not survive marshal: %+v vs %+v", h, again)
		}
	})
}

func FuzzRegionTable(f *testing.F) {
	for _, b := range append(fixtureHeads(f), template()) {
		f.Add(b[region1Offset:region1Offset+regionSize], int64(len(b)))
	}
	f.Fuzz(func(t *testing.T, b []byte, size int64) {
		rs, p := parseRegionTable(b, size)
		if p != "" {
			return
		}
		again, p := parseRegionTable(marshalRegionTable(rs), size)
		if p != "" || len(again) != len(rs) {
			t.Fatalf("region table does not survive marshal: %s", p)
		}
	})
}

func FuzzMetadata(f *testing.F) {
	for _, b := range append(fixtureHeads(f), template()) {
		rs, p := parseRegionTable(b[region1Offset:], int64(len(b)))
		if p != "" {
			continue
		}
		for _, r := range rs {
			if r.GUID == regionMetadata && int(r.Offset)+metaTableSize+4096 <= len(b) {
				f.Add(b[r.Offset : r.Offset+metaTableSize+4096])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		md, p := parseMetadata(b)
		if p != "" || md.HasParent {
			return
		}
		again, p := parseMetadata(marshalMetadata(md, len(b)))
		if p != "" || again.BlockSize != md.BlockSize || again.VirtualSize != md.VirtualSize {
			t.Fatalf("metadata does not survive marshal: %s %+v %+v", p, md, again)
		}
	})
}

func FuzzBAT(f *testing.F) {
	f.Add(template()[2*mib:2*mib+64], uint32(mib), uint64(8*mib), int64(5*mib), false)
	f.Add(bytes.Repeat([]byte{7, 0, 0x40, 0, 0, 0, 0, 0}, 8), uint32(mib), uint64(4*mib), int64(8*mib), true)
	f.Fuzz(func(t *testing.T, raw []byte, bs uint32, vsize uint64, fileSize int64, diff bool) {
		md := metadata{BlockSize: bs, VirtualSize: vsize, LogicalSector: 512, HasParent: diff}
		if bs < minBlockSize || bs > maxBlockSize || bs&(bs-1) != 0 || vsize == 0 || vsize > maxVirtualSize {
			return
		}
		l := newLayout(md)
		if l.entries*8 > int64(len(raw)) {
			return
		}
		parseBAT(raw, l, int64(vsize), fileSize, diff)
	})
}

func FuzzLog(f *testing.F) {
	var id guid
	for _, b := range fixtureHeads(f) {
		if len(b) >= 2*mib {
			copy(id[:], b[header1Offset+48:])
			f.Add(b[mib:2*mib], id[:])
		}
	}
	f.Add(make([]byte, 8192), id[:])
	f.Fuzz(func(t *testing.T, log, g []byte) {
		var id guid
		copy(id[:], g)
		activeSequence(log, id)
	})
}

// FuzzOpen patches bytes into the template (or a fixture's head) at off,
// optionally cuts the file, then opens it writable in memory, reads, maps
// and writes: nothing may panic.
func FuzzOpen(f *testing.F) {
	f.Add([]byte{}, uint32(0), uint32(0))
	f.Add([]byte{0xff, 0xff}, uint32(2*mib+8), uint32(0))
	f.Add([]byte{1}, uint32(3*mib+64<<10), uint32(0))
	f.Add([]byte{}, uint32(0), uint32(3*mib))
	tmpl := template()
	f.Fuzz(func(t *testing.T, patch []byte, off, cut uint32) {
		b := append([]byte{}, tmpl...)
		if len(patch) > 0 {
			copy(b[int(off)%len(b):], patch)
		}
		if cut > 0 {
			b = b[:int(cut)%len(b)]
		}
		parent := func(ref, child string) (disk.Image, error) { return nil, os.ErrNotExist }
		m, err := open("fuzz.vhdx", newMem(b), disk.Options{Writable: true, OpenParent: parent})
		if err != nil {
			return
		}
		buf := make([]byte, 8192)
		for _, o := range []int64{0, m.size / 2, m.size - 1} {
			n := min(int64(len(buf)), m.size-o)
			m.ReadAt(buf[:n], o)
			m.Map(o, n)
		}
		if m.l.bs <= 4*mib && m.size < 1<<30 {
			m.WriteAt([]byte("fuzz"), m.size/3)
			m.ReadAt(buf[:16], m.size/3)
		}
		m.Close()
	})
}

// memBacking is an in-memory host file of at most 64 << 20 bytes.
type memBacking = disktest.BareMem

func newMem(b []byte) *memBacking { return &memBacking{B: b, Max: 64 << 20} }
