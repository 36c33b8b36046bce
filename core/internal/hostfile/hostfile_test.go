//go:build unix

package hostfile

import (
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
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
