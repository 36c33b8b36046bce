//go:build unix

package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRollbackJournalNotAFile: a journal that is a FIFO, a folder or a
// symbolic link (pvinject only ever writes a regular file) is refused as
// damaged, saying what it is, with the image and the entry left as they
// are. A FIFO used to read as a 0-byte journal, a folder failed to open with
// the system's words, and a link was followed.
func TestRollbackJournalNotAFile(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	orig := bytes.Repeat([]byte("o"), 8192)
	if err := os.WriteFile(img, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(dir, "elsewhere")
	if err := os.WriteFile(elsewhere, []byte("not a journal"), 0o644); err != nil {
		t.Fatal(err)
	}
	jp := Path(img)
	for kind, mk := range map[string]func() error{
		"a FIFO (named pipe)": func() error { return syscall.Mkfifo(jp, 0o644) },
		"a folder":            func() error { return os.Mkdir(jp, 0o755) },
		"a symbolic link":     func() error { return os.Symlink(elsewhere, jp) },
	} {
		if err := mk(); err != nil {
			t.Fatal(err)
		}
		err := Rollback(img)
		var de *DamagedError
		if !errors.As(err, &de) || de.Image != img || !strings.Contains(err.Error(), "damaged (it is "+kind+", not a file that pvinject writes)") {
			t.Errorf("journal that is %s: %v, want a DamagedError saying so", kind, err)
		}
		if _, err := os.Lstat(jp); err != nil {
			t.Errorf("journal that is %s: gone: %v", kind, err)
		}
		if got, _ := os.ReadFile(img); !bytes.Equal(got, orig) {
			t.Errorf("journal that is %s: the image changed", kind)
		}
		if err := os.Remove(jp); err != nil {
			t.Fatal(err)
		}
	}
}
