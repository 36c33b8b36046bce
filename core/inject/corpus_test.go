package inject

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// corpusFolder makes a one-package driver folder from a real INF of the
// shared corpus plus the fixture's stand-in .sys and .cat for that
// architecture (the corpus has INFs only).
func corpusFolder(t *testing.T, fx, inf, standIn string) (dir string, infText []byte) {
	t.Helper()
	infText, err := os.ReadFile(testenv.CorpusFile(t, inf))
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(t.TempDir(), "viostor")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "viostor.inf"), infText, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"viostor.sys", "viostor.cat"} {
		b, err := os.ReadFile(filepath.Join(fx, "drivers", "virtio-tree", "viostor", standIn, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, infText
}

// TestCorpusINFsPlan: the real, built viostor INFs of the corpus plan the
// boot-critical writes their Windows generation needs, with values taken
// from the INF; templates are refused, saying they are templates.
func TestCorpusINFsPlan(t *testing.T) {
	fx := fixture(t)
	ctx := context.Background()

	find := func(p *Plan, key, name string) *RegOp {
		for i := range p.Registry {
			r := &p.Registry[i]
			if r.Hive == "SYSTEM" && strings.Contains(strings.ToLower(r.Key), strings.ToLower(key)) && strings.EqualFold(r.Name, name) && r.New != nil {
				return r
			}
		}
		return nil
	}

	t.Run("viostor 0.1.208 on Server 2012 R2: DriverDatabase with Version from its DriverVer", func(t *testing.T) {
		drv, text := corpusFolder(t, fx, "inf/virtio-win-built/viostor_0.1.208_2k12R2_amd64.inf", "2k12R2/amd64")
		img := testenv.CopyInto(t, filepath.Join(fx, "disks", "2k12r2-x64.raw"), t.TempDir())
		p, err := BuildPlan(ctx, nil, Request{Image: img, Drivers: drv, Set: "inf", InPlace: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.HasBlockers() {
			t.Fatalf("blockers: %+v", p.Blockers)
		}
		if len(p.Packages) != 1 || p.Packages[0].Name != "viostor" || !p.Packages[0].BootCritical {
			t.Fatalf("packages %+v", p.Packages)
		}
		if got := p.Packages[0].DriverVer; !strings.Contains(got, "100.85.104.20800") {
			t.Errorf("DriverVer %q, want the INF's 100.85.104.20800", got)
		}
		v := find(p, `DriverDatabase\DriverPackages`, "Version")
		if v == nil {
			t.Fatal("no DriverPackages Version value")
		}
		if want := expectedVersion(t, text); !bytes.Equal(v.New.Data, want) {
			t.Errorf("Version\n got % x\nwant % x", v.New.Data, want)
		}
		if s := find(p, `Services\viostor`, "Start"); s == nil || !bytes.Equal(s.New.Data, []byte{0, 0, 0, 0}) {
			t.Errorf("Services\\viostor Start: %+v", s)
		}
		if g := find(p, `Services\viostor`, "Group"); g == nil || !strings.Contains(g.New.Text, "SCSI miniport") {
			t.Errorf("Services\\viostor Group (LoadOrderGroup of the INF): %+v", g)
		}
		if find(p, `CriticalDeviceDatabase`, "Service") != nil {
			t.Error("CriticalDeviceDatabase planned for Windows 8+; peers write it only up to 7 / 2008 R2")
		}
	})

	t.Run("viostor 2009 on Windows 7 x86: CriticalDeviceDatabase, no DriverDatabase", func(t *testing.T) {
		drv, _ := corpusFolder(t, fx, "inf/virtio-win-built/viostor_wlh_2009.inf", "w7/x86")
		img := testenv.CopyInto(t, filepath.Join(fx, "disks", "7-sp0-x86.raw"), t.TempDir())
		p, err := BuildPlan(ctx, nil, Request{Image: img, Drivers: drv, Set: "inf", InPlace: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Packages) != 1 || p.Packages[0].Name != "viostor" {
			t.Fatalf("packages %+v (rejected %+v)", p.Packages, p.Rejected)
		}
		cdd := find(p, `CriticalDeviceDatabase\PCI#VEN_1AF4&DEV_1001`, "Service")
		if cdd == nil || !strings.Contains(cdd.New.Text, "viostor") {
			t.Errorf("no CriticalDeviceDatabase entry for virtio-blk: %+v", cdd)
		}
		if find(p, `DriverDatabase`, "Version") != nil {
			t.Error("DriverDatabase planned for Windows 7, which has none")
		}
		if s := find(p, `Services\viostor`, "Start"); s == nil || !bytes.Equal(s.New.Data, []byte{0, 0, 0, 0}) {
			t.Errorf("Services\\viostor Start: %+v", s)
		}
	})

	for _, tmpl := range []string{"viostor.inx", "vioscsi.inx", "viorng.inf", "pvpanic.inf"} {
		t.Run("template "+tmpl+" is refused as a template", func(t *testing.T) {
			text, err := os.ReadFile(testenv.CorpusFile(t, "inf/virtio-win-templates/"+tmpl))
			if err != nil {
				t.Fatal(err)
			}
			drv := filepath.Join(t.TempDir(), "tmpl")
			if err := os.MkdirAll(drv, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(drv, strings.TrimSuffix(tmpl, filepath.Ext(tmpl))+".inf"), text, 0o644); err != nil {
				t.Fatal(err)
			}
			img := testenv.CopyInto(t, filepath.Join(fx, "disks", "2k22.raw"), t.TempDir())
			p, err := BuildPlan(ctx, nil, Request{Image: img, Drivers: drv, Set: "inf", InPlace: true})
			var said string
			switch {
			case err != nil:
				said = err.Error()
			case len(p.Packages) == 0 && len(p.Rejected) > 0:
				said = p.Rejected[0].Reason
			default:
				t.Fatalf("a template was planned: packages %+v", p.Packages)
			}
			if !strings.Contains(strings.ToLower(said), "template") {
				t.Errorf("refusal does not say it is a template: %s", said)
			}
		})
	}
}
