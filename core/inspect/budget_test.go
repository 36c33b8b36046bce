package inspect

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Issue 4: `pvinject inspect` on a 64 GiB sparse image finishes in under
// 0.5 s and reads under 64 MiB. The fixture holds a Windows 10 x64 install
// on one NTFS partition spanning the disk (built by scripts/fixtures/inspect.sh).
const (
	budgetBytes = 64 << 20
	budgetTime  = 500 * time.Millisecond
)

// bighive64.qcow2 holds the same install with its SOFTWARE hive padded
// past the byte budget (bighive.size), so only reading hives in place, a
// few cells each, keeps inspection within it.
func TestReadBudget64G(t *testing.T) {
	dir := testenv.Fixture(t, "inspect")
	if hs := bigHiveSize(t, dir); hs < budgetBytes {
		t.Fatalf("the padded SOFTWARE hive is %d bytes, not more than the %d-byte budget: the fixture proves nothing", hs, budgetBytes)
	}
	for _, name := range []string{"big64.raw", "big64.qcow2", "bighive64.qcow2"} {
		t.Run(name, func(t *testing.T) {
			c := newCountingOpener(t)
			start := time.Now()
			r, err := Inspect(context.Background(), filepath.Join(dir, name), Options{Opener: c})
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if r.Image.VirtualSize != 64<<30 || r.Windows == nil || r.Windows.ProductName != "Windows 10 Pro" || r.Windows.Build != 19045 {
				t.Fatalf("size %d, windows %+v", r.Image.VirtualSize, r.Windows)
			}
			t.Logf("%s: %s, %d bytes read in %d reads", name, took, c.bytes.Load(), c.reads.Load())
			if c.bytes.Load() >= budgetBytes {
				t.Errorf("read %d bytes, budget %d", c.bytes.Load(), budgetBytes)
			}
			if !raceOn && took >= budgetTime {
				t.Errorf("took %s, budget %s", took, budgetTime)
			}
		})
	}
}

func bigHiveSize(t testing.TB, dir string) int64 {
	sizeText, err := os.ReadFile(filepath.Join(dir, "bighive.size"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(sizeText)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBigHiveInPlace: with a SOFTWARE hive bigger than the budget, reading
// hives in place (the default) and reading them whole (guest.OpenHive, the
// path dirty hives take) give the same report, and only the first stays
// within the budget.
func TestBigHiveInPlace(t *testing.T) {
	dir := testenv.Fixture(t, "inspect")
	hiveSize := bigHiveSize(t, dir)
	path := filepath.Join(dir, "bighive64.qcow2")
	run := func(open guest.HiveOpener) (*Report, int64) {
		c := newCountingOpener(t)
		r, err := Inspect(context.Background(), path, Options{Opener: c, OpenHive: open})
		if err != nil {
			t.Fatal(err)
		}
		return r, c.bytes.Load()
	}
	lazy, lazyBytes := run(nil)
	whole, wholeBytes := run(guest.OpenHive)
	lj, _ := json.Marshal(lazy)
	wj, _ := json.Marshal(whole)
	if string(lj) != string(wj) {
		t.Errorf("in-place and whole-file reports differ:\n%s\n%s", lj, wj)
	}
	t.Logf("SOFTWARE hive %d bytes: inspection read %d bytes in place, %d reading hives whole", hiveSize, lazyBytes, wholeBytes)
	if wholeBytes < hiveSize || lazyBytes >= budgetBytes {
		t.Errorf("read %d bytes in place and %d whole with a %d-byte hive", lazyBytes, wholeBytes, hiveSize)
	}
}

// BenchmarkInspect64G measures the default (hives read in place) and, as
// "whole-hives", reading them whole as before the lazy hive reader.
func BenchmarkInspect64G(b *testing.B) {
	dir := testenv.Fixture(b, "inspect")
	for _, name := range []string{"big64.raw", "big64.qcow2", "bighive64.qcow2"} {
		for _, m := range []struct {
			mode string
			open guest.HiveOpener
		}{{"in-place", nil}, {"whole-hives", guest.OpenHive}} {
			open := m.open
			b.Run(name+"/"+m.mode, func(b *testing.B) {
				var bytes, reads int64
				for b.Loop() {
					c := newCountingOpener(b)
					if _, err := Inspect(context.Background(), filepath.Join(dir, name), Options{Opener: c, OpenHive: open}); err != nil {
						b.Fatal(err)
					}
					bytes += c.bytes.Load()
					reads += c.reads.Load()
				}
				b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "MiB-read/op")
				b.ReportMetric(float64(reads)/float64(b.N), "reads/op")
			})
		}
	}
}
