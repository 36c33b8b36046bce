package disktest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
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

// CrashAt applies seeded writes to a copy of the fixture through files that
// fail after budget host writes, then re-opens the file normally: it must
// open cleanly and hold every write that completed (the one cut short may
// be partly there).
func CrashAt(t *testing.T, f disk.Format, e Entry, budget int) string {
	t.Helper()
	dir := t.TempDir()
	img, ref := CopyEntry(t, e, dir)
	o := Open(t, f, img, disk.Options{Writable: true, Opener: &crashOpener{budget: budget}})
	want, err := os.ReadFile(ref)
	if err != nil {
		t.Fatal(err)
	}
	var cut Write
	for _, w := range Writes(Seed(5), o.Size(), 60) {
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
	re := Open(t, f, img, disk.Options{})
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

// CrashConsistency runs CrashAt on each of entries for a range of write
// budgets, then calls after (if not nil) with the re-opened file's path,
// for the checks only some images allow (qemu-img check).
func CrashConsistency(t *testing.T, f disk.Format, entries []Entry, after func(t *testing.T, e Entry, img string)) {
	t.Helper()
	for _, e := range entries {
		for _, budget := range []int{0, 1, 2, 3, 4, 5, 7, 10, 16, 25, 40} {
			t.Run(fmt.Sprintf("%s/%d", filepath.Base(e.File), budget), func(t *testing.T) {
				p := CrashAt(t, f, e, budget)
				if after != nil {
					after(t, e, p)
				}
			})
		}
	}
}
