package inject

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/journal/faultinject"
	"github.com/pvinject/pvinject/core/safety"
)

func planFor(t *testing.T, img, drivers string) *Plan {
	t.Helper()
	p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: drivers, InPlace: true, MTU: 1500})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasBlockers() {
		t.Fatalf("blockers: %+v", p.Blockers)
	}
	return p
}

// TestCrashThenRollback: the writer dies after write N (a Kill fault beneath
// the journal, with no in-process clean-up, as if the process died); the
// journal is left behind, the next plan is refused, and Rollback restores
// the image byte for byte. Also Apply's own failure path rolls back.
func TestCrashThenRollback(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "10-x64-virtio.qcow2")
	drv := filepath.Join(dir, "drivers", "virtio-tree")
	sum := testenv.FileSHA256(t, src)

	// Count the writes of a whole run.
	count := &faultinject.Opener{}
	img := testenv.CopyInto(t, src, t.TempDir())
	if _, err := ApplyWith(context.Background(), planFor(t, img, drv), nil, count); err != nil {
		t.Fatal(err)
	}
	total := count.Writes()
	t.Logf("a whole run makes %d host-file writes", total)
	if total < 10 {
		t.Fatalf("only %d writes counted", total)
	}
	// Every write in turn (the crash test): one plan, the image
	// copied afresh at the same path before each run.
	img = filepath.Join(t.TempDir(), "crash.qcow2")
	copyTo(t, src, img)
	p := planFor(t, img, drv)
	data, err := loadFileData(p)
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; n < total; n++ {
		mode := faultinject.Kill
		if n%2 == 0 {
			mode = faultinject.Torn // the write reaches the file half-way
		}
		copyTo(t, src, img)
		j, err := journal.Begin(img, &faultinject.Opener{After: n, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		werr := write(context.Background(), p, data, j, func(float64, string) {})
		j.Close()
		if werr == nil {
			t.Fatalf("after %d of %d writes: no error", n, total)
		}
		if n == 1 || n == total/2 || n == total-1 {
			if _, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: drv, InPlace: true}); !isRefusal(err) {
				t.Errorf("after a crash at write %d the next plan is not refused: %v", n, err)
			}
		}
		if err := Rollback(img); err != nil {
			t.Fatalf("rollback after write %d: %v", n, err)
		}
		if testenv.FileSHA256(t, img) != sum {
			t.Fatalf("killed after write %d of %d (%v): rollback did not restore the image", n, total, mode)
		}
	}
	t.Logf("killed after each of writes 1..%d in turn; every rollback restored the original sha256", total-1)
	// Apply's own failure path: a failed write rolls back before returning.
	img = testenv.CopyInto(t, src, t.TempDir())
	_, err = ApplyWith(context.Background(), planFor(t, img, drv), nil, &faultinject.Opener{After: total / 2, Mode: faultinject.FailOnce})
	if err == nil {
		t.Fatal("no error from a failed write")
	}
	if journal.Exists(img) || testenv.FileSHA256(t, img) != sum {
		t.Error("Apply did not roll back after a failed write")
	}
}

func planFor2(t *testing.T, img, drv string) *Plan {
	p, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: drv, InPlace: true})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func isRefusal(err error) bool {
	var r *safety.Refusal
	return errors.As(err, &r)
}

// TestCancel: cancelling mid-run leaves the image rolled back.
func TestCancel(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "2k22.raw")
	img := testenv.CopyInto(t, src, t.TempDir())
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	ctx, cancel := context.WithCancel(context.Background())
	_, err := Apply(ctx, p, func(frac float64, _ string) {
		if frac > 0.5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if journal.Exists(img) || testenv.FileSHA256(t, img) != testenv.FileSHA256(t, src) {
		t.Error("cancelled run not rolled back")
	}
}

// TestJournalKeptAndAccept: after success the journal stays; a second
// inject is refused until Accept; Verify works from the saved report.
func TestJournalKeptAndAccept(t *testing.T) {
	dir := fixture(t)
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "11-x64.raw"), t.TempDir())
	drv := filepath.Join(dir, "drivers", "virtio-tree")
	if _, err := Apply(context.Background(), planFor(t, img, drv), nil); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{img + ReportSuffix, img + ReportHTMLSuffix, journal.Path(img)} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if err := Verify(context.Background(), img); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildPlan(context.Background(), nil, Request{Image: img, Drivers: drv, InPlace: true}); !isRefusal(err) {
		t.Fatalf("second inject not refused: %v", err)
	}
	// A plan made before the first run finished is refused by Apply too.
	img2 := testenv.CopyInto(t, filepath.Join(dir, "disks", "11-x64.raw"), t.TempDir())
	q := planFor(t, img2, drv)
	if _, err := Apply(context.Background(), planFor(t, img2, drv), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(context.Background(), q, nil); !isRefusal(err) {
		t.Fatalf("Apply over a journal: %v", err)
	}
	if err := Accept(img); err != nil {
		t.Fatal(err)
	}
	if journal.Exists(img) {
		t.Fatal("Accept kept the journal")
	}
	// The image now holds the injection: a second run changes nothing
	// structural and still verifies.
	p := planFor2(t, img, drv)
	if p.HasBlockers() {
		t.Fatalf("blockers after accept: %+v", p.Blockers)
	}
	for _, op := range p.Registry {
		t.Errorf("second plan repeats registry op %s", op)
	}
}

// TestOutput: --output converts first and never touches the source.
func TestOutput(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "7-sp0-x86.raw")
	sum := testenv.FileSHA256(t, src)
	out := filepath.Join(t.TempDir(), "out.qcow2")
	p, err := BuildPlan(context.Background(), nil, Request{Image: src, Drivers: filepath.Join(dir, "drivers", "virtio-tree"), Output: out})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Apply(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verify.OK || testenv.FileSHA256(t, src) != sum || journal.Exists(src) {
		t.Errorf("verify %+v, source touched: %v", rep.Verify, testenv.FileSHA256(t, src) != sum)
	}
	run(t, "qemu-img", "check", out)
	if err := Verify(context.Background(), out); err != nil {
		t.Error(err)
	}
}

// TestCommittedHiveIgnoresOldLogs backs the package doc's claim: after a
// hive with transaction logs is edited and committed, its header sequence
// numbers are equal, so the old logs are not replayed over it (core/hive
// follows Windows' rule: logs apply only to a dirty primary).
func TestCommittedHiveIgnoresOldLogs(t *testing.T) {
	d := filepath.Join(testenv.Fixture(t, "hive"), "dirty-new")
	data, err := os.ReadFile(filepath.Join(d, "SYSTEM"))
	if err != nil {
		t.Fatal(err)
	}
	var logs []hive.LogFile
	for _, n := range []string{"SYSTEM.LOG1", "SYSTEM.LOG2"} {
		b, err := os.ReadFile(filepath.Join(d, n))
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, hive.LogFile{Name: n, Data: b})
	}
	h, err := hive.Open("SYSTEM", data, logs...)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if h.Replayed() == nil {
		t.Fatal("fixture hive was not dirty")
	}
	if err := h.SetValue(`pvinject`, "Marker", hive.DWord(7)); err != nil {
		t.Fatal(err)
	}
	out, err := h.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if string(out[4:8]) != string(out[8:12]) {
		t.Fatal("committed hive has unequal sequence numbers")
	}
	h2, err := hive.OpenReadOnly("SYSTEM", out, logs...)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	if r := h2.Replayed(); r != nil {
		t.Errorf("old logs replayed over the committed hive: %+v", r)
	}
	if v, err := h2.Get(`pvinject`, "Marker"); err != nil || !v.Equal(hive.DWord(7)) {
		t.Errorf("edit lost: %v %v", v, err)
	}
}

// TestDryRunWritesNothing: BuildPlan and rendering the plan (what --dry-run
// prints, text and JSON) leave the image and its folder untouched.
func TestDryRunWritesNothing(t *testing.T) {
	dir := fixture(t)
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "8.1-x86.raw"), t.TempDir())
	sum := testenv.FileSHA256(t, img)
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	r := p.Report()
	js, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || len(back.Plan.Registry) != len(p.Registry) || len(back.Plan.Files) != len(p.Files) {
		t.Fatalf("plan JSON does not round-trip: %v", err)
	}
	txt := r.Text()
	for _, op := range p.Registry {
		if !strings.Contains(txt, op.String()) {
			t.Errorf("dry-run text lacks %s", op)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(img))
	if testenv.FileSHA256(t, img) != sum || len(ents) != 1 {
		t.Errorf("dry run wrote something: %d files beside the image", len(ents))
	}
}

// copyTo copies src over dst, removing any journal left beside dst.
func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(journal.Path(dst))
}
