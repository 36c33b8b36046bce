package wizard_test

import (
	"strings"
	"testing"
	"time"

	. "github.com/pvinject/pvinject/wizard"
)

// Choosing another format renames an output the user did not rename.
func TestOutputFollowsFormat(t *testing.T) {
	r := newRun(t)
	r.to(StepOptions)
	o := r.w.Options()
	if !strings.HasSuffix(o.Output, ".qcow2") {
		t.Fatalf("default output %q", o.Output)
	}
	o.Format = "vhdx"
	r.w.SetOptions(o)
	if got := r.w.Options().Output; !strings.HasSuffix(got, "-pv.vhdx") {
		t.Errorf("output after choosing vhdx: %q", got)
	}
	// A name the user typed is theirs.
	o = r.w.Options()
	o.Output = "/tmp/mine.disk"
	r.w.SetOptions(o)
	o = r.w.Options()
	o.Format = "vmdk"
	r.w.SetOptions(o)
	if got := r.w.Options().Output; got != "/tmp/mine.disk" {
		t.Errorf("user's name changed to %q", got)
	}
}

// After Roll back nothing of the result is left to look current; Keep is
// refused after it, and Keep after Apply makes the result final.
func TestRollbackResetsResult(t *testing.T) {
	r := newRun(t)
	r.to(StepApply)
	r.must(r.w.Apply(r.ctx))
	r.must(r.w.Rollback(r.ctx))
	st := r.w.State()
	// The run wrote a new image: its undo deleted it, and the words say so.
	if st.Apply.Phase != ApplyRolledBack || st.Apply.Report != nil || !strings.Contains(st.Apply.Action, "was deleted") || !strings.Contains(st.Apply.Action, "was never changed") {
		t.Fatalf("after rollback: %+v", st.Apply)
	}
	if err := r.w.Keep(r.ctx); err == nil {
		t.Error("Keep accepted after rollback")
	}

	r = newRun(t)
	r.to(StepApply)
	r.must(r.w.Apply(r.ctx))
	r.must(r.w.Keep(r.ctx))
	st = r.w.State()
	if st.Apply.Phase != ApplyKept || st.Apply.Report == nil || st.CanBack {
		t.Fatalf("after keep: %+v back %v", st.Apply, st.CanBack)
	}
	if err := r.w.Rollback(r.ctx); err == nil {
		t.Error("Roll back accepted after Keep")
	}
}

// Quitting while Apply runs waits for the engine to stop at a consistent
// point and says what was left.
func TestStopWhileApplying(t *testing.T) {
	r := newRun(t)
	if msg := r.w.Stop(time.Second); msg != "" {
		t.Errorf("Stop with nothing running = %q", msg)
	}
	r.f.Gate = make(chan struct{})
	r.to(StepApply)
	done := make(chan error, 1)
	go func() { done <- r.w.Apply(r.ctx) }()
	for deadline := time.Now().Add(10 * time.Second); r.w.State().Apply.Phase != ApplyRunning; {
		if time.Now().After(deadline) {
			t.Fatal("apply never started")
		}
		time.Sleep(time.Millisecond)
	}
	msg := r.w.Stop(10 * time.Second)
	if !strings.Contains(msg, "left as it was before") {
		t.Errorf("Stop = %q", msg)
	}
	if ph := r.w.State().Apply.Phase; ph != ApplyCancelled {
		t.Errorf("Stop returned with the apply %s, want it cancelled and finished", ph)
	}
	<-done
	if r.f.Applied(r.w.Options().Output) {
		t.Error("the fake kept the write")
	}
}
