package inject

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/journal/faultinject"
	"github.com/pvinject/pvinject/core/safety"
)

// raceState classifies the image after a race: original bytes and no
// journal, or fully injected (every file and value re-read) with its
// journal. Anything else fails the test.
func raceState(t *testing.T, p *Plan, img string, orig [32]byte) string {
	t.Helper()
	hasJ := journal.Exists(img)
	if testenv.FileSHA256(t, img) == orig {
		if hasJ {
			t.Fatal("image is original but a journal is left beside it")
		}
		return "original"
	}
	if vr := VerifyPlan(p); !vr.OK {
		t.Fatalf("image is neither original nor fully injected: %v", vr.Problems)
	}
	if !hasJ {
		t.Fatal("image is injected but its journal is gone (it could not be rolled back)")
	}
	return "injected"
}

// lockRefused reports whether err is the refusal of a loser of the race:
// the image's lock held by the other run.
func lockRefused(err error) bool {
	var r *safety.Refusal
	return errors.As(err, &r) && strings.Contains(r.Reason, "another pvinject run is changing this image")
}

// race runs a and b on a fresh copy of src, 20 times, and checks every end
// state. Even trials start them after random delays up to maxDelay; odd
// trials make the overlap certain instead of hoping the delays produce it: a
// pauses at its first progress step, inside its lock, as a large image's run
// would, and the whole of b runs during that pause. check is told which
// kind of trial it classifies.
func race(t *testing.T, name string, src, drv string, maxDelay time.Duration,
	a func(p *Plan, img string, progress Progress) error, b func(p *Plan, img string) error,
	check func(trial int, forced bool, p *Plan, img string, errA, errB error) string) {
	img := filepath.Join(t.TempDir(), "race.raw")
	copyTo(t, src, img)
	orig := testenv.FileSHA256(t, img)
	p := planFor(t, img, drv)
	counts := map[string]int{}
	start := time.Now()
	for trial := 0; trial < 20; trial++ {
		copyTo(t, src, img)
		var errA, errB error
		var wg sync.WaitGroup
		wg.Add(2)
		forced := trial%2 == 1
		if forced {
			pause := testenv.NewPause()
			go func() { defer wg.Done(); errA = a(p, img, pause.Hook) }()
			go func() { defer wg.Done(); <-pause.Writing(); errB = b(p, img); pause.Release() }()
		} else {
			da, db := rand.N(maxDelay), rand.N(maxDelay)
			go func() { defer wg.Done(); time.Sleep(da); errA = a(p, img, nil) }()
			go func() { defer wg.Done(); time.Sleep(db); errB = b(p, img) }()
		}
		wg.Wait()
		state := raceState(t, p, img, orig)
		counts[state+", "+check(trial, forced, p, img, errA, errB)]++
	}
	t.Logf("%s: 20 trials in %v: %v", name, time.Since(start).Round(time.Millisecond), counts)
}

// TestRaceInjectRollback: rollback while an in-place inject runs (what the
// issue found leaving registry changes without files, or "injected" over an
// original image). Each trial ends original or injected-and-verified, and a
// rollback that overlaps the inject is refused.
func TestRaceInjectRollback(t *testing.T) {
	dir := fixture(t)
	src, drv := filepath.Join(dir, "disks", "2k22.raw"), filepath.Join(dir, "drivers", "virtio-tree")
	refused := 0
	race(t, "inject ∥ rollback", src, drv, 250*time.Millisecond,
		func(p *Plan, img string, progress Progress) error {
			_, err := Apply(context.Background(), p, progress)
			return err
		},
		func(p *Plan, img string) error { return Rollback(img) },
		func(trial int, forced bool, p *Plan, img string, errInject, errRB error) string {
			if forced && !(errInject == nil && lockRefused(errRB)) {
				t.Fatalf("trial %d: a rollback run while the inject held the image: inject: %v; rollback: %v", trial, errInject, errRB)
			}
			switch {
			case errInject == nil && errRB == nil:
				return "rolled back after the inject"
			case errInject == nil && errors.Is(errRB, journal.ErrNoJournal):
				return "rollback first, nothing to do"
			case errInject == nil && lockRefused(errRB):
				refused++
				return "rollback refused"
			case lockRefused(errInject) && errors.Is(errRB, journal.ErrNoJournal):
				refused++
				return "inject refused"
			}
			t.Fatalf("trial %d: inject: %v; rollback: %v", trial, errInject, errRB)
			return ""
		})
	if refused < 10 {
		t.Errorf("%d trials overlapped the two runs, want at least the 10 forced ones", refused)
	}
}

// TestRaceInjectInject: two in-place injects of one image at once: one
// writes, the other is refused (by the lock, or by the first one's journal
// when it starts after the first finished).
func TestRaceInjectInject(t *testing.T) {
	dir := fixture(t)
	src, drv := filepath.Join(dir, "disks", "2k22.raw"), filepath.Join(dir, "drivers", "virtio-tree")
	refused := 0
	inject := func(p *Plan, img string, progress Progress) error {
		_, err := Apply(context.Background(), p, progress)
		return err
	}
	second := func(p *Plan, img string) error { return inject(p, img, nil) }
	race(t, "inject ∥ inject", src, drv, 250*time.Millisecond, inject, second,
		func(trial int, forced bool, p *Plan, img string, errA, errB error) string {
			if forced && !(errA == nil && lockRefused(errB)) {
				t.Fatalf("trial %d: a second inject run while the first held the image: %v; %v", trial, errA, errB)
			}
			if (errA == nil) == (errB == nil) {
				t.Fatalf("trial %d: want exactly one inject to succeed: %v; %v", trial, errA, errB)
			}
			loser := errA
			if loser == nil {
				loser = errB
			}
			switch {
			case lockRefused(loser):
				refused++
				return "loser refused by the lock"
			case isRefusal(loser) && strings.Contains(loser.Error(), "rollback record"):
				return "loser refused by the journal"
			}
			t.Fatalf("trial %d: the losing inject failed but was not refused: %v", trial, loser)
			return ""
		})
	if refused < 10 {
		t.Errorf("%d trials overlapped the two runs, want at least the 10 forced ones", refused)
	}
}

// TestAliases: the same image under a symlink, a relative path and a hard
// link: one journal, and the second inject is refused.
func TestAliases(t *testing.T) {
	dir := fixture(t)
	src, drv := filepath.Join(dir, "disks", "2k22.raw"), filepath.Join(dir, "drivers", "virtio-tree")
	d1, d2 := t.TempDir(), t.TempDir()
	img := filepath.Join(d1, "vm.raw")
	copyTo(t, src, img)
	orig := testenv.FileSHA256(t, img)
	link := filepath.Join(d2, "link.raw")
	if err := os.Symlink(img, link); err != nil {
		t.Fatal(err)
	}
	// Plans made through every name before anything is written.
	pLink := planFor(t, link, drv)
	t.Chdir(d1)
	pRel := planFor(t, "vm.raw", drv)
	p := planFor(t, img, drv)
	if _, err := Apply(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]*Plan{"symlink": pLink, "relative path": pRel} {
		if _, err := Apply(context.Background(), q, nil); !isRefusal(err) || !strings.Contains(err.Error(), "rollback record") {
			t.Errorf("second inject through the %s: %v, want refused for the journal", name, err)
		}
		if _, err := BuildPlan(context.Background(), nil, q.Request); !isRefusal(err) {
			t.Errorf("planning through the %s after the inject: %v, want refused", name, err)
		}
	}
	hard := filepath.Join(d2, "hard.raw")
	if err := os.Link(img, hard); err != nil {
		t.Fatal(err)
	}
	pHard := planFor2(t, hard, drv)
	if _, err := Apply(context.Background(), pHard, nil); !isRefusal(err) || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("second inject through a hard link: %v, want refused for its 2 names", err)
	}
	if err := Rollback(hard); !errors.Is(err, journal.ErrNoJournal) || !strings.Contains(err.Error(), "2 names") {
		t.Errorf("rollback through the hard link: %v, want no journal, saying the file has 2 names", err)
	}
	var journals []string
	for _, d := range []string{d1, d2} {
		m, _ := filepath.Glob(filepath.Join(d, "*"+journal.Suffix))
		journals = append(journals, m...)
	}
	if len(journals) != 1 {
		t.Fatalf("journals %v, want exactly one", journals)
	}
	if vr := VerifyPlan(p); !vr.OK {
		t.Fatalf("the first inject no longer verifies: %v", vr.Problems)
	}
	// Rollback through the symlink finds the one journal and restores.
	if err := Rollback(link); err != nil {
		t.Fatal(err)
	}
	if testenv.FileSHA256(t, img) != orig || journal.Exists(img) {
		t.Error("rollback through the symlink did not restore the original")
	}
	// With two names from the start, in-place injection is refused outright.
	if _, err := Apply(context.Background(), p, nil); !isRefusal(err) || !strings.Contains(err.Error(), "2 names") {
		t.Errorf("inject of a file with 2 names: %v, want refused", err)
	}
	if testenv.FileSHA256(t, img) != orig {
		t.Error("a refused inject changed the image")
	}
}

// TestOutputNoJournal: a new image is built beside its target and moved into
// place: no journal, no temporary file left, a failure leaves nothing, and
// the same run works again after the output is deleted.
func TestOutputNoJournal(t *testing.T) {
	dir := fixture(t)
	src, drv := filepath.Join(dir, "disks", "2k22.raw"), filepath.Join(dir, "drivers", "virtio-tree")
	out := filepath.Join(t.TempDir(), "new.qcow2")
	req := Request{Image: src, Drivers: drv, Output: out}
	sum := testenv.FileSHA256(t, src)
	listDir := func() []string {
		ents, _ := os.ReadDir(filepath.Dir(out))
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return names
	}
	for run := 0; run < 2; run++ {
		p, err := BuildPlan(context.Background(), nil, req)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Apply(context.Background(), p, nil)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if rep.Journal != "" || journal.Exists(out) {
			t.Errorf("run %d: a journal beside the new image: %q", run, rep.Journal)
		}
		want := []string{"new.qcow2", "new.qcow2" + ReportHTMLSuffix, "new.qcow2" + ReportSuffix} // sorted
		if got := listDir(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("run %d: folder holds %v, want %v", run, got, want)
		}
		if !strings.Contains(rep.Text(), "To undo: delete "+out) {
			t.Errorf("run %d: the report does not say that undoing is deleting the new image", run)
		}
		if err := Rollback(out); !errors.Is(err, journal.ErrNoJournal) || !strings.Contains(err.Error(), "to undo, delete it") {
			t.Errorf("rollback of a new image: %v", err)
		}
		for _, f := range want {
			os.Remove(filepath.Join(filepath.Dir(out), f))
		}
	}
	// Rollback of the deleted output creates nothing.
	if err := Rollback(out); err == nil {
		t.Error("rollback of a deleted image succeeded")
	}
	if _, err := os.Lstat(out); err == nil {
		t.Error("rollback of a deleted image created it")
	}
	// A failed write leaves no output and no temporary folder.
	p, err := BuildPlan(context.Background(), nil, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ApplyWith(context.Background(), p, nil, &faultinject.Opener{After: 5, Mode: faultinject.FailOnce}); err == nil {
		t.Fatal("no error from a failed write")
	}
	if got := listDir(); len(got) != 0 {
		t.Errorf("after a failed write the folder holds %v", got)
	}
	if testenv.FileSHA256(t, src) != sum {
		t.Error("the source changed")
	}
}
