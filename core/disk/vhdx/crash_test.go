package vhdx_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/vhdx"
)

var errCrash = errors.New("simulated power cut")

// crashOpener's files accept the first budget writes (WriteAt, Truncate),
// then fail every write and sync, as if the machine lost power there.
type crashOpener struct {
	mu     sync.Mutex
	budget int
}

func (o *crashOpener) Open(path string, writable bool) (disk.Backing, error) {
	b, err := disk.OSOpener{}.Open(path, writable)
	if err != nil {
		return nil, err
	}
	return &crashFile{Backing: b, o: o}, nil
}

func (o *crashOpener) Create(path string) (disk.Backing, error) { return nil, errCrash }

func (o *crashOpener) spend() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.budget <= 0 {
		return errCrash
	}
	o.budget--
	return nil
}

type crashFile struct {
	disk.Backing
	o *crashOpener
}

func (f *crashFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.o.spend(); err != nil {
		return 0, err
	}
	return f.Backing.WriteAt(p, off)
}

func (f *crashFile) Truncate(n int64) error {
	if err := f.o.spend(); err != nil {
		return err
	}
	return f.Backing.Truncate(n)
}

func (f *crashFile) Sync() error {
	f.o.mu.Lock()
	defer f.o.mu.Unlock()
	if f.o.budget <= 0 {
		return errCrash
	}
	return f.Backing.Sync()
}

// crashAt applies seeded writes to a copy of the fixture through files that
// fail after budget host writes, then re-opens the file normally: it must
// open cleanly and hold every write that completed (the one cut short may
// be partly there).
func crashAt(t *testing.T, f disk.Format, e disktest.Entry, budget int) string {
	dir := t.TempDir()
	img, ref := disktest.CopyEntry(t, e, dir)
	o := disktest.Open(t, f, img, disk.Options{Writable: true, Opener: &crashOpener{budget: budget}})
	want, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	var cut disktest.Write
	for _, w := range disktest.Writes(disktest.Seed(5), o.Size(), 60) {
		if _, err := o.WriteAt(w.Data, w.Off); err != nil {
			if !errors.Is(err, errCrash) {
				t.Fatalf("write failed with %v, want the simulated crash", err)
			}
			cut = w
			break
		}
		copy(want[w.Off:], w.Data)
	}
	o.Close()
	if cut.Data == nil {
		t.Fatalf("budget %d: no write failed", budget)
	}
	re := disktest.Open(t, f, img, disk.Options{})
	got := make([]byte, re.Size())
	if _, err := re.ReadAt(got, 0); err != nil {
		t.Fatalf("budget %d: read after crash: %v", budget, err)
	}
	end := cut.Off + int64(len(cut.Data))
	if !bytes.Equal(got[:cut.Off], want[:cut.Off]) || !bytes.Equal(got[end:], want[end:]) {
		t.Fatalf("budget %d: completed writes lost or garbage outside the interrupted write", budget)
	}
	return img
}

func TestCrashConsistency(t *testing.T) {
	for _, name := range []string{"base.vhdx", "child.vhdx"} {
		e := entry(t, name)
		for _, budget := range []int{0, 1, 2, 3, 4, 5, 7, 10, 16, 25, 40} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(name), budget), func(t *testing.T) {
				p := crashAt(t, vhdx.Format, e, budget)
				if name == "base.vhdx" { // qemu cannot open differencing VHDX files
					disktest.QemuCheck(t, "vhdx", p)
				}
			})
		}
	}
}
