package inject

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/disk"
)

// countingOpener counts the bytes read and written through the host files.
type countingOpener struct {
	inner         disk.Opener
	read, written atomic.Int64
}

func (c *countingOpener) wrap(b disk.Backing, err error) (disk.Backing, error) {
	if err != nil {
		return nil, err
	}
	return &countingBacking{Backing: b, c: c}, nil
}

func (c *countingOpener) Open(p string, w bool) (disk.Backing, error) {
	return c.wrap(c.inner.Open(p, w))
}

func (c *countingOpener) Create(p string) (disk.Backing, error) { return c.wrap(c.inner.Create(p)) }

type countingBacking struct {
	disk.Backing
	c *countingOpener
}

func (b *countingBacking) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.Backing.ReadAt(p, off)
	b.c.read.Add(int64(n))
	return n, err
}

func (b *countingBacking) WriteAt(p []byte, off int64) (int, error) {
	n, err := b.Backing.WriteAt(p, off)
	b.c.written.Add(int64(n))
	return n, err
}

// BenchmarkInjectInPlace64G: plan and apply viostor+vioscsi+netkvm in place
// into a 64 GiB sparse raw image, verification included: once on the
// synthetic 2022 guest, whose hives are tiny (the fixed cost), and once on
// a guest holding the real 11 MiB Windows 10 SYSTEM hive from the corpus
// (the cost with a hive of real size). Reported: bytes read and written
// through the image's host files, next to the hive and driver sizes they
// should be a small multiple of.
func BenchmarkInjectInPlace64G(b *testing.B) {
	for _, c := range []struct{ name, disk, tree string }{
		{"synthetic-2k22", "big.raw", "2k22"},
		{"real-win10-system-hive", "real.raw", "real-win10-19041"},
	} {
		b.Run(c.name, func(b *testing.B) { benchInject(b, c.disk, c.tree) })
	}
}

func benchInject(b *testing.B, diskName, guestTree string) {
	dir := fixture(b)
	img := filepath.Join(b.TempDir(), diskName)
	if out, err := exec.Command("cp", "--sparse=always", filepath.Join(dir, "bench", diskName), img).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v %s", err, out)
	}
	drv := filepath.Join(b.TempDir(), "virtio")
	if err := os.MkdirAll(drv, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, d := range []string{"viostor", "vioscsi", "NetKVM"} {
		if out, err := exec.Command("cp", "-r", filepath.Join(dir, "drivers", "virtio-tree", d), drv+"/").CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
	}
	var read, planRead, written, payload, hives int64
	var planNS, applyNS time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := &countingOpener{inner: disk.OSOpener{}}
		t0 := time.Now()
		p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: drv, InPlace: true, MTU: 9000, Opener: c})
		if err != nil {
			b.Fatal(err)
		}
		if p.HasBlockers() {
			b.Fatalf("blockers: %+v", p.Blockers)
		}
		t1 := time.Now()
		planRead = c.read.Load()
		rep, err := ApplyWith(context.Background(), p, nil, c)
		if err != nil {
			b.Fatal(err)
		}
		planNS += t1.Sub(t0)
		applyNS += time.Since(t1)
		if !rep.Verify.OK {
			b.Fatal("verification failed")
		}
		read, written = c.read.Load(), c.written.Load()
		payload = 0
		for _, f := range p.Files {
			payload += f.Size
		}
		b.StopTimer()
		hives = 0
		for _, hv := range []string{"SYSTEM", "SOFTWARE"} {
			if st, err := os.Stat(filepath.Join(dir, "guests", "trees", guestTree, "Windows", "System32", "config", hv)); err == nil {
				hives += st.Size()
			}
		}
		if len(p.Packages) != 3 {
			b.Fatalf("packages %d, want viostor+vioscsi+netkvm", len(p.Packages))
		}
		if err := Rollback(img); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(read), "read-B/op")
	b.ReportMetric(float64(planRead), "plan-read-B/op")
	b.ReportMetric(float64(written), "written-B/op")
	b.ReportMetric(float64(payload), "files-B/op")
	b.ReportMetric(float64(hives), "hives-B/op")
	b.ReportMetric(float64(planNS.Milliseconds())/float64(b.N), "plan-ms/op")
	b.ReportMetric(float64(applyNS.Milliseconds())/float64(b.N), "apply+verify-ms/op")
}
