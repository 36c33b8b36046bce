//go:build linux

package imagelock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func newFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustAcquire(t *testing.T, p string, m Mode) *Lock {
	t.Helper()
	l, err := Acquire(p, m)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", p, err)
	}
	t.Cleanup(func() { l.Release() })
	return l
}

// One lock per file, whatever the name: a symlink, a relative path and a
// hard link all meet the lock held through the first name.
func TestAcquireAliases(t *testing.T) {
	img := newFile(t)
	dir := filepath.Dir(img)
	link := filepath.Join(dir, "link.img")
	if err := os.Symlink(img, link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(t.TempDir(), "hard.img")
	if err := os.Link(img, hard); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	l := mustAcquire(t, img, Exclusive)
	if l.Links != 2 {
		t.Errorf("Links = %d, want 2", l.Links)
	}
	for _, name := range []string{img, link, "disk.img", "./link.img", hard} {
		_, err := Acquire(name, Exclusive)
		if !errors.Is(err, ErrLocked) {
			t.Errorf("Acquire(%s) while held = %v, want ErrLocked", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "another pvinject run") || !strings.Contains(msg, "this program") || strings.Count(msg, "\n") > 0 {
			t.Errorf("refusal %q: want one line naming the holder", msg)
		}
		if _, err := Acquire(name, Shared); !errors.Is(err, ErrLocked) {
			t.Errorf("shared Acquire(%s) while held exclusive = %v, want ErrLocked", name, err)
		}
	}
	for _, name := range []string{link, "disk.img"} {
		c, err := Canonical(name)
		if err != nil || c != l.Path {
			t.Errorf("Canonical(%s) = %q, %v; want %q", name, c, err, l.Path)
		}
	}
	l.Release()
	l2 := mustAcquire(t, link, Exclusive)
	if l2.ID != l.ID || l2.Path != l.Path {
		t.Errorf("after release, the link locks %+v at %s; want %+v at %s", l2.ID, l2.Path, l.ID, l.Path)
	}
}

func TestSharedExcludesWriters(t *testing.T) {
	img := newFile(t)
	mustAcquire(t, img, Shared)
	mustAcquire(t, img, Shared)
	if _, err := Acquire(img, Exclusive); !errors.Is(err, ErrLocked) {
		t.Fatalf("Exclusive while two readers hold it = %v, want ErrLocked", err)
	}
}

// A FIFO, a folder or a missing file is refused at once and nothing is
// created.
func TestAcquireNotAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.img")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for p, kind := range map[string]string{fifo: "it is a FIFO (named pipe), not a disk image file", dir: "it is a folder, not a disk image file"} {
		_, err := Acquire(p, Exclusive)
		if !errors.Is(err, ErrNotFile) || !strings.Contains(err.Error(), kind) {
			t.Errorf("Acquire(%s) = %v, want ErrNotFile saying it %s", p, err, kind)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("refusing a FIFO took %v", d)
	}
	missing := filepath.Join(dir, "gone.img")
	if _, err := Acquire(missing, Exclusive); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Acquire(missing) = %v, want ErrNotExist", err)
	}
	if _, err := os.Lstat(missing); err == nil {
		t.Errorf("Acquire created %s", missing)
	}
}

// Another process's lock is named: flock(1) holds it here.
func TestHolderOtherProcess(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Fatalf("flock(1) (util-linux) is needed: %v", err)
	}
	img := newFile(t)
	cmd := exec.Command("flock", "-x", img, "sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var err error
	for i := 0; i < 100; i++ {
		var l *Lock
		if l, err = Acquire(img, Exclusive); err == nil {
			l.Release()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		break
	}
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("Acquire while flock(1) holds it = %v, want ErrLocked", err)
	}
	if want := "flock -x " + img; !strings.Contains(err.Error(), want) {
		t.Errorf("refusal %q does not name the holder %q", err, want)
	}
}
