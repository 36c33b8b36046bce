//go:build unix

package hostfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The kinds come from real entries made on this host, not from mode bits
// written by hand, so a platform that reports them differently fails here.
func TestKind(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{dir: "a folder", file: "a regular file", link: "a symbolic link"}
	{
		fifo := filepath.Join(dir, "p")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		want[fifo] = "a FIFO (named pipe)"
		sock := filepath.Join(dir, "s")
		l, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		want[sock] = "a socket"
		want["/dev/null"] = "a character device node"
	}
	for p, w := range want {
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := Kind(st.Mode()); got != w {
			t.Errorf("Kind(%s) = %q, want %q", p, got, w)
		}
	}
	if got := Kind(fs.ModeDevice); got != "a block device node" {
		t.Errorf("block device: %q", got)
	}
	if got := Kind(fs.ModeIrregular); got != "not a regular file" {
		t.Errorf("irregular: %q", got)
	}
}

// ReadFile reads a small regular file and refuses, at once, a FIFO (which
// os.ReadFile would wait on), a device, a folder and a file over its limit.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "answers.json")
	if err := os.WriteFile(small, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadFile(small, 2); err != nil || string(b) != "{}" {
		t.Fatalf("ReadFile(small) = %q, %v", b, err)
	}
	if _, err := ReadFile(small, 1); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "it is 2 bytes, larger than such a file can be (1 bytes)") {
		t.Errorf("over the limit: %v", err)
	}
	fifo := filepath.Join(dir, "report.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{
		fifo:        fifo + ": it is a FIFO (named pipe), not a file",
		"/dev/zero": "/dev/zero: it is a character device node, not a file",
		dir:         dir + ": it is a folder, not a file",
	} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(p, 1<<20); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotFile) || err.Error() != want {
				t.Errorf("ReadFile(%s) = %v, want %q", p, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("ReadFile(%s) still waiting after 5 s", p)
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "gone"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
