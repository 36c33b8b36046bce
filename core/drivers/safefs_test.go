//go:build unix

package drivers

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/drivers/inf"
)

// TestSourceFS: links inside the tree are read, links out of it (at the
// file or at a folder), FIFOs and oversized files are refused, naming the
// entry, without blocking.
func TestSourceFS(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "pkg", "amd64"), 0o755))
	must(os.WriteFile(filepath.Join(root, "pkg", "amd64", "a.sys"), []byte("inside"), 0o644))
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("host"), 0o600))
	must(os.Symlink("amd64/a.sys", filepath.Join(root, "pkg", "in.sys")))
	must(os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "pkg", "out.sys")))
	must(os.Symlink("../../"+filepath.Base(outside), filepath.Join(root, "pkg", "dirlink")))
	must(os.Symlink(outside, filepath.Join(root, "updir")))
	must(syscall.Mkfifo(filepath.Join(root, "pkg", "fifo.sys"), 0o644))
	big, err := os.Create(filepath.Join(root, "pkg", "big.sys"))
	must(err)
	must(big.Truncate(MaxSourceFileSize + 1))
	big.Close()

	s, err := newSourceFS(root)
	must(err)
	if b, err := fs.ReadFile(s, "pkg/in.sys"); err != nil || string(b) != "inside" {
		t.Errorf("link inside the tree: %q, %v", b, err)
	}
	start := time.Now()
	for _, name := range []string{"pkg/out.sys", "pkg/dirlink/secret", "updir/secret", "pkg/fifo.sys", "pkg/big.sys"} {
		_, err := fs.ReadFile(s, name)
		var u *UnsafeFileError
		if !errors.As(err, &u) || !errors.Is(err, ErrUnsafeFile) || u.Path != filepath.Join(root, filepath.FromSlash(name)) {
			t.Errorf("ReadFile(%s) = %v, want an UnsafeFileError naming it", name, err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusals took %v", d)
	}
	if _, err := s.Open("../x"); !errors.Is(err, fs.ErrInvalid) {
		t.Errorf("Open(../x) = %v, want ErrInvalid", err)
	}
	// The walk refuses the tree at the first hostile entry.
	if _, err := OpenSource(root, inf.Options{}); !errors.Is(err, ErrUnsafeFile) {
		t.Errorf("OpenSource of a hostile tree = %v, want ErrUnsafeFile", err)
	}
	// A FIFO named as the source itself is refused, not opened.
	if _, err := OpenSource(filepath.Join(root, "pkg", "fifo.sys"), inf.Options{}); !errors.Is(err, ErrUnsafeFile) {
		t.Errorf("OpenSource(FIFO) = %v, want ErrUnsafeFile", err)
	}
}
