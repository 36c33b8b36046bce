package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
	"github.com/pvinject/pvinject/wizard"
)

// TestDemoThroughEveryStep drives the wizard's engine over the real core on
// the bundled demo: every step the wizard takes, then rollback.
func TestDemoThroughEveryStep(t *testing.T) {
	ctx := context.Background()
	img, drivers := testenv.Demo(t)
	before := testenv.FileSHA256(t, img)
	e := New(nil)

	sumImg, err := e.OpenImage(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	if sumImg.Format != "qcow2" || sumImg.VirtualSize <= 0 || len(sumImg.Partitions) == 0 {
		t.Fatalf("image summary %+v", sumImg)
	}
	if sumImg.Partitions[0].Filesystem != "ntfs" {
		t.Errorf("first partition filesystem %q, want ntfs", sumImg.Partitions[0].Filesystem)
	}

	guests, err := e.Detect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(guests) != 1 || guests[0].Arch != "amd64" || guests[0].Major != 10 || !strings.Contains(guests[0].ProductName, "Windows 10") {
		t.Fatalf("guests %+v", guests)
	}

	verdicts, findings, err := e.Compatibility(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(wizard.Blockers(findings)) != 0 {
		t.Fatalf("demo has blockers: %+v", findings)
	}
	var virtio *wizard.Verdict
	for i := range verdicts {
		if verdicts[i].Family == string(wizard.SetVirtioWin) {
			virtio = &verdicts[i]
		}
	}
	if virtio == nil || virtio.Verdict == wizard.Unsupported {
		t.Fatalf("virtio-win verdict %+v in %+v", virtio, verdicts)
	}

	dreq := wizard.DriverRequest{Guest: 0, Set: wizard.SetVirtioWin, Path: drivers}
	plan, err := e.PlanDrivers(ctx, dreq)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range plan.Packages {
		names[p.Name] = true
	}
	for _, want := range []string{"viostor", "vioscsi", "netkvm"} {
		if !names[want] {
			t.Errorf("plan lacks %s: %+v", want, plan.Packages)
		}
	}
	if len(plan.Files) == 0 || len(plan.Registry) == 0 || plan.ID == "" {
		t.Fatalf("empty plan %+v", plan)
	}
	var sawVersion bool
	for _, r := range plan.Registry {
		if strings.Contains(r.Key, `DriverDatabase\DriverPackages`) && r.Value == "Version" {
			sawVersion = true
		}
	}
	if !sawVersion {
		t.Error("Windows 10 plan lacks the DriverPackages Version value (0x7B on the second boot without it)")
	}
	if testenv.FileSHA256(t, img) != before {
		t.Fatal("planning wrote to the image")
	}

	// A plan id the user did not review is refused and writes nothing.
	out := filepath.Join(t.TempDir(), "demo-kvm.qcow2")
	areq := wizard.ApplyRequest{PlanID: "not-the-plan", Drivers: dreq, Output: out, Format: "qcow2", MTU: 9000, WriteCache: wizard.CacheKeep}
	if _, err := e.Apply(ctx, areq, nil); err == nil {
		t.Fatal("Apply accepted a plan id that was not reviewed")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a refused Apply created the output")
	}

	areq.PlanID = plan.ID
	var lastFrac float64
	rep, err := e.Apply(ctx, areq, func(f float64, _ string) { lastFrac = f })
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verify.OK || rep.Verify.Checked == 0 {
		t.Fatalf("verification %+v", rep.Verify)
	}
	if !rep.Boots() || !strings.HasPrefix(rep.DoneText(), "Done.") {
		t.Errorf("the demo does not end green: %q %+v", rep.DoneText(), rep.Boot)
	}
	if lastFrac < 0.99 {
		t.Errorf("progress ended at %.2f", lastFrac)
	}
	if testenv.FileSHA256(t, img) != before {
		t.Fatal("applying to a new image changed the source")
	}
	if rep.Image != out || rep.ReportPath == "" {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Stat(rep.ReportPath); err != nil {
		t.Errorf("report not saved: %v", err)
	}

	// A new image has no journal: undoing it is deleting it with the
	// reports saved beside it, and the source stays as it was.
	if _, err := os.Lstat(out + ".pvinject-journal"); err == nil {
		t.Error("a journal was left beside the new image")
	}
	if err := e.Rollback(ctx, out); err != nil {
		t.Fatalf("Rollback of a new image: %v", err)
	}
	for _, p := range []string{out, rep.ReportPath} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after the new image was rolled back (%v)", p, err)
		}
	}
	if err := e.Rollback(ctx, out); err == nil {
		t.Error("a second Rollback of the deleted image succeeded")
	}
}
