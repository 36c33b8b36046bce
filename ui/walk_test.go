package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/pvinject/pvinject/wizard"
)

// maxShow is the budget for showing a step once its data is loaded.
const maxShow = 100 * time.Millisecond

// timedNext presses Next and logs how long the next step took to show;
// TestStepShowTime holds the budget, on a quieter measurement.
func (h *harness) timedNext(how string) {
	h.t.Helper()
	start := time.Now()
	switch how {
	case "enter":
		h.key(fyne.KeyReturn)
	default:
		h.tap(h.u.next)
	}
	h.t.Logf("step %s shown in %v", h.u.wiz.Step(), time.Since(start))
}

// TestStepShowTime checks the budget: no step takes over 100 ms to
// show once its data is loaded. Each step is shown three times by Back and
// Next and the fastest counts, so a busy CI machine does not fail it.
func TestStepShowTime(t *testing.T) {
	h := newHarness(t)
	h.toStep(wizard.StepDrivers)
	h.picker.folder = "/srv/virtio-win"
	h.tap(h.button("Choose folder…"))
	h.toStep(wizard.StepApply)
	best := map[wizard.Step]time.Duration{}
	measure := func(press func()) {
		start := time.Now()
		press()
		d := time.Since(start)
		s := h.u.wiz.Step()
		if b, ok := best[s]; !ok || d < b {
			best[s] = d
		}
	}
	for round := 0; round < 3; round++ {
		for h.u.wiz.Step() > wizard.StepImage {
			measure(func() { h.key(fyne.KeyEscape) })
		}
		for h.u.wiz.Step() < wizard.StepApply {
			measure(func() { h.tap(h.u.next) })
		}
	}
	for s := wizard.StepImage; s <= wizard.StepApply; s++ {
		t.Logf("step %d %-13s shown in %v", s, s, best[s])
		if best[s] > maxShow*raceSlowdown {
			t.Errorf("step %s took %v to show, budget %v", s, best[s], maxShow)
		}
	}
}

func TestWalkWholeWizard(t *testing.T) {
	h := newHarness(t)
	demo := filepath.Join(fixedDir, "demo-win10.qcow2")
	out := filepath.Join(fixedDir, "demo-win10-pv.qcow2")
	os.Remove(out)

	// Step 1: nothing chosen, Next disabled with a reason.
	h.wantStep(wizard.StepImage)
	if !h.u.next.Disabled() || !h.u.back.Disabled() || h.u.reason.Text != "Choose a disk image or drop one on the window" {
		t.Fatalf("step 1 initial: next disabled %v back disabled %v reason %q", h.u.next.Disabled(), h.u.back.Disabled(), h.u.reason.Text)
	}
	h.tap(h.button("Use the demo image"))
	if h.u.next.Disabled() || h.u.reason.Text != "" || !h.hasText(demo) || !h.hasText("QCOW2") || !h.hasText("Partitions (2)") {
		t.Fatalf("step 1 after demo: next disabled %v reason %q", h.u.next.Disabled(), h.u.reason.Text)
	}
	test.AssertImageMatches(t, "step1_image.png", h.win.Canvas().Capture())

	// Step 2 by button, step 3 by Enter.
	h.timedNext("tap")
	h.wantStep(wizard.StepGuest)
	if !h.hasText("Windows 10 Pro") || !h.hasText("10.0.19045.3803") || !h.hasText("vmci (vmware 9.8.18.0)") || h.u.back.Disabled() {
		t.Fatal("step 2 does not show the guest")
	}
	test.AssertImageMatches(t, "step2_guest.png", h.win.Canvas().Capture())
	h.timedNext("enter")
	h.wantStep(wizard.StepCompat)
	for _, want := range []string{"Supported", "Supported, with warnings", "Good to know"} {
		if !h.hasText(want) {
			t.Errorf("step 3 lacks %q", want)
		}
	}
	test.AssertImageMatches(t, "step3_compat.png", h.win.Canvas().Capture())

	// Step 4: no source yet; choose a folder.
	h.timedNext("tap")
	h.wantStep(wizard.StepDrivers)
	if !h.u.next.Disabled() || h.u.reason.Text != "Choose where the drivers are" {
		t.Fatalf("step 4 before source: reason %q", h.u.reason.Text)
	}
	h.picker.folder = "/srv/virtio-win"
	h.tap(h.button("Choose folder…"))
	d := h.u.screens[wizard.StepDrivers].(*driversScreen)
	if h.u.next.Disabled() || d.path.Text != "/srv/virtio-win" || d.tabs.buttons[2].Text != "Registry (12)" || !d.plan.Visible() || d.consent.Visible() {
		t.Fatalf("step 4 after source: next disabled %v %q path %q tab %q", h.u.next.Disabled(), h.u.reason.Text, d.path.Text, d.tabs.buttons[2].Text)
	}
	d.tabs.selectTab(2)
	test.AssertImageMatches(t, "step4_drivers.png", h.win.Canvas().Capture())

	// Step 5: a bad MTU blocks Next with the field's message; Escape and
	// Enter go back and forth without losing the plan.
	h.timedNext("tap")
	h.wantStep(wizard.StepOptions)
	o := h.u.screens[wizard.StepOptions].(*optionsScreen)
	if o.output.Text != out || o.format.Selected != "qcow2" || o.cache.Selected != cacheLabels[wizard.CacheKeep] {
		t.Fatalf("step 5 defaults: output %q format %q cache %q", o.output.Text, o.format.Selected, o.cache.Selected)
	}
	test.Type(o.mtu, "100")
	h.settle()
	if !h.u.next.Disabled() || !o.mtuErr.Visible() || !strings.Contains(o.mtuErr.Text, "MTU 100 is outside 576-65486") {
		t.Fatalf("bad MTU: next disabled %v err %q", h.u.next.Disabled(), o.mtuErr.Text)
	}
	o.mtu.SetText("9000")
	h.settle()
	if h.u.next.Disabled() || o.mtuErr.Visible() {
		t.Fatalf("good MTU still blocked: %q", h.u.reason.Text)
	}
	h.win.Canvas().Unfocus()
	h.key(fyne.KeyEscape)
	h.wantStep(wizard.StepDrivers)
	h.key(fyne.KeyReturn)
	h.wantStep(wizard.StepOptions)
	if o.mtu.Text != "9000" {
		t.Fatalf("MTU lost going back and forth: %q", o.mtu.Text)
	}
	h.win.Canvas().Unfocus()
	test.AssertImageMatches(t, "step5_options.png", h.win.Canvas().Capture())

	// Step 6: review, apply, report.
	h.timedNext("tap")
	h.wantStep(wizard.StepApply)
	a := h.u.screens[wizard.StepApply].(*applyScreen)
	if !h.u.next.Hidden || a.apply.Disabled() || a.result.Visible() || !h.hasText("9000") {
		t.Fatalf("step 6 before apply: next hidden %v apply disabled %v", h.u.next.Hidden, a.apply.Disabled())
	}
	test.AssertImageMatches(t, "step6_review.png", h.win.Canvas().Capture())
	for _, c := range h.f.Calls() {
		if strings.HasPrefix(c, "Apply") {
			t.Fatalf("written before Apply: %v", h.f.Calls())
		}
	}
	h.tap(a.apply)
	if !a.result.Visible() || a.apply.Visible() || !h.u.back.Disabled() || !strings.HasPrefix(a.verify.Text, "✓ Verified: all 17 changes") {
		t.Fatalf("after apply: result %v verify %q", a.result.Visible(), a.verify.Text)
	}
	if !strings.Contains(a.report.Text, `create Windows\System32\drivers\viostor.sys`) || !strings.Contains(a.report.Text, "pvinject rollback "+out) {
		t.Fatalf("report text:\n%s", a.report.Text)
	}
	test.AssertImageMatches(t, "step6_report.png", h.win.Canvas().Capture())

	h.tap(h.button("Copy report"))
	if got := fyne.CurrentApp().Clipboard().Content(); got != a.report.Text {
		t.Fatalf("clipboard %q", got)
	}
	h.picker.save = filepath.Join(t.TempDir(), "answers.json")
	h.tap(h.button("Save answers…"))
	ans, err := wizard.LoadAnswers(h.picker.save)
	if err != nil || ans.MTU != 9000 || ans.Drivers != "/srv/virtio-win" || ans.Output != out {
		t.Fatalf("saved answers %+v, %v", ans, err)
	}
	h.picker.save = filepath.Join(t.TempDir(), "report.txt")
	h.tap(h.button("Save report…"))
	if b, err := os.ReadFile(h.picker.save); err != nil || string(b) != a.report.Text {
		t.Fatalf("saved report: %v", err)
	}

	h.tap(h.button("Roll back…"))
	h.tap(h.button("Yes"))
	if st := h.u.wiz.State(); st.Apply.Phase != wizard.ApplyRolledBack || h.f.Applied(out) || !a.roll.Disabled() {
		t.Fatalf("after rollback: %+v", st.Apply)
	}
	h.tap(h.button("Start over"))
	h.wantStep(wizard.StepImage)
	if !h.hasText(demo) || h.u.next.Disabled() {
		t.Fatal("start over did not reopen the image")
	}
}

// applyHeld walks the demo to step 6 and presses Apply with the fake
// engine held at its first action, so the write is in progress.
func (h *harness) applyHeld() *applyScreen {
	h.t.Helper()
	h.f.Gate = make(chan struct{})
	h.tap(h.button("Use the demo image"))
	for i := 0; i < 3; i++ {
		h.tap(h.u.next)
	}
	h.picker.open = "/srv/virtio-win.iso"
	h.tap(h.button("Choose ISO or file…"))
	h.tap(h.u.next)
	h.tap(h.u.next)
	a := h.u.screens[wizard.StepApply].(*applyScreen)
	test.Tap(a.apply)
	h.until("progress", func() bool { return a.action.Text == "Checking the image" })
	return a
}

func TestCancelDuringApplyUI(t *testing.T) {
	h := newHarness(t)
	a := h.applyHeld()
	if !a.running.Visible() || a.cancel.Disabled() || !h.u.back.Disabled() || a.apply.Visible() {
		t.Fatalf("while running: running %v cancel disabled %v back disabled %v", a.running.Visible(), a.cancel.Disabled(), h.u.back.Disabled())
	}
	test.AssertImageMatches(t, "step6_progress.png", h.win.Canvas().Capture())
	test.Tap(a.cancel)
	h.settle()
	st := h.u.wiz.State()
	if st.Apply.Phase != wizard.ApplyCancelled || a.running.Visible() || !a.apply.Visible() || a.apply.Disabled() || h.u.back.Disabled() {
		t.Fatalf("after cancel: %+v running %v", st.Apply, a.running.Visible())
	}
	if !strings.HasPrefix(a.errText.Text, "Cancelled. Nothing was changed") {
		t.Fatalf("cancel message %q", a.errText.Text)
	}
	close(h.f.Gate)
	h.tap(a.apply)
	if st := h.u.wiz.State(); st.Apply.Phase != wizard.ApplyDone {
		t.Fatalf("apply after cancel: %+v", st.Apply)
	}
}
