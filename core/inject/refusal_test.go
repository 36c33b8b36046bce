package inject

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/safety"
)

// TestRefusals: every blocker makes Apply return a *safety.Refusal (the CLI's
// exit status 3) and leaves the image byte-identical, with no journal.
func TestRefusals(t *testing.T) {
	dir := fixture(t)
	virtio := filepath.Join(dir, "drivers", "virtio-tree")
	cases := []struct {
		name, disk, drivers, code string
	}{
		{"unsupported OS without override", "2k22", filepath.Join(dir, "drivers", "oracle"), "inject.matrix-unsupported"},
		{"unsigned on x64 without --allow-unsigned", "10-x64-virtio", filepath.Join(dir, "drivers", "folder", "nocat"), "drivers.catalog"},
		{"hibernated guest", "hiber-2k22", virtio, "hibern"},
		{"dirty hive without logs", "dirty-10-x86", virtio, "hive.dirty_no_logs"}, // said once, by detection
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := testenv.CopyInto(t, filepath.Join(dir, "disks", c.disk+".raw"), t.TempDir())
			sum := testenv.FileSHA256(t, img)
			p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: c.drivers, InPlace: true})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, b := range p.Blockers {
				if strings.Contains(b.Code, c.code) {
					found = true
				}
			}
			if !found {
				t.Fatalf("no blocker with code %q; blockers %+v", c.code, p.Blockers)
			}
			_, err = Apply(context.Background(), p, nil)
			var r *safety.Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Apply: %v, want a *safety.Refusal", err)
			}
			if r.Reason == "" || r.Remedy == "" {
				t.Errorf("refusal lacks reason or remedy: %+v", r)
			}
			if testenv.FileSHA256(t, img) != sum {
				t.Error("image changed")
			}
			if journal.Exists(img) {
				t.Error("a journal was left")
			}
			if _, err := os.Stat(img + ReportSuffix); err == nil {
				t.Error("a report was saved for a refused run")
			}
		})
	}
}

// TestAllowUnsigned: --allow-unsigned turns the x64 catalog blocker into a
// warning.
func TestAllowUnsigned(t *testing.T) {
	dir := fixture(t)
	img := filepath.Join(dir, "disks", "10-x64-virtio.raw")
	p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: filepath.Join(dir, "drivers", "folder", "nocat"),
		Output: filepath.Join(t.TempDir(), "out.qcow2"), AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Blockers {
		if strings.HasPrefix(b.Code, "drivers.") {
			t.Errorf("blocker despite AllowUnsigned: %+v", b)
		}
	}
	warned := false
	for _, w := range p.Warnings {
		warned = warned || strings.HasPrefix(w.Code, "drivers.catalog")
	}
	if !warned {
		t.Errorf("no unsigned warning: %+v", p.Warnings)
	}
}

// TestUnsigned32Bit: a package without its catalog is only a warning on
// 32-bit Windows (the Oracle guide §4.1; DISM's ForceUnsigned is x64-only),
// and the injection goes ahead.
func TestUnsigned32Bit(t *testing.T) {
	dir := fixture(t)
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "10-x86.raw"), t.TempDir())
	p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: filepath.Join(dir, "unsigned-x86"), InPlace: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasBlockers() {
		t.Fatalf("blockers on 32-bit: %+v", p.Blockers)
	}
	warned := false
	for _, w := range p.Warnings {
		warned = warned || strings.HasPrefix(w.Code, "drivers.catalog")
	}
	if !warned {
		t.Errorf("no unsigned warning: %+v", p.Warnings)
	}
	if _, err := Apply(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
}
