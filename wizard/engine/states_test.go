package engine

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
	"github.com/pvinject/pvinject/wizard"
)

// toGuestStep opens img in a new wizard over a new engine and loads step 2.
func toGuestStep(t *testing.T, img string) *wizard.Wizard {
	t.Helper()
	ctx := context.Background()
	w := wizard.New(New(nil))
	if err := w.OpenImage(ctx, img); err != nil {
		t.Fatal(err)
	}
	if err := w.Next(); err != nil {
		t.Fatalf("step 1: %v", err)
	}
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return w
}

func codes(fs []wizard.Finding, sev wizard.Severity) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == sev {
			out = append(out, f.Code)
		}
	}
	return out
}

// Blockers show on the step that knows them (2, the guest), all at once, and
// keep Next disabled with every one of them in the reason.
func TestBlockersOnGuestStep(t *testing.T) {
	dir := testenv.Fixture(t, "inject")
	for _, c := range []struct {
		disk string
		want []string
	}{
		{"dirty-10-x86.raw", []string{"hive.dirty_no_logs"}},
		{"hiber-2k22.raw", []string{"ntfs.hibernated"}},
		{"hiber-badcmd-2k22.raw", []string{"ntfs.hibernated", "guest."}},
	} {
		t.Run(c.disk, func(t *testing.T) {
			w := toGuestStep(t, filepath.Join(dir, "disks", c.disk))
			st := w.State()
			if st.Step != wizard.StepGuest || st.Guest != 0 {
				t.Fatalf("step %s guest %d", st.Step, st.Guest)
			}
			got := codes(st.Guests[0].Findings, wizard.Blocker)
			for _, want := range c.want {
				found := false
				for _, g := range got {
					found = found || strings.HasPrefix(g, want)
				}
				if !found {
					t.Errorf("step 2 blockers %v lack %s", got, want)
				}
			}
			if st.CanNext {
				t.Fatal("Next enabled on step 2 with blockers")
			}
			plainWords(t, c.disk, st.Guests[0].Findings)
			if len(got) > 1 && !strings.Contains(st.NextReason, "Blocked by") {
				t.Errorf("reason %q does not list every blocker", st.NextReason)
			}
			for _, f := range st.Guests[0].Findings {
				if f.Code == "hive.dirty_no_logs" && f.Title == "" {
					t.Errorf("dirty hive finding has no title: %+v", f)
				}
			}
		})
	}
}

// Step 1 stops at files that are no disk: a text file, an empty qcow2.
func TestNotADiskStopsAtStep1(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	ctx := context.Background()
	empty := filepath.Join(t.TempDir(), "empty.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", empty, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v %s", err, out)
	}
	text := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(text, []byte("root:x:0:0:root:/root:/bin/bash\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, img := range []string{"/etc/passwd", text, empty} {
		if _, err := os.Stat(img); err != nil {
			continue
		}
		w := wizard.New(New(nil))
		_ = w.OpenImage(ctx, img)
		st := w.State()
		if st.CanNext {
			t.Errorf("%s: step 1 lets the user go on: %+v", img, st.Image)
			continue
		}
		if st.ImageErr == nil && !strings.Contains(st.NextReason, "does not look like a Windows system disk") {
			t.Errorf("%s: reason %q", img, st.NextReason)
		}
	}
}

// Reopening an applied image says what happened and offers Roll back and
// Keep; both work from step 1, and Keep works from step 6.
func TestJournalLifecycle(t *testing.T) {
	dir := testenv.Fixture(t, "inject")
	drv := filepath.Join(dir, "drivers", "virtio-tree")
	ctx := context.Background()
	for _, action := range []string{"rollback", "keep"} {
		t.Run(action, func(t *testing.T) {
			img := testenv.CopyInto(t, filepath.Join(dir, "disks", "10-x64-virtio.raw"), t.TempDir())
			before := testenv.FileSHA256(t, img)
			walk(t, New(nil), img, 0, drv)
			if !journal.Exists(img) {
				t.Fatal("no journal after apply")
			}
			w := wizard.New(New(nil))
			if err := w.OpenImage(ctx, img); err != nil {
				t.Fatal(err)
			}
			st := w.State()
			j := w.Journal()
			if j == nil || !j.Finished || j.ReportPath == "" || st.CanNext {
				t.Fatalf("reopened image: journal %+v, Next %v (%s)", j, st.CanNext, st.NextReason)
			}
			if !strings.Contains(st.NextReason, "already prepared") {
				t.Errorf("reason %q", st.NextReason)
			}
			switch action {
			case "rollback":
				if err := w.RollbackImage(ctx); err != nil {
					t.Fatal(err)
				}
				if testenv.FileSHA256(t, img) != before {
					t.Error("image not restored by Roll back")
				}
			case "keep":
				if err := w.KeepImage(ctx); err != nil {
					t.Fatal(err)
				}
				if testenv.FileSHA256(t, img) == before {
					t.Error("Keep lost the injection")
				}
			}
			st = w.State()
			if journal.Exists(img) || w.Journal() != nil || !st.CanNext {
				t.Errorf("after %s: journal %v, Next %v (%s)", action, journal.Exists(img), st.CanNext, st.NextReason)
			}
		})
	}

	// Keep on step 6, right after Apply.
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "10-x64-virtio.raw"), t.TempDir())
	w := walk(t, New(nil), img, 0, drv)
	if err := w.Keep(ctx); err != nil {
		t.Fatal(err)
	}
	if journal.Exists(img) || w.State().Apply.Phase != wizard.ApplyKept {
		t.Errorf("Keep on step 6: journal %v, phase %s", journal.Exists(img), w.State().Apply.Phase)
	}
}

// A Windows 8.1 guest opens on the set that supports it, first and chosen.
func TestMatchingSetFirst(t *testing.T) {
	dir := testenv.Fixture(t, "inject")
	w := toGuestStep(t, filepath.Join(dir, "disks", "8.1-x86.raw"))
	ctx := context.Background()
	if err := w.Next(); err != nil {
		t.Fatal(err)
	}
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st := w.State()
	if len(st.Verdicts) == 0 || st.Verdicts[0].Verdict == wizard.Unsupported {
		t.Fatalf("first verdict %+v", st.Verdicts)
	}
	if st.Request.Set != wizard.Set(st.Verdicts[0].Family) {
		t.Errorf("preselected %s, first shown %s", st.Request.Set, st.Verdicts[0].Family)
	}
	t.Logf("order: %v", func() (s []string) {
		for _, v := range st.Verdicts {
			s = append(s, v.DriverSet+"="+string(v.Verdict))
		}
		return
	}())
}

// plainWords: what the wizard shows of a finding (FindingText, the line
// beside Next) holds no flag, repository file, source line or Go value dump.
func plainWords(t *testing.T, where string, fs []wizard.Finding) {
	t.Helper()
	for _, f := range fs {
		txt := wizard.FindingText(f)
		for _, bad := range []string{"--", ".md", ".ml:", "{"} {
			if strings.Contains(txt, bad) {
				t.Errorf("%s: %s shows %q: %s", where, f.Code, bad, txt)
			}
		}
	}
}

// Unsigned drivers on a 64-bit guest: Next waits for consent on step 4;
// after it, the warning stays on the last page and in the saved report.
func TestUnsignedConsentKeptInReport(t *testing.T) {
	dir := testenv.Fixture(t, "inject")
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "10-x64-virtio.raw"), t.TempDir())
	ctx := context.Background()
	w := toGuestStep(t, img)
	for _, step := range []func() error{w.Next, func() error { return w.Load(ctx) }, w.Next,
		func() error {
			return w.SetDriverSource(wizard.SetINF, filepath.Join(dir, "drivers", "folder", "nocat"))
		},
		func() error { return w.Load(ctx) }} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	st := w.State()
	if st.CanNext || st.Plan == nil || !st.Plan.NeedsUnsignedConsent || !strings.Contains(st.NextReason, "need your consent") {
		t.Fatalf("step 4 before consent: Next %v (%s)", st.CanNext, st.NextReason)
	}
	plainWords(t, "step 4", st.Plan.Findings)
	w.SetAllowUnsigned(true)
	if err := w.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Next(); err != nil {
		t.Fatalf("step 4 after consent: %v", err)
	}
	o := w.Options()
	o.InPlace = true
	w.SetOptions(o)
	if err := w.Next(); err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	rep := w.State().Apply.Report
	var title string
	for _, f := range rep.Findings {
		if strings.HasPrefix(f.Code, "drivers.catalog") && f.Severity == wizard.Warning {
			title = f.Title
		}
	}
	if title == "" {
		t.Fatalf("the accepted unsigned warning is not on the last page: %+v", rep.Findings)
	}
	plainWords(t, "step 6", rep.Findings)
	html, err := os.ReadFile(rep.ReportPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), title) {
		t.Errorf("saved report lacks %q", title)
	}
	for _, bad := range []string{".ml:", "facts §", ".md"} {
		if strings.Contains(string(html), bad) {
			t.Errorf("saved report cites %q", bad)
		}
	}
}

// A dirty SYSTEM hive whose logs are kept elsewhere: step 2 blocks and
// offers to add them; with them the guest is clean, and Apply replays them
// into the hive it writes (checked with hivexget: the key the logs add is
// there, beside the driver written).
func TestHiveLogsFromElsewhere(t *testing.T) {
	testenv.RequireTool(t, "ntfscat", "hivexget", "sfdisk", "dd")
	dir := testenv.Fixture(t, "inject")
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "dirtylogs-10-x86.raw"), t.TempDir())
	ctx := context.Background()
	e := New(nil)
	w := wizard.New(e)
	for _, step := range []func() error{func() error { return w.OpenImage(ctx, img) }, w.Next, func() error { return w.Load(ctx) }} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	st := w.State()
	if st.CanNext || !st.CanAddHiveLogs || !slicesHas(codes(st.Guests[0].Findings, wizard.Blocker), "hive.dirty_no_logs") {
		t.Fatalf("before the logs: Next %v, add logs %v, findings %+v", st.CanNext, st.CanAddHiveLogs, st.Guests[0].Findings)
	}
	if err := w.AddHiveLogs(ctx, []string{filepath.Join(dir, "disks", "10-x86.raw")}); err == nil {
		t.Error("a file that is no registry log was taken")
	}
	logs := []string{filepath.Join(dir, "hivelogs", "SYSTEM.LOG1"), filepath.Join(dir, "hivelogs", "SYSTEM.LOG2")}
	if err := w.AddHiveLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}
	st = w.State()
	if !st.CanNext || st.CanAddHiveLogs || len(st.HiveLogs) != 2 {
		t.Fatalf("with the logs: Next %v (%s), findings %+v", st.CanNext, st.NextReason, st.Guests[0].Findings)
	}
	for _, step := range []func() error{w.Next, func() error { return w.Load(ctx) }, w.Next,
		func() error {
			return w.SetDriverSource(wizard.SetVirtioWin, filepath.Join(dir, "drivers", "virtio-tree"))
		},
		func() error { return w.Load(ctx) }, w.Next} {
		if err := step(); err != nil {
			t.Fatalf("step %s: %v", w.Step(), err)
		}
	}
	o := w.Options()
	o.InPlace = true
	w.SetOptions(o)
	if err := w.Next(); err != nil {
		t.Fatal(err)
	}
	if err := w.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	vol := partitionFile(t, img, 1)
	hive := filepath.Join(t.TempDir(), "SYSTEM")
	out, err := exec.Command("ntfscat", vol, "Windows/System32/config/SYSTEM").Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hive, out, 0o644); err != nil {
		t.Fatal(err)
	}
	if v, err := exec.Command("hivexget", hive, `\Logged`, "Blob").Output(); err != nil || len(strings.TrimSpace(string(v))) == 0 {
		t.Errorf("the logs' changes are not in the written hive: %q %v", v, err)
	}
	if got := viostorStart(t, vol, "Windows"); got != "0" {
		t.Errorf("viostor Start = %q, want 0", got)
	}
}

func slicesHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
