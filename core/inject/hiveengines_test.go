package inject

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/hive/hivetest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestHiveEnginesAgreeOnPlans replays the registry edits of the end-to-end
// injection plans, one guest of each kind, through libhivex and through
// the pure-Go hive engine: hivexregedit and regfexport must render both
// results the same (the whole hive for the synthetic guests, the subtrees
// the plan touches for the real 11 MiB Windows 10 hive), and each result
// must open and read the same in the other engine.
func TestHiveEnginesAgreeOnPlans(t *testing.T) {
	t.Setenv(hive.EngineEnv, hive.EngineHivex)
	if hive.EngineName() != hive.EngineHivex {
		if testenv.Strict() && runtime.GOOS == "linux" {
			t.Fatal("PVINJECT_STRICT=1 and this build has no libhivex")
		}
		t.Skip("built without libhivex: nothing to compare the pure-Go engine with (this test did not run and is not counted as passed)")
	}
	dir := fixture(t)
	seen := map[string]bool{}
	for _, c := range e2eCases {
		if c.ext != "raw" || seen[c.guest+c.drivers] {
			continue
		}
		seen[c.guest+c.drivers] = true
		t.Run(c.guest+"."+c.drivers, func(t *testing.T) {
			// Plans are made as libhivex allows (the pure-Go engine would
			// plan some deletions libhivex cannot make).
			t.Setenv(hive.EngineEnv, hive.EngineHivex)
			img := testenv.CopyInto(t, filepath.Join(dir, "disks", c.guest+"."+c.ext), t.TempDir())
			p, err := BuildPlan(context.Background(), nil, c.request(dir, img))
			if err != nil {
				t.Fatal(err)
			}
			for _, hv := range []string{HiveSystem, HiveSoftware} {
				var ops []RegOp
				for _, op := range p.Registry {
					if op.Hive == hv {
						ops = append(ops, op)
					}
				}
				if len(ops) == 0 {
					continue
				}
				raw, logs := planHive(t, p, hv)
				byEngine := map[string][]byte{}
				for _, engine := range []string{hive.EngineHivex, hive.EngineGo} {
					t.Setenv(hive.EngineEnv, engine)
					byEngine[engine] = applyOps(t, hv, raw, logs, ops)
				}
				var keys []string
				if len(raw) > 1<<20 {
					keys = touchedRoots(ops)
				}
				a, b := hivetest.Render(t, byEngine[hive.EngineHivex], keys...), hivetest.Render(t, byEngine[hive.EngineGo], keys...)
				if a != b {
					t.Fatalf("%s: libhivex's hive (first) and the pure-Go engine's (second) render differently: %s", hv, hivetest.FirstDiff(a, b))
				}
				// Each engine reads the other's hive: every planned value
				// and key as the plan left it.
				for writer, out := range byEngine {
					for _, reader := range []string{hive.EngineHivex, hive.EngineGo} {
						t.Setenv(hive.EngineEnv, reader)
						checkPlanned(t, fmt.Sprintf("%s hive written by %s, read by %s", hv, writer, reader), out, ops)
					}
				}
			}
		})
	}
}

// planHive reads one hive of the plan's guest, and its logs, from the image.
func planHive(t *testing.T, p *Plan, hv string) ([]byte, []hive.LogFile) {
	t.Helper()
	img, err := image.Open(p.Target, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	vol, _, err := openVolume(img, p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer vol.Close()
	raw, logs, err := readHive(vol, hivePath(p.Guest, hv))
	if err != nil {
		t.Fatal(err)
	}
	return raw, logs
}

// applyOps makes a plan's edits of one hive as applyHive does, through
// whichever engine the environment selects, and commits.
func applyOps(t *testing.T, hv string, raw []byte, logs []hive.LogFile, ops []RegOp) []byte {
	t.Helper()
	h, err := hive.Open(hv, raw, logs...)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	for _, op := range ops {
		if err := applyOp(h, op); err != nil {
			t.Fatalf("%s engine: %s: %v", hive.EngineName(), op, err)
		}
	}
	out, err := h.Commit()
	if err != nil {
		t.Fatalf("%s engine: commit %s: %v", hive.EngineName(), hv, err)
	}
	return out
}

// checkPlanned opens a written hive and checks the final state of every
// planned value and key.
func checkPlanned(t *testing.T, what string, data []byte, ops []RegOp) {
	t.Helper()
	h, err := hive.OpenReadOnly("check", data)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	defer h.Close()
	last := map[string]RegOp{}
	for _, op := range ops {
		k := regKey("", op.Key, op.Name)
		if op.Op == OpDeleteKey || op.Op == OpCreateKey {
			k = strings.ToUpper(op.Key + "\x00key")
		}
		last[k] = op
	}
	for _, op := range last {
		switch op.Op {
		case OpSet:
			if v, err := h.Get(op.Key, op.Name); err != nil || !v.Equal(op.New.Value()) {
				t.Errorf("%s: %s reads back as %s, %v", what, op, v.Display(), err)
			}
		case OpDeleteValue:
			if _, err := h.Get(op.Key, op.Name); !errors.Is(err, hive.ErrNotFound) {
				t.Errorf("%s: %s: still there (%v)", what, op, err)
			}
		case OpDeleteKey, OpCreateKey:
			if ok, err := h.KeyExists(op.Key); err != nil || ok != (op.Op == OpCreateKey) {
				t.Errorf("%s: %s: exists %v, %v", what, op, ok, err)
			}
		}
		// Every other value of the key reads too.
		if _, err := h.Values(op.Key); err != nil && !errors.Is(err, hive.ErrNotFound) {
			t.Errorf("%s: values of %s: %v", what, op.Key, err)
		}
	}
}

// touchedRoots are the subtrees a plan edits, cut at three levels so that
// a hive of real size is rendered in a few pieces.
func touchedRoots(ops []RegOp) []string {
	seen := map[string]bool{}
	var out []string
	for _, op := range ops {
		parts := strings.Split(op.Key, `\`)
		k := strings.Join(parts[:min(3, len(parts))], `\`)
		if !seen[strings.ToUpper(k)] {
			seen[strings.ToUpper(k)] = true
			out = append(out, k)
		}
	}
	return out
}
