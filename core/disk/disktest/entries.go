package disktest

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

// ReadEntries opens each of es read-only with f and compares it with its
// expected raw file (random reads seeded with seed).
func ReadEntries(t *testing.T, f disk.Format, es []Entry, seed uint64) {
	t.Helper()
	for _, e := range es {
		t.Run(e.File, func(t *testing.T) {
			img := Open(t, f, e.Path(), disk.Options{})
			if err := CompareWithRaw(img, e.ExpectPath(), seed); err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
		})
	}
}

// CopyCases turns entries into RandomWrites cases that work on copies,
// leaving out the files named in skip.
func CopyCases(es []Entry, skip ...string) []Case {
	var cases []Case
	for _, e := range without(es, skip) {
		cases = append(cases, Case{Name: e.File, Setup: func(t *testing.T, dir string) (string, string) {
			return CopyEntry(t, e, dir)
		}})
	}
	return cases
}

// without returns es without the files named in skip.
func without(es []Entry, skip []string) []Entry {
	keep := Not(skip...)
	var out []Entry
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

// Flatten converts image p with qemu-img to a raw file in a temporary
// folder and returns its path: the independent expectation for p.
func Flatten(t *testing.T, p string) string {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "expect.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", p, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert %s: %v\n%s", p, err, out)
	}
	return raw
}

// CopyOf is a RandomWrites case on a copy of the image src (a corpus file,
// say) judged against qemu-img's flattening of it.
func CopyOf(src string) Case {
	return Case{Name: filepath.Base(src), Setup: func(t *testing.T, dir string) (string, string) {
		img, raw := filepath.Join(dir, filepath.Base(src)), filepath.Join(dir, "reference.raw")
		if out, err := exec.Command("cp", src, img).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		if out, err := exec.Command("qemu-img", "convert", "-O", "raw", src, raw).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img convert: %v\n%s", err, out)
		}
		return img, raw
	}}
}
