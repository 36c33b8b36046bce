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

	"github.com/pvinject/pvinject/internal/testenv"
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

// TestAddHiveLogsNotAFile: "Add registry logs…" given a FIFO named like a
// log answers at once, saying what the file is; it used to wait for ever.
func TestAddHiveLogsNotAFile(t *testing.T) {
	img, _ := testenv.Demo(t)
	e := New(nil)
	defer e.Close()
	if _, err := e.OpenImage(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(t.TempDir(), "SYSTEM.LOG1")
	if err := syscall.Mkfifo(log, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.AddHiveLogs(context.Background(), []string{log}) }()
	select {
	case err := <-done:
		want := "SYSTEM.LOG1 cannot be read: " + log + ": it is a FIFO (named pipe), not a file"
		if err == nil || err.Error() != want {
			t.Errorf("AddHiveLogs(FIFO) = %v, want %q", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("AddHiveLogs(FIFO) still running after 10 s")
	}
}
