package hive

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// withMinor returns a copy of a hive whose header claims format version
// 1.minor (checksum redone), so one fixture stands for every version
// Windows XP to 11 writes: the version decides the subkey list kind the
// pure-Go engine starts (lf before 1.5, lh from it) and whether long
// values go to big-data records (from 1.4).
func withMinor(t testing.TB, data []byte, minor uint32) []byte {
	t.Helper()
	out := bytes.Clone(data)
	le.PutUint32(out[offMinor:], minor)
	le.PutUint32(out[offChecksum:], xorChecksum(out))
	if err := Check("versioned", out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEngineDiffVersions: an injection's edits give the same hive through
// both engines in every format version from 1.3 to 1.6.
func TestEngineDiffVersions(t *testing.T) {
	base := fixture(t, "values.hive")
	for minor := uint32(3); minor <= 6; minor++ {
		t.Run(fmt.Sprintf("1.%d", minor), func(t *testing.T) {
			edits, _ := injectionEdits("ControlSet001")
			out := diffEngines(t, withMinor(t, base, minor), edits)
			// New lists use the kind Windows uses in this version.
			g, err := newGoEngine("out", out, false)
			if err != nil {
				t.Fatal(err)
			}
			n, ok, err := g.child(node(g.rootOff), "ControlSet001")
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			c, _ := g.nkCell(uint32(n))
			_, sig, _, err := g.leafCell(le.Uint32(c[nkSubList:]), true)
			if want := map[bool]string{true: "lf", false: "lh"}[minor < 5]; err != nil || sig != want {
				t.Errorf("new subkey list is %q (%v), want %q", sig, err, want)
			}
		})
	}
}

// TestGoEngineBigData: values over 16344 bytes, which libhivex cannot
// write, are stored in big-data records from version 1.4 (in one cell in
// 1.3, as Windows XP does) and read back byte for byte by libhivex's
// hivexget and libregf's regfexport.
func TestGoEngineBigData(t *testing.T) {
	base := fixture(t, "values.hive")
	sizes := []int{bigDataSegment + 1, 2 * bigDataSegment, 2*bigDataSegment + 7, 100000, 300000}
	for minor := uint32(3); minor <= 6; minor++ {
		t.Run(fmt.Sprintf("1.%d", minor), func(t *testing.T) {
			useEngine(t, EngineGo)
			h := mustOpen(t, "big", withMinor(t, base, minor))
			want := map[string]Value{}
			for i, n := range sizes {
				d := make([]byte, n)
				for j := range d {
					d[j] = byte(j*7 + i)
				}
				want[fmt.Sprintf("Bin%d", n)] = Binary(d)
				want[fmt.Sprintf("Sz%d", n)] = SZ(strings.Repeat("ab€", n/8))
			}
			for name, v := range want {
				if err := h.SetValue(`Big\Key`, name, v); err != nil {
					t.Fatal(err)
				}
			}
			// Replace one big value by a smaller one and one small by a big
			// one: the old segments are freed, the new ones written.
			small := DWord(7)
			if err := h.SetValue(`Big\Key`, fmt.Sprintf("Bin%d", sizes[1]), small); err != nil {
				t.Fatal(err)
			}
			want[fmt.Sprintf("Bin%d", sizes[1])] = small
			out, err := h.Commit()
			if err != nil {
				t.Fatal(err)
			}
			_, values := regfExport(t, out)
			for name, v := range want {
				got := hivexget(t, out, `Big\Key`, name)
				switch v.Type {
				case RegBinary: // printed raw
					if !bytes.Equal(got, v.Data) {
						t.Errorf("hivexget %s: %d bytes, want %d", name, len(got), len(v.Data))
					}
				case RegSZ: // printed as UTF-8 text
					if s, _ := v.String(); strings.TrimSuffix(string(got), "\n") != s {
						t.Errorf("hivexget %s: %d bytes of text, want %d", name, len(got), len(s))
					}
				}
				if minor == 4 && len(v.Data) > bigDataSegment {
					continue // libregf reads big-data records only from 1.5; Windows writes them from 1.4
				}
				e, ok := values[`BIG\KEY`][strings.ToUpper(name)]
				if !ok {
					t.Errorf("regfexport has no %s", name)
					continue
				}
				sameAsExport(t, name, v, e)
			}
			for _, engine := range []string{EngineHivex, EngineGo} {
				useEngine(t, engine)
				r := mustOpen(t, "big-"+engine, out)
				for name, v := range want {
					if got := mustGet(t, r, `Big\Key`, name); !got.Equal(v) {
						t.Errorf("%s engine reads %s as %d bytes of type %s, want %d of %s", engine, name, len(got.Data), got.Type, len(v.Data), v.Type)
					}
				}
			}
			// The layout Windows expects for this version.
			g, err := newGoEngine("out", out, false)
			if err != nil {
				t.Fatal(err)
			}
			k, ok, err := g.child(node(g.rootOff), "Big")
			if err == nil && ok {
				k, ok, err = g.child(k, "Key")
			}
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			v, _, err := g.value(k, fmt.Sprintf("Bin%d", sizes[0]))
			if err != nil {
				t.Fatal(err)
			}
			vc, _ := g.vkCell(uint32(v))
			dc, err := g.cell(le.Uint32(vc[8:]), "data")
			if isDB := err == nil && string(dc[:2]) == "db"; isDB != (minor > 3) {
				t.Errorf("big-data record: %v, want %v in version 1.%d", isDB, minor > 3, minor)
			}
		})
	}
}

// TestGoEngineReusesFreeCells: space freed by a deleted value or key is
// used again before the hive grows, and the hive grows by whole hive bins
// when it must.
func TestGoEngineReusesFreeCells(t *testing.T) {
	useEngine(t, EngineGo)
	base := fixture(t, "values.hive")
	h := mustOpen(t, "reuse", base)
	big := Binary(bytes.Repeat([]byte{1}, 50000))
	if err := h.SetValue(`Reuse`, "a", big); err != nil {
		t.Fatal(err)
	}
	first, err := h.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if grown := len(first) - len(base); grown <= 0 || grown%binAlign != 0 {
		t.Errorf("hive grew by %d bytes for a 50000-byte value, want whole 4 KiB bins", grown)
	}
	for i := range 5 {
		if err := h.DeleteKey(`Reuse`); err != nil {
			t.Fatal(err)
		}
		if err := h.SetValue(`Reuse\Again`, fmt.Sprint("b", i), big); err != nil {
			t.Fatal(err)
		}
	}
	second, err := h.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != len(first) {
		t.Errorf("after deleting and writing the same amount 5 times the hive is %d bytes, was %d: freed cells not reused", len(second), len(first))
	}
	if hivexget(t, second, `Reuse\Again`, "b4")[0] != 1 {
		t.Error("hivexget does not read the rewritten value")
	}
}

// FuzzGoEngineHostile: hive bytes that pass Open's structural checks but
// are otherwise arbitrary must not make the pure-Go engine panic or commit
// a hive that fails verification, whatever it is asked to edit: new keys
// and values (big ones included), replacing and deleting values, deleting
// an existing key with its subtree.
func FuzzGoEngineHostile(f *testing.F) {
	useEngine(f, EngineGo)
	for _, s := range fixtureSeeds(f, "minimal.hive", "system.hive", "values.hive") {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, data []byte, pick uint8) {
		hostileBody(t, data, pick)
	})
}

// TestEngineSelection: PVINJECT_HIVE_ENGINE picks the engine Open uses and
// EngineName reports; unset, libhivex runs where the build has it; a
// value that names no engine is refused by Open in words.
func TestEngineSelection(t *testing.T) {
	data := fixture(t, "minimal.hive")
	for _, c := range []struct {
		env, name string
		goEngine  bool
	}{
		{"go", EngineGo, true},
		{"GO", EngineGo, true},
		{"", defaultEngine(), !haveLibhivex},
		{"hivex", EngineHivex, false},
	} {
		if c.name == EngineHivex && !haveLibhivex {
			continue
		}
		t.Setenv(EngineEnv, c.env)
		if got := EngineName(); got != c.name {
			t.Errorf("%s=%q: EngineName %q, want %q", EngineEnv, c.env, got, c.name)
		}
		h, err := Open("sel", data)
		if err != nil {
			t.Fatal(err)
		}
		if _, isGo := h.eng.(*goEngine); isGo != c.goEngine {
			t.Errorf("%s=%q: engine %T", EngineEnv, c.env, h.eng)
		}
		h.Close()
	}
	if haveLibhivex != cgoLinux {
		t.Errorf("libhivex built in: %v, on Linux with cgo: %v", haveLibhivex, cgoLinux)
	}
	t.Setenv(EngineEnv, "regedit")
	if _, err := Open("sel", data); err == nil || !strings.Contains(err.Error(), EngineEnv) {
		t.Errorf("unknown engine: %v", err)
	}
}
