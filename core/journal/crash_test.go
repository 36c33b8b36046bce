package journal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/journal/faultinject"
)

var extOf = map[string]string{"raw": ".img", "vpc": ".vhd", "vhdx": ".vhdx", "vmdk": ".vmdk", "qcow2": ".qcow2"}

// TestCrashRollback is the crash test: for every writable format in the
// tree, a random-write workload is killed after each of its host-file writes
// in turn (sampled when there are many), rolled back, and every file in the
// image's folder must hash exactly as before, with no file added.
func TestCrashRollback(t *testing.T) {
	fix := disktest.FixtureDir(t)
	for _, f := range image.Formats() {
		if f.Create == nil {
			continue
		}
		t.Run(f.Name, func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "disk"+extOf[f.Name])
			src, err := image.Open(filepath.Join(fix, "src.raw"), disk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = image.Convert(context.Background(), src, img, f.Name, nil)
			src.Close()
			if err != nil {
				t.Fatal(err)
			}
			orig := hashDir(t, dir)
			const seed, nwrites = 11, 25
			run := func(inj *faultinject.Opener) (*Opener, error) {
				jo, err := Begin(img, inj)
				if err != nil {
					t.Fatal(err)
				}
				err = disktest.ApplyWritesWith(f, img, "", seed, nwrites, disk.Options{Opener: jo})
				jo.Close()
				return jo, err
			}
			// A complete run, rolled back, counts the host writes.
			counter := &faultinject.Opener{}
			if _, err := run(counter); err != nil {
				t.Fatalf("workload without faults: %v", err)
			}
			total := counter.Writes()
			if hashDir(t, dir)[filepath.Base(img)] == orig[filepath.Base(img)] {
				t.Fatal("the workload did not change the image")
			}
			if err := Rollback(img); err != nil {
				t.Fatal(err)
			}
			sameDir(t, dir, orig, "after a complete run")
			for _, n := range sample(total, 20) {
				mode := faultinject.Kill
				if n%2 == 0 {
					mode = faultinject.Torn
				}
				inj := &faultinject.Opener{After: n, Mode: mode}
				jo, err := run(inj)
				if err == nil && n < total {
					t.Fatalf("kill after write %d of %d: workload did not fail", n, total)
				}
				if n%3 == 0 {
					appendTorn(t, jo, n)
				}
				if err := Rollback(img); err != nil {
					t.Fatalf("kill after write %d: rollback: %v", n, err)
				}
				sameDir(t, dir, orig, fmt.Sprintf("kill (mode %d) after write %d of %d", mode, n, total))
			}
		})
	}
}

// appendTorn writes, right after the last record, the beginning of a record
// that would corrupt the image if it were applied: rollback must see it is
// torn and ignore it.
func appendTorn(t *testing.T, jo *Opener, n int) {
	t.Helper()
	rec := record{kind: kindData, id: 1, off: 0, data: []byte("GARBAGE GARBAGE GARBAGE")}.marshal()
	cut := rec[:len(rec)-1-n%7]
	f, err := os.OpenFile(jo.JournalPath(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(cut, jo.pos); err != nil {
		t.Fatal(err)
	}
}

// sample returns 1..n when n <= max, else the first max/2 writes and max/2
// more spread evenly up to n.
func sample(n, max int) []int {
	var out []int
	if n <= max {
		for i := 1; i <= n; i++ {
			out = append(out, i)
		}
		return out
	}
	for i := 1; i <= max/2; i++ {
		out = append(out, i)
	}
	for i := 1; i <= max/2; i++ {
		out = append(out, max/2+(n-max/2)*i/(max/2))
	}
	return out
}

func hashDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range es {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

func sameDir(t *testing.T, dir string, want map[string]string, when string) {
	t.Helper()
	got := hashDir(t, dir)
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(got) != len(want) {
		t.Fatalf("%s: folder holds %v, want %d files", when, names, len(want))
	}
	for n, h := range want {
		if got[n] != h {
			t.Fatalf("%s: %s sha256 %s, want %s", when, n, got[n], h)
		}
	}
}
