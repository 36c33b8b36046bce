package ui

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
	"github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/engine"
)

// newRealHarness is newHarness over the real core instead of the fake.
func newRealHarness(t *testing.T) *harness {
	t.Helper()
	a := test.NewTempApp(t)
	win := a.NewWindow(Title)
	t.Cleanup(win.Close)
	h := &harness{t: t, win: win, q: &queue{}, picker: &stubPicker{}}
	h.u = newUI(win, wizard.New(engine.New(nil)), h.picker, h.q.do)
	t.Cleanup(h.u.close)
	win.SetContent(h.u.Content())
	win.Resize(fyne.NewSize(1000, 760))
	h.u.bindKeys(win.Canvas())
	return h
}

// hasTextPrefix reports whether a visible label under the window starts with prefix.
func (h *harness) hasTextPrefix(prefix string) bool {
	_, ok := find(h.win.Canvas().Content(), func(l *widget.Label) bool { return strings.HasPrefix(l.Text, prefix) && l.Visible() })
	return ok
}

// TestWalkDemoRealCore taps through the six steps on the bundled demo over
// the real core: open, detect, verdicts, plan, options, apply to a new
// image, verify it with qemu-img, and roll back from the report.
func TestWalkDemoRealCore(t *testing.T) {
	img, drivers := testenv.Demo(t)
	before := testenv.FileSHA256(t, img)
	out := filepath.Join(t.TempDir(), "demo-kvm.qcow2")
	h := newRealHarness(t)

	// Step 1: Next waits for an image; the demo opens as qcow2 with its partitions.
	h.wantStep(wizard.StepImage)
	if !h.u.next.Disabled() || !h.u.back.Disabled() {
		t.Fatal("step 1: Next or Back enabled before an image is chosen")
	}
	h.picker.open = img
	h.tap(h.button("Open image…"))
	st := h.u.wiz.State()
	if st.ImageErr != nil || st.Image == nil {
		t.Fatalf("step 1: opening the demo: %v", st.ImageErr)
	}
	if h.u.next.Disabled() || h.u.reason.Text != "" || !h.hasText(img) || !h.hasText("QCOW2") || !h.hasTextPrefix("Partitions (") {
		t.Fatalf("step 1 after open: next disabled %v reason %q", h.u.next.Disabled(), h.u.reason.Text)
	}
	if len(st.Image.Partitions) == 0 || !h.hasText("NTFS") {
		t.Fatalf("step 1: partitions %+v", st.Image.Partitions)
	}

	// Step 2: one Windows 10 x64 guest.
	h.timedNext("tap")
	h.wantStep(wizard.StepGuest)
	st = h.u.wiz.State()
	if len(st.Guests) != 1 || st.Guests[0].Arch != "amd64" || st.Guests[0].Major != 10 || !strings.Contains(st.Guests[0].ProductName, "Windows 10") {
		t.Fatalf("step 2: guests %+v", st.Guests)
	}
	if !h.hasTextPrefix("Windows 10") || h.u.back.Disabled() || h.u.next.Disabled() {
		t.Fatalf("step 2 does not show the guest: back disabled %v next disabled %v", h.u.back.Disabled(), h.u.next.Disabled())
	}
	test.AssertImageMatches(t, "real_step2_guest.png", h.win.Canvas().Capture())

	// Step 3 by Enter: virtio-win is supported and nothing blocks.
	h.timedNext("enter")
	h.wantStep(wizard.StepCompat)
	st = h.u.wiz.State()
	var virtio *wizard.Verdict
	for i := range st.Verdicts {
		if st.Verdicts[i].Family == string(wizard.SetVirtioWin) {
			virtio = &st.Verdicts[i]
		}
	}
	if virtio == nil || virtio.Verdict == wizard.Unsupported || len(wizard.Blockers(st.CompatFindings)) != 0 {
		t.Fatalf("step 3: virtio-win %+v, findings %+v", virtio, st.CompatFindings)
	}
	if !h.hasTextPrefix("Supported") || h.u.next.Disabled() {
		t.Fatalf("step 3: no Supported verdict shown, or Next disabled (%q)", h.u.reason.Text)
	}
	test.AssertImageMatches(t, "real_step3_compat.png", h.win.Canvas().Capture())

	// Step 4: virtio-win from the demo driver ISO; the plan lists the
	// packages and the registry changes before anything is written.
	h.timedNext("tap")
	h.wantStep(wizard.StepDrivers)
	if !h.u.next.Disabled() || h.u.reason.Text == "" {
		t.Fatalf("step 4 before a source: next disabled %v reason %q", h.u.next.Disabled(), h.u.reason.Text)
	}
	d := h.u.screens[wizard.StepDrivers].(*driversScreen)
	h.picker.open = drivers
	h.tap(h.button("Choose ISO or file…"))
	d.source.SetSelected(wizard.SetVirtioWin.Label())
	h.settle()
	st = h.u.wiz.State()
	if st.PlanErr != nil || st.Plan == nil || st.Request.Set != wizard.SetVirtioWin || st.Request.Path != drivers {
		t.Fatalf("step 4: plan %v err %v request %+v", st.Plan != nil, st.PlanErr, st.Request)
	}
	if h.u.next.Disabled() || d.path.Text != drivers || !d.plan.Visible() || !strings.HasPrefix(d.verdict.Text, "✓") {
		t.Fatalf("step 4 after source: next disabled %v (%q) path %q verdict %q", h.u.next.Disabled(), h.u.reason.Text, d.path.Text, d.verdict.Text)
	}
	pkgs := map[string]bool{}
	for _, r := range d.pkgs.rows {
		pkgs[r[0]] = true
	}
	for _, want := range []string{"viostor", "vioscsi", "netkvm"} {
		if !pkgs[want] {
			t.Errorf("step 4: package table lacks %s: %v", want, d.pkgs.rows)
		}
	}
	var sawVersion bool
	for _, r := range d.reg.rows {
		if strings.Contains(r[1], `DriverDatabase\DriverPackages`) && r[2] == "Version" {
			sawVersion = true
		}
	}
	if !sawVersion || len(d.reg.rows) != len(st.Plan.Registry) || len(d.files.rows) == 0 {
		t.Fatalf("step 4: registry table (%d rows, DriverPackages Version %v) files %d", len(d.reg.rows), sawVersion, len(d.files.rows))
	}
	if want := "Registry (" + strconv.Itoa(len(st.Plan.Registry)) + ")"; d.tabs.buttons[2].Text != want {
		t.Errorf("step 4: tab %q, want %q", d.tabs.buttons[2].Text, want)
	}
	if testenv.FileSHA256(t, img) != before {
		t.Fatal("the source changed before Apply")
	}

	// Step 5: a new qcow2 image beside the test, MTU 9000.
	h.timedNext("tap")
	h.wantStep(wizard.StepOptions)
	o := h.u.screens[wizard.StepOptions].(*optionsScreen)
	o.target.SetSelected(targetNew)
	o.output.SetText(out)
	o.format.SetSelected("qcow2")
	o.mtu.SetText("9000")
	h.settle()
	if h.u.next.Disabled() || o.mtuErr.Visible() || o.outErr.Visible() {
		t.Fatalf("step 5: next disabled %v (%q) mtu %q output %q", h.u.next.Disabled(), h.u.reason.Text, o.mtuErr.Text, o.outErr.Text)
	}
	if opts := h.u.wiz.Options(); opts.Output != out || opts.Format != "qcow2" || opts.MTU != "9000" || opts.InPlace {
		t.Fatalf("step 5: options %+v", opts)
	}
	h.win.Canvas().Unfocus()

	// Step 6: review, then Apply in the background, polled until done.
	h.timedNext("tap")
	h.wantStep(wizard.StepApply)
	a := h.u.screens[wizard.StepApply].(*applyScreen)
	if !h.u.next.Hidden || a.apply.Disabled() || a.result.Visible() || !h.hasText("9000") || !h.hasText(out+" (QCOW2)") {
		t.Fatalf("step 6 before apply: next hidden %v apply disabled %v (%q)", h.u.next.Hidden, a.apply.Disabled(), a.warn.Text)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the output exists before Apply")
	}
	test.Tap(a.apply)
	deadline := time.Now().Add(60 * time.Second)
	for {
		h.q.drain()
		ph := h.u.wiz.State().Apply.Phase
		if ph != wizard.ApplyRunning && ph != wizard.ApplyIdle {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Apply still %v after 60 s", ph)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.settle()
	st = h.u.wiz.State()
	if st.Apply.Phase != wizard.ApplyDone || st.Apply.Report == nil {
		t.Fatalf("after apply: phase %v err %v", st.Apply.Phase, st.Apply.Err)
	}
	if !st.Apply.Report.Verify.OK || !a.result.Visible() || a.apply.Visible() || !h.u.back.Disabled() || !strings.HasPrefix(a.verify.Text, "✓ Verified: all ") {
		t.Fatalf("after apply: verify %+v label %q", st.Apply.Report.Verify, a.verify.Text)
	}
	// How to undo, in terms of the screens: no command line in the GUI.
	if !strings.Contains(a.report.Text, "viostor.sys") || !strings.Contains(a.report.Text, "press Roll back on the last step (it deletes the new image)") || strings.Contains(a.report.Text, "pvinject rollback") {
		t.Fatalf("report text:\n%s", a.report.Text)
	}
	if b, err := exec.Command("qemu-img", "check", out).CombinedOutput(); err != nil || !strings.Contains(string(b), "No errors were found") {
		t.Fatalf("qemu-img check %s: %v\n%s", out, err, b)
	}
	if testenv.FileSHA256(t, img) != before {
		t.Fatal("applying to a new image changed the source image")
	}
	if journal.Exists(out) {
		t.Fatalf("a journal %s beside a new image: its undo is deleting it", journal.Path(out))
	}

	// Roll back from the report.
	h.tap(h.button("Roll back…"))
	h.tap(h.button("Yes"))
	if st := h.u.wiz.State(); st.Apply.Phase != wizard.ApplyRolledBack || !a.roll.Disabled() {
		t.Fatalf("after rollback: phase %v err %v", st.Apply.Phase, st.Apply.Err)
	}
	if _, err := os.Lstat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the new image %s is still there after rollback (%v)", out, err)
	}
	if testenv.FileSHA256(t, img) != before {
		t.Fatal("rollback changed the source image")
	}
}
