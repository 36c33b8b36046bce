package ui

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/test"

	"github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/wizardtest"
)

func (h *harness) toStep(s wizard.Step) {
	h.t.Helper()
	if h.u.wiz.Step() == wizard.StepImage {
		h.tap(h.button("Use the demo image"))
	}
	for h.u.wiz.Step() < s {
		h.tap(h.u.next)
	}
}

func TestHibernatedBlocksCompat(t *testing.T) {
	h := newHarness(t)
	h.f.Findings = append(h.f.Findings, wizard.Finding{Severity: wizard.Blocker, Code: "ntfs.hibernated",
		Message: "Windows is hibernated (Fast Startup)", Remedy: "boot it and shut down with shutdown /s /t 0"})
	h.toStep(wizard.StepCompat)
	want := "Blocked: Windows is hibernated (Fast Startup) — boot it and shut down with shutdown /s /t 0"
	if !h.u.next.Disabled() || h.u.reason.Text != want {
		t.Fatalf("next disabled %v reason %q", h.u.next.Disabled(), h.u.reason.Text)
	}
	if !h.hasText("Blocker: Windows is hibernated (Fast Startup) — boot it and shut down with shutdown /s /t 0") || !h.hasText("Stop: fix this first") {
		t.Fatal("the blocker and its remedy are not on screen")
	}
	h.key(fyne.KeyReturn) // Enter must not pass a blocker
	h.wantStep(wizard.StepCompat)
	test.AssertRendersToMarkup(t, "step3_blocked.xml", h.win.Canvas())
}

func TestImageErrorsAndDrop(t *testing.T) {
	h := newHarness(t)
	h.f.ImageErr = errors.New("not a disk image: unknown header")
	h.picker.open = "/tmp/notes.txt"
	h.tap(h.button("Open image…"))
	if !h.u.next.Disabled() || !strings.Contains(h.u.reason.Text, "not a disk image") {
		t.Fatalf("bad image: reason %q", h.u.reason.Text)
	}
	// Dropping a good image replaces it.
	h.f.ImageErr = nil
	h.u.onDropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI(filepath.Join(fixedDir, "dropped.vhdx"))})
	h.settle()
	if h.u.next.Disabled() || !h.hasText(filepath.Join(fixedDir, "dropped.vhdx")) {
		t.Fatalf("drop: reason %q", h.u.reason.Text)
	}
	// A cancelled dialog changes nothing.
	h.picker.err = errCancelled
	h.tap(h.button("Open image…"))
	if st := h.u.wiz.State(); st.ImagePath != filepath.Join(fixedDir, "dropped.vhdx") {
		t.Fatalf("cancel changed the image to %q", st.ImagePath)
	}
	// A drop on the Drivers step sets the driver source.
	h.picker.err = nil
	h.toStep(wizard.StepDrivers)
	h.u.onDropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI("/media/virtio-win-0.1.285.iso")})
	h.settle()
	if st := h.u.wiz.State(); st.Request.Path != "/media/virtio-win-0.1.285.iso" || st.Plan == nil || h.u.next.Disabled() {
		t.Fatalf("drop on drivers: %+v", st.Request)
	}
	// Elsewhere a drop is refused with a note, never a crash.
	h.tap(h.u.next)
	h.u.onDropped(fyne.NewPos(10, 10), []fyne.URI{storage.NewFileURI("/x.qcow2")})
	if h.win.Canvas().Overlays().Top() == nil || h.u.wiz.Step() != wizard.StepOptions {
		t.Fatal("drop on options: no note shown")
	}
}

func TestSeveralWindowsAndNoWindows(t *testing.T) {
	h := newHarness(t)
	g2 := wizardtest.FakeWin10()
	g2.ProductName, g2.SystemRoot, g2.Partition = "Windows Server 2019 Standard", `D:\Windows`, 3
	h.f.Guests = append(h.f.Guests, g2)
	h.toStep(wizard.StepGuest)
	g := h.u.screens[wizard.StepGuest].(*guestScreen)
	if !g.choice.Visible() || len(g.choice.Options) != 2 || !h.u.next.Disabled() || h.u.reason.Text != "Choose which Windows installation to prepare" {
		t.Fatalf("two guests: options %v reason %q", g.choice.Options, h.u.reason.Text)
	}
	g.choice.SetSelected(g.choice.Options[1])
	h.settle()
	if h.u.next.Disabled() || !h.hasText("Windows Server 2019 Standard") || h.u.wiz.State().Guest != 1 {
		t.Fatalf("after choice: reason %q", h.u.reason.Text)
	}

	h2 := newHarness(t)
	h2.f.Guests = nil
	h2.toStep(wizard.StepGuest)
	if !h2.u.next.Disabled() || h2.u.reason.Text != "No Windows installation was found in this image" {
		t.Fatalf("no guests: reason %q", h2.u.reason.Text)
	}
}

func TestUnsignedConsentUI(t *testing.T) {
	h := newHarness(t)
	h.f.Unsigned = true
	h.toStep(wizard.StepDrivers)
	h.picker.folder = "/srv/virtio-win"
	h.tap(h.button("Choose folder…"))
	d := h.u.screens[wizard.StepDrivers].(*driversScreen)
	if !d.consent.Visible() || d.consent.Checked || !h.u.next.Disabled() || !strings.Contains(d.unsigned.Text, "netkvm") {
		t.Fatalf("unsigned: consent visible %v next disabled %v reason %q", d.consent.Visible(), h.u.next.Disabled(), h.u.reason.Text)
	}
	test.Tap(d.consent)
	h.settle()
	if !d.consent.Checked || h.u.next.Disabled() || !h.hasText("Warning: 64-bit Windows will not load unsigned drivers — enable test signing (bcdedit /set testsigning on) in the guest (seed guide 4.1)") {
		t.Fatalf("after consent: next disabled %v reason %q", h.u.next.Disabled(), h.u.reason.Text)
	}
	h.tap(h.u.next)
	h.wantStep(wizard.StepOptions)
}

func TestOptionsErrorsAndOracleDefault(t *testing.T) {
	h := newHarness(t)
	h.toStep(wizard.StepDrivers)
	d := h.u.screens[wizard.StepDrivers].(*driversScreen)
	d.source.SetSelected(wizard.SetOracle.Label())
	h.settle()
	test.Type(d.path, "/srv/oracle-pv-3.2.3")
	d.path.OnSubmitted(d.path.Text)
	h.settle()
	h.tap(h.u.next)
	o := h.u.screens[wizard.StepOptions].(*optionsScreen)
	if o.cache.Selected != cacheLabels[wizard.CacheOff] || !strings.Contains(o.cacheWhy.Text, "3.2.3 fixed a write-caching default") {
		t.Fatalf("oracle default: %q %q", o.cache.Selected, o.cacheWhy.Text)
	}
	o.mtu.SetText("9001")
	h.settle()
	if !o.mtuErr.Visible() || !strings.Contains(o.mtuErr.Text, "outside 576-9000") {
		t.Fatalf("oracle MTU range: %q", o.mtuErr.Text)
	}
	o.mtu.SetText("")
	o.output.SetText("")
	h.settle()
	if !o.outErr.Visible() || h.u.reason.Text != "choose where to write the new image, or write in place" {
		t.Fatalf("empty output: %q / %q", o.outErr.Text, h.u.reason.Text)
	}
	o.target.SetSelected(targetInPlace)
	h.settle()
	if o.outBox.Visible() || h.u.next.Disabled() {
		t.Fatalf("in place: output box visible %v reason %q", o.outBox.Visible(), h.u.reason.Text)
	}
	h.tap(h.u.next)
	a := h.u.screens[wizard.StepApply].(*applyScreen)
	if !strings.HasPrefix(a.warn.Text, "This changes "+filepath.Join(fixedDir, "demo-win10.qcow2")+" itself") {
		t.Fatalf("in-place warning %q", a.warn.Text)
	}
}

func TestApplyFailureShown(t *testing.T) {
	h := newHarness(t)
	h.f.ApplyErr = errors.New("no space left on device")
	h.toStep(wizard.StepDrivers)
	h.picker.folder = "/srv/virtio-win"
	h.tap(h.button("Choose folder…"))
	h.toStep(wizard.StepApply)
	a := h.u.screens[wizard.StepApply].(*applyScreen)
	h.tap(a.apply)
	if !a.errText.Visible() || !strings.Contains(a.errText.Text, "no space left on device") || a.apply.Disabled() || h.u.back.Disabled() {
		t.Fatalf("failure: %q apply disabled %v", a.errText.Text, a.apply.Disabled())
	}
}

func TestNativeDialogPanicBecomesError(t *testing.T) {
	_, err := callNativeForTest(func() (string, error) { panic("gtk initialisation failed") })
	if nativeAvailable && (err == nil || !strings.Contains(err.Error(), "gtk initialisation failed")) {
		t.Fatalf("callNative = %v", err)
	}
}

func TestTabMovesFocus(t *testing.T) {
	h := newHarness(t)
	h.tap(h.button("Use the demo image"))
	c := h.win.Canvas()
	c.FocusNext()
	first := c.Focused()
	if first == nil {
		t.Fatal("Tab focused nothing")
	}
	c.FocusNext()
	if c.Focused() == first {
		t.Fatal("Tab did not move the focus")
	}
	if _, ok := c.Focused().(*button); !ok {
		t.Fatalf("focus on %T, want a button", c.Focused())
	}
}

func TestUseAnswerFile(t *testing.T) {
	h := newHarness(t)
	h.toStep(wizard.StepDrivers)
	h.picker.open = filepath.Join(t.TempDir(), "a.json")
	a := wizard.Answers{Version: 1, Drivers: "/srv/xen", Set: wizard.SetXen, InPlace: true, MTU: 1400, WriteCache: wizard.CacheOff}
	if err := wizard.SaveAnswers(h.picker.open, a); err != nil {
		t.Fatal(err)
	}
	h.tap(h.button("Use an answer file…"))
	d := h.u.screens[wizard.StepDrivers].(*driversScreen)
	if d.source.Selected != wizard.SetXen.Label() || d.path.Text != "/srv/xen" || h.u.next.Disabled() {
		t.Fatalf("after answers: source %q path %q reason %q", d.source.Selected, d.path.Text, h.u.reason.Text)
	}
	h.tap(h.u.next)
	o := h.u.screens[wizard.StepOptions].(*optionsScreen)
	if o.mtu.Text != "1400" || o.target.Selected != targetInPlace || o.cache.Selected != cacheLabels[wizard.CacheOff] {
		t.Fatalf("options from answers: %q %q %q", o.mtu.Text, o.target.Selected, o.cache.Selected)
	}
	// A broken answer file is an error dialog, not a crash or a change.
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"version":1,"set":"vmware"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	h.key(fyne.KeyEscape)
	h.picker.open = bad
	h.tap(h.button("Use an answer file…"))
	if h.win.Canvas().Overlays().Top() == nil || h.u.wiz.State().Request.Path != "/srv/xen" {
		t.Fatal("bad answer file: no error shown, or the choices changed")
	}
}
