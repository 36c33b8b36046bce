package disktest

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
)

const chunk = 4 << 20

// ReadAll opens every MANIFEST entry of format f.Name (accepted by filter,
// nil for all) read-only through f and checks that every byte equals the
// expected raw file, plus a few hundred unaligned reads at random offsets.
func ReadAll(t *testing.T, f disk.Format, filter func(Entry) bool) {
	t.Helper()
	entries := Entries(t, f.Name, filter)
	if len(entries) == 0 {
		t.Fatalf("disktest: no MANIFEST entry of format %q", f.Name)
	}
	for _, e := range entries {
		t.Run(e.File, func(t *testing.T) {
			img := Open(t, f, e.Path(), disk.Options{})
			if err := CompareWithRawPadded(img, e.ExpectPath(), 1, PadAllowed(f.Name)); err != nil {
				t.Fatalf("%s: %v", e.File, err)
			}
		})
	}
}

// PadAllowed is how much larger than its source a format's virtual disk may
// legitimately be: VHD rounds sizes up to a whole CHS geometry (qemu-img
// convert does the same), so up to 4 MiB of zeros may follow the data.
func PadAllowed(format string) int64 {
	if format == "vpc" {
		return 4 << 20
	}
	return 0
}

// CompareWithRawPadded is CompareWithRaw for an image that may be up to pad
// bytes larger than the raw file; the surplus must read as zeros.
func CompareWithRawPadded(img disk.Image, rawPath string, seed uint64, pad int64) error {
	st, err := os.Stat(rawPath)
	if err != nil {
		return err
	}
	extra := img.Size() - st.Size()
	if extra <= 0 || extra > pad {
		return CompareWithRaw(img, rawPath, seed)
	}
	tail := make([]byte, extra)
	if err := readFull(img, tail, st.Size()); err != nil {
		return err
	}
	if !bytes.Equal(tail, make([]byte, extra)) {
		return fmt.Errorf("the %d bytes past the source's size are not zeros", extra)
	}
	return compareWithRaw(io.NewSectionReader(img, 0, st.Size()), st.Size(), rawPath, seed)
}

// CompareWithRaw checks that img holds exactly the bytes of the raw file at
// rawPath: same size, every chunk equal, and unaligned reads at random
// offsets (seeded with seed) equal too. The error names the first difference.
func CompareWithRaw(img disk.Image, rawPath string, seed uint64) error {
	return compareWithRaw(img, img.Size(), rawPath, seed)
}

func compareWithRaw(img io.ReaderAt, imgSize int64, rawPath string, seed uint64) error {
	rf, err := os.Open(rawPath)
	if err != nil {
		return err
	}
	defer rf.Close()
	st, err := rf.Stat()
	if err != nil {
		return err
	}
	if imgSize != st.Size() {
		return fmt.Errorf("virtual size %d, expected %d (size of %s)", imgSize, st.Size(), rawPath)
	}
	got := make([]byte, chunk)
	want := make([]byte, chunk)
	for off := int64(0); off < st.Size(); off += chunk {
		n := int(min(chunk, st.Size()-off))
		if _, err := io.ReadFull(io.NewSectionReader(rf, off, int64(n)), want[:n]); err != nil {
			return fmt.Errorf("reading expected %s at %d: %w", rawPath, off, err)
		}
		if err := readFull(img, got[:n], off); err != nil {
			return err
		}
		if !bytes.Equal(got[:n], want[:n]) {
			return firstDiff(got[:n], want[:n], off)
		}
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < 300 && st.Size() > 0; i++ {
		n := 1 + rng.IntN(200000)
		n = int(min(int64(n), st.Size()))
		off := rng.Int64N(st.Size() - int64(n) + 1)
		if _, err := rf.ReadAt(want[:n], off); err != nil && err != io.EOF {
			return err
		}
		if err := readFull(img, got[:n], off); err != nil {
			return err
		}
		if !bytes.Equal(got[:n], want[:n]) {
			return firstDiff(got[:n], want[:n], off)
		}
	}
	return nil
}

func readFull(img io.ReaderAt, p []byte, off int64) error {
	n, err := img.ReadAt(p, off)
	if n == len(p) && (err == nil || err == io.EOF) {
		return nil
	}
	return fmt.Errorf("ReadAt(len %d, off %d) = %d, %v", len(p), off, n, err)
}

func firstDiff(got, want []byte, base int64) error {
	for i := range got {
		if got[i] != want[i] {
			end := min(i+16, len(got))
			return fmt.Errorf("first difference at virtual offset %d: got % x, want % x", base+int64(i), got[i:end], want[i:end])
		}
	}
	return nil
}
