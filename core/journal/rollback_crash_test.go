package journal

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/journal/faultinject"
)

// TestCrashDuringRollback kills a rollback after each of its writes in turn
// (sampled), for the journal of a finished (sealed) run and of an
// interrupted one: the journal must survive, marked as being restored, and
// the next rollback must accept the half-restored files and finish, byte
// for byte. Kill is what SIGKILL does: a write happens whole or not at all.
func TestCrashDuringRollback(t *testing.T) {
	fix := disktest.FixtureDir(t)
	for _, name := range []string{"raw", "qcow2"} {
		for _, sealed := range []bool{true, false} {
			if name == "raw" && !sealed {
				continue // a 64 MiB copy per trial; qcow2 covers the unsealed case
			}
			t.Run(fmt.Sprintf("%s/sealed=%v", name, sealed), func(t *testing.T) {
				f, err := image.FormatByName(name)
				if err != nil {
					t.Fatal(err)
				}
				dir := t.TempDir()
				img := filepath.Join(dir, "disk"+extOf[name])
				src, err := image.Open(filepath.Join(fix, "src.raw"), disk.Options{})
				if err != nil {
					t.Fatal(err)
				}
				err = image.Convert(context.Background(), src, img, name, nil)
				src.Close()
				if err != nil {
					t.Fatal(err)
				}
				orig := hashDir(t, dir)
				jo, err := Begin(img, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := disktest.ApplyWritesWith(f, img, "", 5, 25, disk.Options{Opener: jo}); err != nil {
					t.Fatal(err)
				}
				if sealed {
					if err := jo.Seal(); err != nil {
						t.Fatal(err)
					}
				}
				jo.Close()
				snap := snapshot(t, dir)
				counter := &faultinject.Opener{}
				res, err := RollbackWith(img, Options{Opener: counter})
				if err != nil || res.Finished != sealed {
					t.Fatalf("rollback: %+v, %v", res, err)
				}
				sameDir(t, dir, orig, "after a whole rollback")
				total := counter.Writes()
				if total < 3 {
					t.Fatalf("a rollback of %d writes", total)
				}
				modes := []faultinject.Mode{faultinject.Kill}
				if !sealed && name == "qcow2" {
					// Without a seal nothing is compared, so even a write
					// torn half-way (power loss) is rolled back again.
					modes = append(modes, faultinject.Torn)
				}
				trials := 0
				for _, n := range sample(total-1, 10) {
					for _, mode := range modes {
						restore(t, dir, snap)
						_, err := RollbackWith(img, Options{Opener: &faultinject.Opener{After: n, Mode: mode}})
						if err == nil {
							t.Fatalf("rollback killed after write %d of %d did not fail", n, total)
						}
						if !Exists(img) {
							t.Fatalf("killed after write %d: journal gone", n)
						}
						if err := Rollback(img); err != nil {
							t.Fatalf("rollback after one killed after write %d of %d (mode %d): %v", n, total, mode, err)
						}
						sameDir(t, dir, orig, fmt.Sprintf("rollback killed after write %d of %d (mode %d), run again", n, total, mode))
						trials++
					}
				}
				t.Logf("%s, sealed %v: a rollback makes %d writes; killed after each of %d sampled writes (%d trials), every second rollback restored the original files", name, sealed, total, len(sample(total-1, 10)), trials)
			})
		}
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range es {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// restore puts the snapshot back, removing files it does not hold.
func restore(t *testing.T, dir string, snap map[string][]byte) {
	t.Helper()
	es, _ := os.ReadDir(dir)
	for _, e := range es {
		if _, ok := snap[e.Name()]; !ok {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
	for n, b := range snap {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
