package ntfs

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestMFTExtend creates more files than a fresh $MFT holds, so $MFT and its
// bitmap grow (and $MFTMirr stays in step), in a new directory whose index
// root gets promoted and whose blocks split; every reader then checks it.
func TestMFTExtend(t *testing.T) {
	dir := fixtureDir(t)
	baseFiles := readSums(t, filepath.Join(dir, "hibok.sums"))
	baseDirs := readDirs(t, filepath.Join(dir, "hibok.dirs"))
	files := readSums(t, filepath.Join(dir, "hibok.sums"))
	dirs := append(readDirs(t, filepath.Join(dir, "hibok.dirs")), "Windows/INF")
	img := copyFixture(t, "hibok")
	v, _ := openImage(t, img, true)
	before := v.mftRecords()
	if err := v.Mkdir("Windows/INF"); err != nil {
		t.Fatal(err)
	}
	var changed []string
	for i := 0; i < int(before)+100; i++ {
		p := fmt.Sprintf("Windows/INF/oem%d.inf", i)
		b := fill(int64(i), i%3000)
		if err := v.WriteFile(p, b); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		files[p] = sha(b)
		if i%50 == 0 {
			changed = append(changed, p)
		}
	}
	after := v.mftRecords()
	if after <= before {
		t.Fatalf("$MFT did not grow: %d -> %d records", before, after)
	}
	d, err := v.openIndex(mustResolve(t, v, "Windows/INF"))
	if err != nil || d.alloc == nil || d.alloc.size < 3*int64(d.blockSize) {
		t.Fatalf("expected a multi-block index: %v", err)
	}
	t.Logf("$MFT %d -> %d records; index %d blocks", before, after, d.alloc.size/int64(d.blockSize))
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	oracleCheck(t, img, filepath.Join(dir, "hibok.img"), baseFiles, baseDirs, files, dirs, append(changed, "Windows/INF"))
}

func mustResolve(t *testing.T, v *Volume, p string) *file {
	t.Helper()
	f, _, err := v.resolve(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
