package hive

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestGoEngineMutatedHives runs FuzzGoEngineHostile's body over 500
// seeded random mutations of the fixture hives, each under a time limit:
// on this shared machine the fuzzing engine itself manages only a few
// executions a second, so this is what covers hostile hives in every run.
func TestGoEngineMutatedHives(t *testing.T) {
	useEngine(t, EngineGo)
	seeds := [][]byte{fixture(t, "minimal.hive"), fixture(t, "system.hive"), fixture(t, "values.hive")}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		d := append([]byte(nil), seeds[r.IntN(3)]...)
		for k := r.IntN(8) + 1; k > 0; k-- {
			d[r.IntN(len(d))] = byte(r.Uint32())
		}
		pick := uint8(r.Uint32())
		done := make(chan bool)
		go func() {
			hostileBody(t, d, pick)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			p := filepath.Join(t.TempDir(), "hang.hive")
			os.WriteFile(p, d, 0o644)
			t.Fatalf("mutation %d (pick %d, hive kept in %s) ran over 5 s", i, pick, p)
		}
	}
}

// hostileBody opens data with the pure-Go engine, edits it as
// FuzzGoEngineHostile describes and commits: accepted edits must commit.
func hostileBody(t *testing.T, data []byte, pick uint8) {
	h, err := Open("fuzz", data)
	if err != nil {
		return
	}
	defer h.Close()
	subs, err := h.Subkeys("")
	if err != nil {
		return
	}
	_ = h.SetValue(`Fuzz\Key`, "v", DWord(1))
	_ = h.SetValue(`Fuzz\Key`, "big", Binary(make([]byte, 40000)))
	if len(subs) > 0 {
		k := subs[int(pick)%len(subs)]
		if vals, err := h.Values(k); err == nil && len(vals) > 0 {
			_ = h.SetValue(k, vals[0].Name, SZ("replaced"))
			_ = h.DeleteValue(k, vals[len(vals)-1].Name)
		}
		_ = h.CreateKey(k + `\Fuzz`)
		if pick%2 == 1 {
			_ = h.DeleteKey(k)
		}
	}
	if h.Writable() != nil {
		return
	}
	if _, err := h.Commit(); err != nil {
		t.Errorf("commit after accepted edits failed: %v", err)
	}
}
