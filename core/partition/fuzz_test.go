package partition

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// synthMBR is a 16 KiB disk: a primary NTFS entry and an extended partition
// holding a chain of two EBRs. Seeds stay small so the fuzzer's
// minimization stays quick.
func synthMBR() []byte {
	d := make([]byte, 16<<10)
	entry := func(sec []byte, i int, typ byte, start, n uint32) {
		e := sec[446+16*i:]
		e[4] = typ
		binary.LittleEndian.PutUint32(e[8:], start)
		binary.LittleEndian.PutUint32(e[12:], n)
	}
	entry(d, 0, 0x07, 2, 8)
	entry(d, 1, 0x0f, 12, 20)
	d[510], d[511] = 0x55, 0xAA
	ebr1 := d[12*512:]
	entry(ebr1, 0, 0x0c, 2, 4)
	entry(ebr1, 1, 0x05, 10, 10)
	ebr1[510], ebr1[511] = 0x55, 0xAA
	ebr2 := d[22*512:]
	entry(ebr2, 0, 0x42, 2, 4)
	ebr2[510], ebr2[511] = 0x55, 0xAA
	copy(d[2*512+3:], "NTFS    ")
	return d
}

// synthGPT is an 8 KiB disk with a protective MBR and a primary GPT of 16
// entries holding one basic-data partition.
func synthGPT() []byte {
	d := make([]byte, 8<<10)
	d[446+4] = 0xee
	binary.LittleEndian.PutUint32(d[446+8:], 1)
	binary.LittleEndian.PutUint32(d[446+12:], 15)
	d[510], d[511] = 0x55, 0xAA
	ents := d[2*512 : 2*512+16*128]
	copy(ents[0:16], []byte{0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44, 0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7})
	ents[16] = 1
	binary.LittleEndian.PutUint64(ents[32:], 8)
	binary.LittleEndian.PutUint64(ents[40:], 14)
	h := d[512:]
	copy(h, "EFI PART")
	binary.LittleEndian.PutUint32(h[8:], 0x00010000)
	binary.LittleEndian.PutUint32(h[12:], 92)
	binary.LittleEndian.PutUint64(h[24:], 1)
	binary.LittleEndian.PutUint64(h[32:], 15)
	binary.LittleEndian.PutUint64(h[40:], 6)
	binary.LittleEndian.PutUint64(h[48:], 14)
	binary.LittleEndian.PutUint64(h[72:], 2)
	binary.LittleEndian.PutUint32(h[80:], 16)
	binary.LittleEndian.PutUint32(h[84:], 128)
	binary.LittleEndian.PutUint32(h[88:], crc32.ChecksumIEEE(ents))
	binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
	return d
}

func TestSynthetic(t *testing.T) {
	m, err := Read(bytes.NewReader(synthMBR()), 16<<10)
	if err != nil {
		t.Fatal(err)
	}
	got := ""
	for _, p := range m.Partitions {
		got += p.Type + ":" + p.Filesystem + " "
	}
	if got != "0x07:ntfs 0x0c:unknown 0x42:ldm " || m.Partitions[1].Start != 14*512 || m.Partitions[2].Start != 24*512 {
		t.Fatalf("synthetic MBR: %q %+v", got, m.Partitions)
	}
	g, err := Read(bytes.NewReader(synthGPT()), 8<<10)
	if err != nil || g.Scheme != SchemeGPT || len(g.Partitions) != 1 || g.Partitions[0].Size != 7*512 {
		t.Fatalf("synthetic GPT: %+v, %v", g, err)
	}
	// A loop in the EBR chain is an error, not a hang.
	d := synthMBR()
	binary.LittleEndian.PutUint32(d[22*512+446+16+8:], 0) // EBR2 -> EBR1 (relative 0)
	d[22*512+446+16+4] = 0x05
	if _, err := Read(bytes.NewReader(d), int64(len(d))); err == nil {
		t.Fatal("EBR loop accepted")
	}
	// An absurd GPT entry count, with a valid header CRC, is refused.
	d = synthGPT()
	binary.LittleEndian.PutUint32(d[512+80:], 0xffffffff)
	binary.LittleEndian.PutUint32(d[512+16:], 0)
	binary.LittleEndian.PutUint32(d[512+16:], crc32.ChecksumIEEE(d[512:512+92]))
	if _, err := Read(bytes.NewReader(d), int64(len(d))); err == nil {
		t.Fatal("GPT with 2^32 entries accepted")
	}
}

func FuzzRead(f *testing.F) {
	f.Add(synthMBR())
	f.Add(synthGPT())
	ntfs := make([]byte, 4096)
	copy(ntfs[3:], "NTFS    ")
	ntfs[510], ntfs[511] = 0x55, 0xAA
	f.Add(ntfs)
	// Fixture disks, when already built, add real boot sectors.
	dir := filepath.Join(testenv.RepoRoot(), "testdata", "gen", "partition")
	for _, n := range []string{"mbr-ext.raw", "xp.raw", "nopart.raw"} {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err == nil {
			f.Add(b[:4096])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, p := range tab.Partitions {
			if p.Start < 0 || p.Size < 0 {
				t.Fatalf("negative partition %+v", p)
			}
			if p.Filesystem == "" {
				t.Fatalf("partition %d without a filesystem verdict", p.Index)
			}
		}
	})
}
