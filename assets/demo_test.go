package assets_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	"github.com/pvinject/pvinject/assets"
	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/inspect"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/internal/testenv"
)

// The embedded demo must stay small: it ships inside every binary.
func TestDemoAssetsSmall(t *testing.T) {
	sizes, err := assets.DemoAssetSizes()
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for name, n := range sizes {
		t.Logf("%s: %d bytes", name, n)
		total += n
	}
	if total > 1<<20 {
		t.Errorf("embedded demo is %d bytes, budget 1 MiB (issue 6 allows well under 2 MiB)", total)
	}
	for _, want := range []string{assets.DemoImageName + ".gz", assets.DemoDriversName + ".gz"} {
		if _, ok := sizes[want]; !ok {
			t.Errorf("embedded demo lacks %s: %v", want, sizes)
		}
	}
}

// The unpacked demo is a Windows 10 x64 that virtio-win supports, and the
// demo driver set gives it viostor, vioscsi and netkvm.
func TestDemoInspectsAndSelects(t *testing.T) {
	dir := t.TempDir()
	img, drv, err := assets.DemoImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(img) != dir || filepath.Dir(drv) != dir {
		t.Fatalf("paths %s %s not in %s", img, drv, dir)
	}
	r, err := inspect.Inspect(context.Background(), img, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Image.Format != "qcow2" || len(r.Partitions) != 2 {
		t.Errorf("image %s with %d partitions, want qcow2 with 2", r.Image.Format, len(r.Partitions))
	}
	w := r.Windows
	if w == nil {
		t.Fatalf("no Windows in the demo image; warnings %+v", r.Safety.Warnings)
	}
	if w.ProductName != "Windows 10 Pro" || w.Major != 10 || w.Minor != 0 || w.Build != 19045 ||
		w.Arch != guest.ArchAMD64 || w.ControlSet != "ControlSet001" || w.Partition != 2 || w.VirtioDir != "w10" {
		t.Errorf("demo detected as %+v", w.Windows)
	}
	if len(r.Safety.Blockers) != 0 || len(r.Safety.Warnings) != 0 {
		t.Errorf("demo has findings: %+v", r.Safety)
	}
	var virtio *matrix.Verdict
	for i := range r.Matrix {
		if r.Matrix[i].DriverSet == "virtio-win" {
			virtio = &r.Matrix[i]
		}
	}
	if virtio == nil || virtio.Verdict != matrix.Supported {
		t.Fatalf("virtio-win verdict for the demo: %+v", virtio)
	}

	src, err := drivers.OpenSource(drv, inf.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if !src.ISO || src.Kind != drivers.KindVirtioWin {
		t.Errorf("demo drivers opened as kind %s iso %v", src.Kind, src.ISO)
	}
	sel, err := src.Select(drivers.GuestInfo{OSDir: w.VirtioDir, Arch: inf.ArchAMD64, Major: w.Major, Minor: w.Minor, Build: w.Build})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range sel.Chosen {
		names = append(names, c.Package.Name)
		if !c.Package.Signed() {
			t.Errorf("%s: demo package not signed: %+v", c.Package.Name, c.Package.Catalog)
		}
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"netkvm", "vioscsi", "viostor"}) {
		t.Errorf("chosen %v, want netkvm vioscsi viostor (rejected %+v)", names, sel.Rejected)
	}
}

// Every call gives back the pristine image, whatever happened to the last one.
func TestDemoFreshCopy(t *testing.T) {
	dir := t.TempDir()
	img, _, err := assets.DemoImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	pristine := testenv.FileSHA256(t, img)
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xee}, 4096), 1<<16); err != nil {
		t.Fatal(err)
	}
	f.Close()
	leftover := filepath.Join(dir, assets.DemoImageName+".pvinject-journal")
	output := filepath.Join(dir, "demo-kvm.qcow2")
	keep := filepath.Join(dir, "notes.txt")
	for _, p := range []string{leftover, output, keep} {
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img2, _, err := assets.DemoImage(dir)
	if err != nil {
		t.Fatal(err)
	}
	if img2 != img || testenv.FileSHA256(t, img2) != pristine {
		t.Errorf("second DemoImage did not restore the pristine image")
	}
	for _, p := range []string{leftover, output} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s from an earlier run survived: %v", p, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("a file that is not the demo's was removed: %v", err)
	}
}
