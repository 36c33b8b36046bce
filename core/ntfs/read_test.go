package ntfs

import (
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/pvinject/pvinject/core/safety"
)

// TestReadFixtures reads every file of every fixture shape and compares
// the tree and bytes with what a real ntfs-3g mount saw.
func TestReadFixtures(t *testing.T) {
	dir := fixtureDir(t)
	for _, name := range fixtureShapes {
		t.Run(name, func(t *testing.T) {
			v, _ := openImage(t, filepath.Join(dir, name+".img"), false)
			files, _ := walkVolume(t, v)
			compareSums(t, files, readSums(t, filepath.Join(dir, name+".sums")))
		})
	}
}

func TestPathCaseInsensitive(t *testing.T) {
	v, _ := openImage(t, filepath.Join(fixtureDir(t), "c4k.img"), false)
	a, err := v.ReadFile("/windows/SYSTEM32/Config/system")
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.ReadFile(`Windows\System32\config\SYSTEM`)
	if err != nil {
		t.Fatal(err)
	}
	if sha(a) != sha(b) || len(a) != 70000 {
		t.Fatalf("case-folded read differs: %d vs %d bytes", len(a), len(b))
	}
	if _, err := v.ReadFile("USERS/PUBLIC/ÜNÏCÖDÉ ÑAME.TXT"); err != nil {
		t.Fatalf("non-ASCII case folding through $UpCase: %v", err)
	}
	if _, err := v.Stat("/nope/x"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("Stat missing: %v", err)
	}
	fi, err := v.Stat("Windows")
	if err != nil || !fi.IsDir || fi.Name != "Windows" {
		t.Fatalf("Stat Windows: %+v %v", fi, err)
	}
	if _, err := v.ReadFile("Windows"); !errors.Is(err, ErrIsDir) {
		t.Fatalf("ReadFile dir: %v", err)
	}
	ents, err := v.ReadDir("d5000")
	if err != nil || len(ents) != 5001 {
		t.Fatalf("ReadDir d5000: %d entries, %v", len(ents), err)
	}
}

// TestIOFS runs the standard io/fs conformance checks over a fixture.
func TestIOFS(t *testing.T) {
	v, _ := openImage(t, filepath.Join(fixtureDir(t), "c512.img"), false)
	if err := fstest.TestFS(v.IOFS(), "small.txt", "Windows/System32/config/SYSTEM", "d20/file1.txt"); err != nil {
		t.Fatal(err)
	}
}

// TestCompressed reads LZNT1-compressed files written by ntfs-3g, and
// refuses to write into the compressed directory or over compressed data.
func TestCompressed(t *testing.T) {
	dir := fixtureDir(t)
	v, _ := openImage(t, filepath.Join(dir, "comp.img"), false)
	files, _ := walkVolume(t, v)
	compareSums(t, files, readSums(t, filepath.Join(dir, "comp.sums")))
	fi, err := v.Stat("c.txt")
	if err != nil || !fi.Compressed() {
		t.Fatalf("c.txt not reported compressed: %+v %v", fi, err)
	}
	f, _, _ := v.resolve("c.txt")
	if a := f.first(atData, ""); a == nil || a.CompUnit == 0 || a.Flags&afCompressed == 0 {
		t.Fatal("fixture c.txt is not compressed on disk; the test proves nothing")
	}
	w, _ := openImage(t, copyFixture(t, "comp"), true)
	var ref *safety.Refusal
	if err := w.WriteFile("new.txt", []byte("x")); !errors.As(err, &ref) {
		t.Fatalf("create in compressed root: want refusal, got %v", err)
	}
	if err := w.WriteFile("c.txt", []byte("x")); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("overwrite compressed file: want ErrUnsupported, got %v", err)
	}
}

// TestWOFRefused: a CompactOS file's $DATA is a placeholder; ReadFile must
// say so instead of returning it.
func TestWOFRefused(t *testing.T) {
	v, _ := openImage(t, filepath.Join(fixtureDir(t), "wof.img"), false)
	if _, err := v.ReadFile("Windows/wof.exe"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("want ErrUnsupported for a WOF file, got %v", err)
	}
	fi, err := v.Stat("Windows/wof.exe")
	if err != nil || fi.Attributes&AttrReparsePoint == 0 {
		t.Fatalf("Stat: %+v %v", fi, err)
	}
}
