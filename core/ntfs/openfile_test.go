package ntfs

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"
)

// TestOpenFileMatchesReadFile reads every file of the fixture shapes
// (resident, non-resident, fragmented, sparse) through OpenFile at
// scattered offsets and in odd sizes, and compares with ReadFile.
func TestOpenFileMatchesReadFile(t *testing.T) {
	dir := fixtureDir(t)
	for _, name := range fixtureShapes {
		t.Run(name, func(t *testing.T) {
			v, _ := openImage(t, filepath.Join(dir, name+".img"), false)
			files, _ := walkVolume(t, v)
			rng := rand.New(rand.NewPCG(1, uint64(len(name))))
			for p := range files {
				want, err := v.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				f, err := v.OpenFile(p)
				if errors.Is(err, ErrUnsupported) {
					continue // NTFS-compressed: ReadFile's job
				}
				if err != nil {
					t.Fatalf("OpenFile %q: %v", p, err)
				}
				if f.Size() != int64(len(want)) {
					t.Fatalf("%q: Size %d, ReadFile %d bytes", p, f.Size(), len(want))
				}
				got := make([]byte, len(want))
				for off := 0; off < len(want); {
					n := min(1+rng.IntN(9000), len(want)-off)
					if m, err := f.ReadAt(got[off:off+n], int64(off)); m != n || err != nil && err != io.EOF {
						t.Fatalf("%q: ReadAt(%d, %d) = %d, %v", p, n, off, m, err)
					}
					off += n
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%q: OpenFile bytes differ from ReadFile", p)
				}
				tail := make([]byte, 16)
				if m, err := f.ReadAt(tail, f.Size()-int64(min(len(want), 3))); m != min(len(want), 3) || err != io.EOF {
					t.Fatalf("%q: read across the end = %d, %v; want %d, io.EOF", p, m, err, min(len(want), 3))
				}
			}
		})
	}
}

func TestOpenFileRefusals(t *testing.T) {
	v, _ := openImage(t, filepath.Join(fixtureDir(t), "c4k.img"), false)
	if _, err := v.OpenFile("Windows"); !errors.Is(err, ErrIsDir) {
		t.Fatalf("OpenFile on a directory: %v, want ErrIsDir", err)
	}
	if _, err := v.OpenFile("nope/x"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("OpenFile on a missing path: %v, want ErrNotExist", err)
	}
	f, err := v.OpenFile("Windows/System32/config/SYSTEM")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("negative offset accepted")
	}
}
