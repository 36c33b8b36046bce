//go:build windows

package disk

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// holdOpen opens path the way another program might, with the given access
// and sharing modes, and closes it when the test ends.
func holdOpen(t *testing.T, path string, access, share uint32) *os.File {
	t.Helper()
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(name, access, share, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatalf("the other program's open of %s: %v", path, err)
	}
	f := os.NewFile(uintptr(h), path)
	t.Cleanup(func() { f.Close() })
	return f
}

func newImageFile(t *testing.T) (string, []byte) {
	t.Helper()
	data := bytes.Repeat([]byte("pvinject"), 1024)
	// Not t.TempDir: its RemoveAll deletes with POSIX semantics, which
	// Wine 8.0 does not implement ("Invalid function"); os.Remove works.
	dir, err := os.MkdirTemp("", "pvinject-share")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "disk.img")
	t.Cleanup(func() { os.Remove(p); os.Remove(dir) })
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

const (
	rd    = windows.GENERIC_READ
	rdwr  = windows.GENERIC_READ | windows.GENERIC_WRITE
	shR   = windows.FILE_SHARE_READ
	shRW  = windows.FILE_SHARE_READ | windows.FILE_SHARE_WRITE
	first = "first"
)

// TestShareModes runs on Windows (and under Wine in CI): OSOpener refuses
// to write an image another program has open for writing or holds with a
// read lock, still reads it, and while it writes lets readers keep reading
// but no one else write.
func TestShareModes(t *testing.T) {
	t.Run("another writer", func(t *testing.T) {
		p, _ := newImageFile(t)
		holdOpen(t, p, rdwr, shRW) // a hypervisor running the VM
		if b, err := (OSOpener{}).Open(p, true); !errors.Is(err, ErrInUse) {
			if b != nil {
				b.Close()
			}
			t.Fatalf("writable open while another program writes: %v, want ErrInUse", err)
		}
		b, err := OSOpener{}.Open(p, false)
		if err != nil {
			t.Fatalf("read-only open while another program writes: %v", err)
		}
		b.Close()
	})
	t.Run("read lock", func(t *testing.T) {
		p, data := newImageFile(t)
		other := holdOpen(t, p, rd, shR) // a reader that shares reading only
		if b, err := (OSOpener{}).Open(p, true); !errors.Is(err, ErrInUse) {
			if b != nil {
				b.Close()
			}
			t.Fatalf("writable open under a read lock: %v, want ErrInUse", err)
		}
		got := make([]byte, 8)
		if _, err := other.ReadAt(got, 8); err != nil || !bytes.Equal(got, data[8:16]) {
			t.Fatalf("the read lock's holder can no longer read: %v", err)
		}
	})
	t.Run("we write", func(t *testing.T) {
		p, data := newImageFile(t)
		reader := holdOpen(t, p, rd, shRW) // a viewer that allows writers
		b, err := OSOpener{}.Open(p, true)
		if err != nil {
			t.Fatalf("writable open beside a sharing reader: %v", err)
		}
		defer b.Close()
		if _, err := b.WriteAt([]byte(first), 0); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(first))
		if _, err := reader.ReadAt(got, 0); err != nil || string(got) != first {
			t.Errorf("the reader reads %q, %v; want our write %q", got, err, first)
		}
		name, _ := windows.UTF16PtrFromString(p)
		if h, err := windows.CreateFile(name, rdwr, shRW, nil, windows.OPEN_EXISTING, 0, 0); err == nil {
			windows.CloseHandle(h)
			t.Error("a second writer opened the image while pvinject writes it")
		} else if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
			t.Errorf("a second writer's open failed with %v, want a sharing violation", err)
		}
		r2 := holdOpen(t, p, rd, shRW) // a new reader still gets in
		if _, err := r2.ReadAt(got, 0); err != nil || string(got) != first {
			t.Errorf("a new reader reads %q, %v", got, err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		all, _ := os.ReadFile(p)
		if !bytes.Equal(all[len(first):], data[len(first):]) || string(all[:len(first)]) != first {
			t.Error("the image's bytes after the write are not the original with our change")
		}
	})
}

// TestHoldOpen is not a test of its own: with PVINJECT_HOLD_OPEN=PATH it
// plays another program (a running VM) that has the image at PATH open for
// writing, for cmd/pvinject's Wine test, until PATH+".release" appears or a
// minute passes.
func TestHoldOpen(t *testing.T) {
	p := os.Getenv("PVINJECT_HOLD_OPEN")
	if p == "" {
		return
	}
	f := holdOpen(t, p, rdwr, shRW)
	defer f.Close()
	fmt.Println("holding", p)
	os.Stdout.Sync()
	for i := 0; i < 600; i++ {
		if _, err := os.Stat(p + ".release"); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
