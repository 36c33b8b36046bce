package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/inspect"
	"github.com/pvinject/pvinject/internal/testenv"
	"github.com/pvinject/pvinject/wizard"
)

// walk drives a wizard over e from step 1 to Apply, in place, choosing
// guest on step 2 and the virtio-win source drv on step 4.
func walk(t *testing.T, e *Engine, img string, guest int, drv string) *wizard.Wizard {
	t.Helper()
	ctx := context.Background()
	w := wizard.New(e)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("step %s: %v", w.Step(), err)
		}
	}
	must(w.OpenImage(ctx, img))
	must(w.Next())
	must(w.Load(ctx))
	must(w.SelectGuest(guest))
	must(w.Next())
	must(w.Load(ctx))
	must(w.Next())
	must(w.SetDriverSource(wizard.SetVirtioWin, drv))
	must(w.Load(ctx))
	must(w.Next())
	o := w.Options()
	o.InPlace = true
	w.SetOptions(o)
	must(w.Next())
	must(w.Apply(ctx))
	return w
}

// partitionFile copies partition n of a raw MBR disk to a file of its own,
// with dd and the offsets sfdisk reads, for the ntfs-3g tools.
func partitionFile(t *testing.T, img string, n int) string {
	t.Helper()
	out, err := exec.Command("sfdisk", "-d", img).Output()
	if err != nil {
		t.Fatalf("sfdisk -d: %v", err)
	}
	var start, size string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, img+strconv.Itoa(n)+" ") {
			continue
		}
		for _, f := range strings.Split(line[strings.Index(line, ":")+1:], ",") {
			kv := strings.SplitN(strings.TrimSpace(f), "=", 2)
			switch strings.TrimSpace(kv[0]) {
			case "start":
				start = strings.TrimSpace(kv[1])
			case "size":
				size = strings.TrimSpace(kv[1])
			}
		}
	}
	if start == "" || size == "" {
		t.Fatalf("partition %d not in:\n%s", n, out)
	}
	p := filepath.Join(t.TempDir(), "part"+strconv.Itoa(n)+".ntfs")
	if out, err := exec.Command("dd", "if="+img, "of="+p, "bs=512", "skip="+start, "count="+size, "status=none").CombinedOutput(); err != nil {
		t.Fatalf("dd: %v %s", err, out)
	}
	return p
}

// viostorStart reads Services\viostor\Start from the SYSTEM hive of a
// volume with ntfscat and hivexget; "" when the key does not exist.
func viostorStart(t *testing.T, vol, root string) string {
	t.Helper()
	hive := filepath.Join(t.TempDir(), "SYSTEM")
	out, err := exec.Command("ntfscat", vol, root+"/System32/config/SYSTEM").Output()
	if err != nil {
		t.Fatalf("ntfscat SYSTEM from %s: %v", vol, err)
	}
	if err := os.WriteFile(hive, out, 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := exec.Command("hivexget", hive, `\ControlSet001\Services\viostor`, "Start").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(v))
}

// TestSecondWindowsChosenIsWritten: on a disk with a Windows on each
// partition, the install chosen on step 2 (the second) is the one the plan
// describes and Apply writes; the first is left untouched (checked with
// ntfscat and hivexget, not our code). The run also reads the image and the
// driver source once: the figures are compared with what the same steps
// cost when each one opens the image and the source afresh (Inspect, then
// BuildPlan for the review and again for Apply), as before issue 11.
func TestSecondWindowsChosenIsWritten(t *testing.T) {
	testenv.RequireTool(t, "ntfscat", "hivexget", "sfdisk", "dd")
	dir := testenv.Fixture(t, "inject")
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "dual-10-11.raw"), t.TempDir())
	drv := filepath.Join(dir, "drivers", "virtio-tree")
	ctx := context.Background()
	p1Before := testenv.FileSHA256(t, partitionFile(t, img, 1))
	if got := viostorStart(t, partitionFile(t, img, 2), "Windows"); got != "" {
		t.Fatalf("fixture: partition 2 already has viostor (Start %q)", got)
	}

	// Before: every step opened the image and the source on its own.
	old := &disktest.CountingOpener{}
	if _, err := inspect.Inspect(ctx, img, inspect.Options{Opener: old}); err != nil {
		t.Fatal(err)
	}
	var oldSource int64
	for _, output := range []string{filepath.Join(t.TempDir(), "review.qcow2"), ""} {
		src, err := inject.OpenSource(drv)
		if err != nil {
			t.Fatal(err)
		}
		req := inject.Request{Image: img, Drivers: drv, Output: output, InPlace: output == "", Opener: old, Source: src}
		if _, err := inject.BuildPlan(ctx, nil, req); err != nil {
			t.Fatal(err)
		}
		oldSource += src.BytesRead()
		src.Close()
	}

	e := New(nil)
	c := &disktest.CountingOpener{}
	e.Opener = c
	var planned int64
	w := walkCounting(t, e, img, 1, drv, &planned)
	st := w.State()
	if st.Apply.Phase != wizard.ApplyDone || st.Apply.Report == nil || !st.Apply.Report.Verify.OK {
		t.Fatalf("apply: %+v", st.Apply)
	}
	if len(st.Guests) != 2 || st.Guests[0].Partition != 1 || st.Guests[1].Partition != 2 {
		t.Fatalf("guests %+v: want Windows 10 on partition 1 and Windows 11 on partition 2", st.Guests)
	}
	t.Logf("image bytes read while planning: %d before (Inspect + 2 BuildPlan), %d now (one target); driver bytes read: %d before, %d now",
		old.Read.Load(), c.Read.Load(), oldSource, planned)
	if c.Read.Load() >= old.Read.Load() {
		t.Errorf("the run read %d image bytes, no fewer than %d when every step opened the image", c.Read.Load(), old.Read.Load())
	}
	if planned == 0 || planned*3 > oldSource*2 {
		t.Errorf("driver files read %d bytes, want once (%d when the source was opened for each of two plans)", planned, oldSource)
	}

	if got := viostorStart(t, partitionFile(t, img, 2), "Windows"); got != "0" {
		t.Errorf("partition 2 (chosen): viostor Start = %q, want 0", got)
	}
	if got := testenv.FileSHA256(t, partitionFile(t, img, 1)); got != p1Before {
		t.Error("partition 1 (not chosen) was changed")
	}
}

// walkCounting is walk, then records the driver bytes the engine's source
// read from the folder over the whole run.
func walkCounting(t *testing.T, e *Engine, img string, guest int, drv string, read *int64) *wizard.Wizard {
	t.Helper()
	w := walk(t, e, img, guest, drv)
	e.mu.Lock()
	if e.src != nil {
		*read = e.src.BytesRead()
	}
	e.mu.Unlock()
	return w
}

var _ disk.Opener = (*disktest.CountingOpener)(nil)
