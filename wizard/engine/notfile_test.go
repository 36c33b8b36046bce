//go:build linux

package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenNotAnImageFile: the wizard's first step, given a FIFO, a folder
// or a character device (typed or dropped), answers at once in a sentence
// that says what the file is. A FIFO used to hang the step in the kernel.
func TestOpenNotAnImageFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "disk.raw")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "disk.qcow2")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "disk.raw cannot be read as a disk image: it is a FIFO (named pipe), not a disk image file",
		folder:      "disk.qcow2 cannot be read as a disk image: it is a folder, not a disk image file",
		"/dev/zero": "zero cannot be read as a disk image: it is a character device node, not a disk image file",
	} {
		e := New(nil)
		done := make(chan error, 1)
		go func() { _, err := e.OpenImage(context.Background(), path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("OpenImage(%s) = %v, want %q", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("OpenImage(%s) still running after 10 s", path)
		}
		e.Close()
	}
}
