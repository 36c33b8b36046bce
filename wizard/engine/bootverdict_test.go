package engine

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
	"github.com/pvinject/pvinject/wizard"
)

// Issue 10's third path through the wizard's engine: "Allow unsigned" on
// 64-bit Windows with an unsigned boot driver. The plan carries the
// consent, the report leads with it and with the boot check's red verdict,
// and the last page does not say "Done".
func TestAllowUnsignedEngineNotGreen(t *testing.T) {
	testenv.RequireTool(t, "hivexregedit", "qemu-img", "ntfs-3g", "mkntfs", "sfdisk")
	dir := testenv.Fixture(t, "inject")
	src := t.TempDir()
	testenv.CopyFile(t, filepath.Join(dir, "drivers", "virtio-tree", "viostor", "w10", "amd64", "viostor.inf"), filepath.Join(src, "viostor.inf"))
	testenv.CopyFile(t, filepath.Join(dir, "guests", "trees", "11-x64", "Windows", "System32", "cmd.exe"), filepath.Join(src, "viostor.sys"))
	ctx := context.Background()
	e := New(nil)
	if _, err := e.OpenImage(ctx, filepath.Join(dir, "disks", "11-x64.raw")); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Detect(ctx); err != nil {
		t.Fatal(err)
	}
	dreq := wizard.DriverRequest{Guest: 0, Set: wizard.SetINF, Path: src, AllowUnsigned: true}
	plan, err := e.PlanDrivers(ctx, dreq)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Consents) == 0 {
		t.Fatalf("the plan carries no consent: %+v", plan)
	}
	rep, err := e.Apply(ctx, wizard.ApplyRequest{PlanID: plan.ID, Drivers: dreq, Output: filepath.Join(t.TempDir(), "o.qcow2"), Format: "qcow2", WriteCache: wizard.CacheKeep}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Boots() || strings.Contains(rep.DoneText(), "Done") || !strings.Contains(rep.DoneText(), "will NOT boot") {
		t.Fatalf("last page: %q", rep.DoneText())
	}
	text := wizard.ReportText(rep)
	if i := strings.Index(text, "Files ("); i < 0 || !strings.Contains(text[:i], "Accepted risk: You allowed unsigned drivers") || !strings.Contains(text[:i], "is not signed") {
		t.Errorf("report text does not lead with the verdict and the consent:\n%s", text)
	}
}
