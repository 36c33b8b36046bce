package testenv

import (
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FileSHA256 hashes a file without loading it whole: tests use it to prove
// that a refused or rolled-back operation left an image byte-identical.
func FileSHA256(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatalf("hashing %s: %v", path, err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// CopyFile copies src to dst and returns dst, so a test can write to a
// private copy of a shared fixture.
func CopyFile(t testing.TB, src, dst string) string {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatalf("copying %s: %v", src, err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// CopyInto copies src into dir under its own name and returns the new path.
func CopyInto(t testing.TB, src, dir string) string {
	t.Helper()
	return CopyFile(t, src, filepath.Join(dir, filepath.Base(src)))
}
