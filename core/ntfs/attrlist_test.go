package ntfs

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func freeClusters(t testing.TB, v *Volume) int64 {
	t.Helper()
	bm, err := v.clusterBitmap()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for l := int64(0); l < v.boot.TotalClusters; l++ {
		used, err := bm.get(l)
		if err != nil {
			t.Fatal(err)
		}
		if !used {
			n++
		}
	}
	return n
}

// TestAttributeListGrowth fragments the free space of a 512-byte-cluster
// volume into hundreds of two-cluster holes, then writes a file whose
// runlist outgrows its base record (stage three: attribute list and
// extension records), shrinks it back and regrows it. Every independent
// reader then checks the volume.
func TestAttributeListGrowth(t *testing.T) {
	dir := fixtureDir(t)
	baseFiles := readSums(t, filepath.Join(dir, "c512.sums"))
	baseDirs := readDirs(t, filepath.Join(dir, "c512.dirs"))
	files := readSums(t, filepath.Join(dir, "c512.sums"))
	dirs := append(readDirs(t, filepath.Join(dir, "c512.dirs")), "holes")
	img := copyFixture(t, "c512")
	v, _ := openImage(t, img, true)
	write := func(p string, b []byte) {
		t.Helper()
		if err := v.WriteFile(p, b); err != nil {
			t.Fatalf("WriteFile %s (%d bytes): %v", p, len(b), err)
		}
		files[p] = sha(b)
	}
	if err := v.Mkdir("holes"); err != nil {
		t.Fatal(err)
	}
	const n = 1200
	for i := 0; i < n; i++ {
		write(fmt.Sprintf("holes/h%04d", i), fill(int64(i), 1000)) // two clusters, non-resident
	}
	write("filler.bin", make([]byte, (freeClusters(t, v)-64)*512))
	for i := 0; i < n; i += 2 {
		write(fmt.Sprintf("holes/h%04d", i), nil)
	}
	for i, size := range []int{560000, 100000, 580000, 100, 570000} {
		b := fill(int64(900+i), size)
		write("huge.bin", b)
		got, err := v.ReadFile("huge.bin")
		if err != nil || sha(got) != sha(b) {
			t.Fatalf("step %d: read back %d bytes: %v", i, len(got), err)
		}
	}
	f, _, err := v.resolve("huge.bin")
	if err != nil {
		t.Fatal(err)
	}
	if f.base.find(atAttributeList, "") == nil || len(f.recs) < 3 {
		t.Fatalf("expected an attribute list and extension records, got %d records", len(f.recs))
	}
	runs := 0
	for _, a := range f.attrs(atData, "") {
		runs += len(a.Runs)
	}
	t.Logf("huge.bin: %d extension records, %d runs", len(f.recs)-1, runs)
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	info := string(tool(t, "ntfsinfo", "-F", "/huge.bin", img))
	if !strings.Contains(info, "$ATTRIBUTE_LIST") {
		t.Errorf("ntfsinfo does not show an attribute list:\n%s", info)
	}
	oracleCheck(t, img, filepath.Join(dir, "c512.img"), baseFiles, baseDirs, files, dirs, []string{"huge.bin", "filler.bin"})
}
