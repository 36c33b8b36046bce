package hive

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Run each target for a while with, e.g.
//
//	go test -run '^$' -fuzz '^FuzzReplay$' -fuzztime 10s -fuzzminimizetime 1s ./core/hive
//
// Seeds are whole (small) hives and logs; without -fuzzminimizetime the
// default one-minute minimization of each new input eats short runs.

// fixtureSeeds returns fixture files for fuzz seeds when the fixture tools
// are installed; fuzz targets still run (on inline seeds) without them.
func fixtureSeeds(f *testing.F, names ...string) [][]byte {
	for _, tool := range []string{"hivexregedit", "hivexsh", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if testenv.Strict() {
				f.Fatalf("PVINJECT_STRICT=1 and %s missing for fuzz seeds", tool)
			}
			return nil
		}
	}
	dir := testenv.Fixture(f, "hive")
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func FuzzValueDecode(f *testing.F) {
	for _, v := range []Value{SZ("héllo"), ExpandSZ(`%x%`), MultiSZ("a", "bc"), DWord(7), DWordBigEndian(7),
		QWord(1 << 40), Binary([]byte{1, 2, 3}), None(nil), {Type: RegMultiSZ, Data: []byte{0x61, 0, 0, 0xD8}}} {
		f.Add(uint32(v.Type), v.Data)
	}
	f.Fuzz(func(t *testing.T, typ uint32, data []byte) {
		v := Value{Type: Type(typ), Data: data}
		_ = v.Display()
		if s, err := v.String(); err == nil {
			// Decoding is idempotent through our encoder.
			if s2, _ := SZ(s).String(); s2 != s && !bytes.ContainsRune([]byte(s), 0xFFFD) {
				t.Fatalf("SZ round trip %q -> %q", s, s2)
			}
		}
		if ss, err := v.Strings(); err == nil && v.Type == RegMultiSZ {
			again, err := MultiSZ(ss...).Strings()
			if err != nil || (!slices.Equal(again, ss) && !bytes.ContainsRune([]byte(string(bytes.Join(toBytes(ss), nil))), 0xFFFD)) {
				t.Fatalf("MultiSZ round trip %q -> %q, %v", ss, again, err)
			}
			for _, s := range ss {
				if s == "" {
					t.Fatalf("empty member returned from %x", data)
				}
			}
		}
		if n, err := v.Uint32(); err == nil {
			if len(data) != 4 {
				t.Fatalf("Uint32 accepted %d bytes", len(data))
			}
			if v.Type == RegDWord && n != binary.LittleEndian.Uint32(data) {
				t.Fatal("Uint32 wrong")
			}
		}
		if n, err := v.Uint64(); err == nil && v.Type == RegQWord && n != binary.LittleEndian.Uint64(data) {
			t.Fatal("Uint64 wrong")
		}
	})
}

func toBytes(ss []string) [][]byte {
	out := make([][]byte, len(ss))
	for i, s := range ss {
		out[i] = []byte(s)
	}
	return out
}

// FuzzReader: the pure-Go reader never panics or loops on any input, and
// whatever it accepts it can walk and read completely.
func FuzzReader(f *testing.F) {
	for _, s := range fixtureSeeds(f, "minimal.hive", "system.hive", "cycle.hive", "dirty-new/SYSTEM") {
		f.Add(s)
	}
	f.Add([]byte("regf"))
	f.Add([]byte("CREG"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, _, err := newReader("fuzz", data)
		if err != nil {
			return
		}
		_ = r.walk(func(path []string, k nkRecord) error {
			vs, err := r.valueRecords(k)
			if err != nil {
				return err
			}
			for _, v := range vs {
				_, _ = r.data(v)
			}
			_, _, _ = r.child(k, "x")
			return nil
		})
	})
}

// FuzzReplay: log replay never panics, and whatever it returns is a clean,
// consistent hive.
func FuzzReplay(f *testing.F) {
	if s := fixtureSeeds(f, "dirty-new/SYSTEM", "dirty-new/SYSTEM.LOG1", "dirty-new/SYSTEM.LOG2", "dirty-old/SYSTEM", "dirty-old/SYSTEM.LOG"); s != nil {
		f.Add(s[0], s[1], s[2])
		f.Add(s[3], s[4], []byte(nil))
	}
	f.Add([]byte("regf"), []byte("regf"), []byte("HvLE"))
	f.Fuzz(func(t *testing.T, hive, log1, log2 []byte) {
		out, rep, err := replayLogs("fuzz", hive, []LogFile{{"LOG1", log1}, {"LOG2", log2}})
		if err != nil {
			return
		}
		if rep == nil {
			t.Fatal("no report")
		}
		if _, err := checkClean("fuzz", out); err != nil {
			t.Fatalf("replay returned an inconsistent hive: %v", err)
		}
	})
}

// FuzzOpen: anything that gets past the pure-Go gate must be safe to hand
// to libhivex (a crash here would be a crash of the whole program).
func FuzzOpen(f *testing.F) {
	for _, s := range fixtureSeeds(f, "minimal.hive", "system.hive") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := Open("fuzz", data)
		if err != nil {
			return
		}
		defer h.Close()
		if _, err := h.Subkeys(""); err != nil {
			return
		}
		_, _ = h.Values("")
		if err := h.SetValue(`Fuzz\Key`, "v", DWord(1)); err != nil {
			return
		}
		if _, err := h.Commit(); err != nil {
			t.Fatalf("commit of an accepted hive failed verification: %v", err)
		}
	})
}
