package wizard_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/wizardtest"
)

// run is one wizard over a fresh fake engine, with an image path in a
// temporary folder so the default output's folder exists.
type run struct {
	t     *testing.T
	f     *wizardtest.FakeEngine
	w     *Wizard
	image string
	ctx   context.Context
}

func newRun(t *testing.T) *run {
	t.Helper()
	dir := t.TempDir()
	f := wizardtest.NewFakeEngine()
	f.DemoDir = dir
	return &run{t: t, f: f, w: New(f), image: filepath.Join(dir, "win10.qcow2"), ctx: context.Background()}
}

func (r *run) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *run) next() {
	r.t.Helper()
	r.must(r.w.Next())
	r.must(r.w.Load(r.ctx))
}

// to walks the happy path up to step s.
func (r *run) to(s Step) {
	r.t.Helper()
	if r.w.Step() == StepImage {
		r.must(r.w.OpenImage(r.ctx, r.image))
	}
	for r.w.Step() < s {
		if r.w.Step() == StepDrivers && r.w.State().Plan == nil {
			r.must(r.w.SetDriverSource(SetVirtioWin, "/srv/virtio-win-0.1.285.iso"))
			r.must(r.w.Load(r.ctx))
		}
		r.next()
	}
}

// blocked asserts Next is refused with a reason containing want.
func (r *run) blocked(want string) {
	r.t.Helper()
	st := r.w.State()
	if st.CanNext {
		r.t.Fatalf("step %s: Next enabled, want blocked by %q", st.Step, want)
	}
	if !strings.Contains(st.NextReason, want) {
		r.t.Fatalf("step %s: Next reason %q, want it to contain %q", st.Step, st.NextReason, want)
	}
	err := r.w.Next()
	if !errors.Is(err, ErrNotAllowed) || err.Error() != st.NextReason {
		r.t.Fatalf("Next() = %v, want ErrNotAllowed with the reason", err)
	}
	if r.w.Step() != st.Step {
		r.t.Fatalf("Next moved from %s to %s while blocked", st.Step, r.w.Step())
	}
}

func TestHappyPath(t *testing.T) {
	r := newRun(t)
	st := r.w.State()
	if st.Step != StepImage || st.CanNext || st.CanBack || st.NextReason != "Choose a disk image or drop one on the window" {
		t.Fatalf("initial state: step %s next=%v %q back=%v", st.Step, st.CanNext, st.NextReason, st.CanBack)
	}
	r.must(r.w.OpenImage(r.ctx, r.image))
	st = r.w.State()
	if !st.CanNext || st.Image.Format != "qcow2" || st.Image.Path != r.image || len(st.Image.Partitions) != 2 {
		t.Fatalf("after open: next=%v %q image=%+v", st.CanNext, st.NextReason, st.Image)
	}
	if st.Options.Output != filepath.Join(filepath.Dir(r.image), "win10-pv.qcow2") || st.Options.Format != "qcow2" || st.Options.InPlace {
		t.Fatalf("default output %+v", st.Options)
	}

	r.next() // Guest
	st = r.w.State()
	if st.Step != StepGuest || st.Guest != 0 || !st.CanNext || !st.CanBack {
		t.Fatalf("guest step: %+v", st)
	}
	r.next() // Compatibility
	st = r.w.State()
	if st.Step != StepCompat || len(st.Verdicts) != 3 || !st.CanNext || st.Request.Set != SetVirtioWin {
		t.Fatalf("compat step: step %s verdicts %d next %v %q set %q", st.Step, len(st.Verdicts), st.CanNext, st.NextReason, st.Request.Set)
	}
	r.next() // Drivers
	r.blocked("Choose where the drivers are")
	r.must(r.w.SetDriverSource(SetVirtioWin, "/srv/virtio-win.iso"))
	r.blocked("Building the plan")
	r.must(r.w.Load(r.ctx))
	st = r.w.State()
	if st.Plan == nil || len(st.Plan.Packages) != 3 || st.Reviewed || !st.CanNext {
		t.Fatalf("drivers step: plan %+v reviewed %v next %v %q", st.Plan, st.Reviewed, st.CanNext, st.NextReason)
	}
	r.next() // Options
	st = r.w.State()
	if !st.Reviewed || !st.CanNext || st.Options.WriteCache != CacheKeep || st.Rules.MTUMax != 65486 {
		t.Fatalf("options step: reviewed %v next %v %q opts %+v rules %+v", st.Reviewed, st.CanNext, st.NextReason, st.Options, st.Rules)
	}
	o := st.Options
	o.MTU = "9000"
	r.w.SetOptions(o)
	r.next() // Apply
	st = r.w.State()
	if st.Step != StepApply || st.CanNext || !st.CanApply || !st.CanBack {
		t.Fatalf("apply step: next %v apply %v %q back %v", st.CanNext, st.CanApply, st.ApplyReason, st.CanBack)
	}
	for _, c := range r.f.Calls() {
		if strings.HasPrefix(c, "Apply") {
			t.Fatalf("engine asked to write before Apply: %v", r.f.Calls())
		}
	}
	req, err := r.w.Request()
	r.must(err)
	if req.MTU != 9000 || req.InPlace || req.Output != st.Options.Output || req.Format != "qcow2" || req.PlanID != st.Plan.ID {
		t.Fatalf("request %+v", req)
	}

	r.must(r.w.Apply(r.ctx))
	st = r.w.State()
	if st.Apply.Phase != ApplyDone || st.Apply.Report == nil || !st.Apply.Report.Verify.OK || st.Apply.Frac != 1 {
		t.Fatalf("after apply: %+v", st.Apply)
	}
	if st.CanBack || st.CanApply || !r.f.Applied(st.Options.Output) {
		t.Fatalf("after apply: back %v apply %v applied %v", st.CanBack, st.CanApply, r.f.Applied(st.Options.Output))
	}
	text := ReportText(*st.Apply.Report)
	for _, want := range []string{"viostor.sys", "Start: (absent) -> 0", "Verification: OK", "pvinject rollback"} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q:\n%s", want, text)
		}
	}
	if err := r.w.Apply(r.ctx); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("second Apply = %v, want refusal", err)
	}

	r.must(r.w.Rollback(r.ctx))
	st = r.w.State()
	if st.Apply.Phase != ApplyRolledBack || r.f.Applied(st.Options.Output) || st.CanBack {
		t.Fatalf("after rollback: %+v back %v", st.Apply, st.CanBack)
	}
	r.must(r.w.StartOver())
	st = r.w.State()
	if st.Step != StepImage || st.ImagePath != r.image || st.Image != nil || st.Plan != nil {
		t.Fatalf("after start over: %+v", st)
	}
	want := []string{"OpenImage " + r.image, "Detect", "Compatibility 0", "PlanDrivers virtio-win /srv/virtio-win.iso unsigned=false",
		"Apply plan-1 output=" + req.Output + " mtu=9000 cache=keep", "Rollback " + req.Output}
	if got := r.f.Calls(); !slices.Equal(got, want) {
		t.Fatalf("engine calls\n got %q\nwant %q", got, want)
	}
}

func TestInPlace(t *testing.T) {
	r := newRun(t)
	r.to(StepOptions)
	o := r.w.Options()
	o.InPlace, o.Output, o.Format = true, "", ""
	r.w.SetOptions(o)
	r.next()
	r.must(r.w.Apply(r.ctx))
	st := r.w.State()
	if !st.Apply.Report.InPlace || st.Apply.Report.Image != r.image || !r.f.Applied(r.image) {
		t.Fatalf("in-place report %+v", st.Apply.Report)
	}
	a, err := r.w.Answers()
	r.must(err)
	if !a.InPlace || a.Output != "" || a.Format != "" {
		t.Fatalf("answers %+v", a)
	}
}

func TestBackAndForth(t *testing.T) {
	r := newRun(t)
	r.f.Guests = append(r.f.Guests, GuestSummary{Partition: 3, SystemRoot: `D:\WINNT`, ProductName: "Windows 2000", Build: 2195, Arch: "x86", ControlSet: "ControlSet001"})
	r.must(r.w.OpenImage(r.ctx, r.image))
	if err := r.w.Back(); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Back on step 1 = %v", err)
	}
	r.next()
	r.blocked("Choose which Windows installation")
	r.must(r.w.SelectGuest(0))
	r.to(StepOptions)
	plan := r.w.State().Plan

	// Back to Drivers and forward again keeps the plan and its review.
	r.must(r.w.Back())
	if st := r.w.State(); st.Step != StepDrivers || st.Plan != plan || !st.Reviewed {
		t.Fatalf("back to drivers: step %s plan kept %v reviewed %v", st.Step, st.Plan == plan, st.Reviewed)
	}
	r.next()

	// Back to Guest and choosing the same guest keeps everything.
	r.must(r.w.Back())
	r.must(r.w.Back())
	r.must(r.w.Back())
	r.must(r.w.SelectGuest(0))
	if st := r.w.State(); st.Plan != plan || !st.CompatLoaded {
		t.Fatal("re-choosing the same guest dropped later results")
	}
	// Choosing the other guest forgets the verdicts, the source and the plan.
	r.must(r.w.SelectGuest(1))
	st := r.w.State()
	if st.Plan != nil || st.CompatLoaded || st.Request.Path != "" || st.Reviewed {
		t.Fatalf("other guest kept stale results: %+v", st)
	}
	if err := r.w.SelectGuest(2); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("SelectGuest(2) = %v", err)
	}
	r.to(StepApply)
	if !r.w.State().CanApply {
		t.Fatal("cannot apply after walking forward again")
	}

	// Changing the source from the Apply step's Back path drops the review:
	// Apply needs the new plan to be seen on the Drivers step.
	r.must(r.w.Back())
	r.must(r.w.Back())
	r.must(r.w.SetDriverSource(SetOracle, "/srv/oracle"))
	r.must(r.w.Load(r.ctx))
	st = r.w.State()
	if st.Reviewed || st.Plan.Family != SetOracle || st.Options.WriteCache != CacheOff {
		t.Fatalf("after source change: reviewed %v plan %+v cache %s", st.Reviewed, st.Plan, st.Options.WriteCache)
	}
	if _, err := r.w.Request(); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Request before review = %v", err)
	}
	r.to(StepApply)
	if st := r.w.State(); !st.CanApply {
		t.Fatalf("apply after review: %q", st.ApplyReason)
	}

	// A new image starts over at step 1.
	r.must(r.w.OpenImage(r.ctx, filepath.Join(filepath.Dir(r.image), "other.vhdx")))
	st = r.w.State()
	if st.Step != StepImage || st.GuestsLoaded || st.Plan != nil || st.Request.Path != "" || st.Options.Output == "" {
		t.Fatalf("after new image: %+v", st)
	}
}

func TestStaleResultDropped(t *testing.T) {
	r := newRun(t)
	h := &hookEngine{FakeEngine: r.f}
	r.w = New(h)
	r.must(r.w.OpenImage(r.ctx, r.image))
	r.must(r.w.Next())
	other := filepath.Join(filepath.Dir(r.image), "other.vmdk")
	h.onDetect = func() { _ = r.w.OpenImage(r.ctx, other) }
	if err := r.w.Load(r.ctx); !errors.Is(err, ErrStale) {
		t.Fatalf("Load = %v, want ErrStale", err)
	}
	st := r.w.State()
	if st.Step != StepImage || st.ImagePath != other || st.GuestsLoaded || st.Busy != "" {
		t.Fatalf("after stale detect: %+v", st)
	}
}

type hookEngine struct {
	*wizardtest.FakeEngine
	onDetect func()
}

func (h *hookEngine) Detect(ctx context.Context) ([]GuestSummary, error) {
	if h.onDetect != nil {
		h.onDetect()
	}
	return h.FakeEngine.Detect(ctx)
}

func blocker(code, msg, remedy string) Finding {
	return Finding{Severity: Blocker, Code: code, Message: msg, Remedy: remedy}
}

func TestBlockers(t *testing.T) {
	errBoom := errors.New("boom")
	cases := []struct {
		name  string
		step  Step
		setup func(r *run)
		want  string
	}{
		{"image open error", StepImage, func(r *run) { r.f.ImageErr = errBoom }, "The image could not be opened"},
		{"missing parent", StepImage, func(r *run) {
			r.f.Image.Chain = []ChainLink{{Path: "base.qcow2", Format: "qcow2", Missing: true}}
			r.f.Image.Findings = []Finding{blocker("image.parent-missing", "parent base.qcow2 is missing", "put it next to the image")}
		}, "Blocked: parent base.qcow2 is missing — put it next to the image"},
		{"detect error", StepGuest, func(r *run) { r.f.DetectErr = errBoom }, "Windows detection failed"},
		{"no windows", StepGuest, func(r *run) { r.f.Guests = nil }, "No Windows installation was found"},
		{"guest blocker", StepGuest, func(r *run) {
			r.f.Guests[0].Findings = []Finding{blocker("guest.arch", "arm64 guest with no arm64 drivers", "")}
		}, "Blocked: arm64 guest"},
		{"compat error", StepCompat, func(r *run) { r.f.CompatErr = errBoom }, "The compatibility check failed"},
		{"hibernated", StepCompat, func(r *run) {
			r.f.Findings = []Finding{blocker("ntfs.hibernated", "Windows is hibernated (Fast Startup)", "boot it and shut down with shutdown /s /t 0")}
		}, "shutdown /s /t 0"},
		{"unclean shutdown", StepCompat, func(r *run) {
			r.f.Findings = append(r.f.Findings, blocker("ntfs.dirty", "the NTFS volume was not shut down cleanly", "boot Windows and shut it down cleanly"))
		}, "shut it down cleanly"},
		{"no service pack", StepCompat, func(r *run) {
			for i := range r.f.Verdicts {
				r.f.Verdicts[i].Verdict = Unsupported
				r.f.Verdicts[i].Reasons = []Reason{{Text: "Windows 7 without SP1: install SP1 first"}}
			}
		}, "No driver set supports this Windows"},
		{"no source", StepDrivers, func(*run) {}, "Choose where the drivers are"},
		{"plan error", StepDrivers, func(r *run) {
			r.f.PlanErr = errBoom
			r.must(r.w.SetDriverSource(SetINF, "/nowhere"))
			if err := r.w.Load(r.ctx); !errors.Is(err, errBoom) {
				r.t.Fatalf("Load = %v", err)
			}
		}, "No plan: plan drivers from /nowhere: boom"},
		{"set unsupported", StepDrivers, func(r *run) {
			r.must(r.w.SetDriverSource(SetOracle, "/srv/oracle"))
			r.must(r.w.Load(r.ctx))
		}, "Oracle VM PV Drivers 3.2.3 does not support this Windows"},
		{"unsigned", StepDrivers, func(r *run) {
			r.f.Unsigned = true
			r.must(r.w.SetDriverSource(SetVirtioWin, "/srv/virtio"))
			r.must(r.w.Load(r.ctx))
		}, "Unsigned drivers (netkvm) need your consent"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRun(t)
			if c.name == "set unsupported" {
				// The wizard keeps the verdicts of step 3: give this one from the start.
				r.f.Verdicts[1].Verdict = Unsupported
			}
			if c.step == StepImage {
				c.setup(r)
				_ = r.w.OpenImage(r.ctx, r.image)
				r.blocked(c.want)
				return
			}
			r.to(c.step - 1)
			if c.step < StepDrivers {
				c.setup(r)
				r.must(r.w.Next())
				_ = r.w.Load(r.ctx)
			} else {
				r.must(r.w.Next())
				c.setup(r)
			}
			r.blocked(c.want)
		})
	}
}

func TestUnsignedConsent(t *testing.T) {
	r := newRun(t)
	r.f.Unsigned = true
	r.to(StepDrivers)
	r.must(r.w.SetDriverSource(SetVirtioWin, "/srv/virtio"))
	r.must(r.w.Load(r.ctx))
	r.blocked("need your consent")
	r.w.SetAllowUnsigned(true)
	r.blocked("Building the plan")
	r.must(r.w.Load(r.ctx))
	st := r.w.State()
	if !st.CanNext || len(st.Plan.Findings) != 1 || st.Plan.Findings[0].Code != "drivers.unsigned" {
		t.Fatalf("after consent: next %v %q findings %+v", st.CanNext, st.NextReason, st.Plan.Findings)
	}
	r.to(StepApply)
	r.must(r.w.Apply(r.ctx))
	a, err := r.w.Answers()
	r.must(err)
	if !a.AllowUnsigned {
		t.Fatal("answers lost the unsigned consent")
	}
}

func TestCancelDuringApply(t *testing.T) {
	r := newRun(t)
	r.f.Gate = make(chan struct{})
	r.to(StepApply)
	changed := make(chan struct{}, 100)
	r.w.OnChange(func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	})
	done := make(chan error, 1)
	go func() { done <- r.w.Apply(r.ctx) }()
	deadline := time.After(10 * time.Second)
	for st := r.w.State(); st.Apply.Action != "Checking the image"; st = r.w.State() {
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("apply never reported progress: %+v", st.Apply)
		}
	}
	st := r.w.State()
	if st.Apply.Phase != ApplyRunning || st.CanBack || st.CanApply || st.BackReason != "wait for apply to finish or cancel it" {
		t.Fatalf("while running: %+v back %v apply %v", st.Apply, st.CanBack, st.CanApply)
	}
	if err := r.w.OpenImage(r.ctx, r.image); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("OpenImage while applying = %v", err)
	}
	if err := r.w.StartOver(); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("StartOver while applying = %v", err)
	}
	r.w.CancelApply()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Apply = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Apply did not return after cancel")
	}
	st = r.w.State()
	if st.Apply.Phase != ApplyCancelled || !st.CanApply || !st.CanBack || r.f.Applied(st.Options.Output) {
		t.Fatalf("after cancel: %+v apply %v back %v", st.Apply, st.CanApply, st.CanBack)
	}
	// Applying again works once the engine is not held.
	r.f.Gate = nil
	r.must(r.w.Apply(r.ctx))
	if st := r.w.State(); st.Apply.Phase != ApplyDone {
		t.Fatalf("retry after cancel: %+v", st.Apply)
	}
}

func TestApplyFailureAndRollbackFailure(t *testing.T) {
	r := newRun(t)
	r.f.ApplyErr = errors.New("disk full")
	r.to(StepApply)
	if err := r.w.Apply(r.ctx); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Apply = %v", err)
	}
	st := r.w.State()
	if st.Apply.Phase != ApplyFailed || !st.CanApply || !st.CanBack {
		t.Fatalf("after failure: %+v", st)
	}
	if err := r.w.Rollback(r.ctx); !errors.Is(err, ErrNotAllowed) {
		t.Fatalf("Rollback without apply = %v", err)
	}
	r.must(r.w.Back())
	if st := r.w.State(); st.Apply.Phase != ApplyIdle {
		t.Fatalf("Back kept the failure: %+v", st.Apply)
	}
	r.next()
	r.f.ApplyErr = nil
	r.f.RollbackErr = errors.New("journal gone")
	r.must(r.w.Apply(r.ctx))
	if err := r.w.Rollback(r.ctx); err == nil || !strings.Contains(err.Error(), "journal gone") {
		t.Fatalf("Rollback = %v", err)
	}
	if st := r.w.State(); st.Apply.Phase != ApplyDone || !strings.Contains(st.Apply.Action, "Roll back failed") {
		t.Fatalf("after failed rollback: %+v", st.Apply)
	}
}

func TestFakeRefusesUnreviewedPlan(t *testing.T) {
	f := wizardtest.NewFakeEngine()
	ctx := context.Background()
	p1, _ := f.PlanDrivers(ctx, DriverRequest{Set: SetVirtioWin, Path: "a"})
	if _, err := f.PlanDrivers(ctx, DriverRequest{Set: SetVirtioWin, Path: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Apply(ctx, ApplyRequest{PlanID: p1.ID, InPlace: true}, func(float64, string) {}); err == nil {
		t.Fatal("fake applied an older plan")
	}
}

func TestDemoImage(t *testing.T) {
	f := wizardtest.NewFakeEngine()
	f.DemoDir = filepath.Join(t.TempDir(), "demo")
	p, err := f.DemoImage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Dir(p)); err != nil || !st.IsDir() {
		t.Fatalf("demo folder %s: %v", filepath.Dir(p), err)
	}
}

func TestStepNames(t *testing.T) {
	var got []string
	for s := StepImage; s <= StepApply; s++ {
		got = append(got, s.String())
	}
	if strings.Join(got, ",") != "Image,Guest,Compatibility,Drivers,Options,Apply" || Step(0).String() != "Step?" {
		t.Fatalf("step names %v", got)
	}
	if g := wizardtest.FakeWin10().Title(); g != `Windows 10 Pro (amd64, build 19045) in C:\Windows` {
		t.Fatalf("title %q", g)
	}
}
