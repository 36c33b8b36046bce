package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// fixture builds (once) the synthetic disks and driver sources.
func fixture(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "hivexregedit", "qemu-img", "ntfs-3g", "mkntfs", "sfdisk")
	testenv.Corpus(t)
	return testenv.Fixture(t, "inject")
}

// copyDisk copies a fixture disk into a temp dir (sparse-agnostic, small).
func copyDisk(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
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
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

func fileSHA(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}
