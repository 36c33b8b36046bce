package hive

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/hive/hivetest"
)

// Differential tests: the same edits through libhivex and through the
// pure-Go engine must give hives that libhivex's and libregf's tools render
// the same, that both engines (and the pure-Go verifier) read, and that
// read the same whichever engine opens them.

// edit is one Hive call: 's' SetValue, 'd' DeleteValue, 'k' DeleteKey,
// 'c' CreateKey.
type edit struct {
	op        byte
	key, name string
	v         Value
}

func (e edit) String() string {
	return fmt.Sprintf("%c %s [%s] %s", e.op, e.key, e.name, e.v.Display())
}

func (e edit) apply(h *Hive) error {
	switch e.op {
	case 's':
		return h.SetValue(e.key, e.name, e.v)
	case 'd':
		return h.DeleteValue(e.key, e.name)
	case 'k':
		return h.DeleteKey(e.key)
	case 'c':
		return h.CreateKey(e.key)
	}
	return fmt.Errorf("unknown edit %c", e.op)
}

// applyEdits runs edits through engine on data and commits. It returns the
// new bytes and, per edit,
// whether it failed, so both engines can be held to the same answers.
func applyEdits(t testing.TB, engine string, data []byte, edits []edit) ([]byte, []bool) {
	t.Helper()
	useEngine(t, engine)
	h := mustOpen(t, "diff-"+engine, data)
	failed := make([]bool, len(edits))
	for i, e := range edits {
		err := e.apply(h)
		failed[i] = err != nil
		if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrType) {
			t.Fatalf("%s engine: %s: %v", engine, e, err)
		}
	}
	out, err := h.Commit()
	if err != nil {
		t.Fatalf("%s engine: commit: %v", engine, err)
	}
	return out, failed
}

// dump reads every key and value of a hive through engine, walking node
// handles (not paths, which would look every key up from the root again):
// one line per key, its path and a digest of its values' names, types and
// data, so that two readings compare cheaply and a difference names its
// key.
func dump(t testing.TB, engine string, data []byte) string {
	t.Helper()
	useEngine(t, engine)
	h := mustOpen(t, "dump-"+engine, data)
	e := h.eng
	var b strings.Builder
	fail := func(what string, err error) {
		t.Fatalf("%s engine: %s: %v", engine, what, err)
	}
	sum := sha256.New()
	var walk func(n node, path string)
	walk = func(n node, path string) {
		vals, err := e.values(n)
		if err != nil {
			fail("values of "+path, err)
		}
		sum.Reset()
		for _, v := range vals {
			var hdr [12]byte
			le.PutUint32(hdr[:], uint32(len(v.Name)))
			le.PutUint32(hdr[4:], uint32(v.Type))
			le.PutUint32(hdr[8:], uint32(len(v.Data)))
			sum.Write(hdr[:])
			sum.Write([]byte(v.Name))
			sum.Write(v.Data)
		}
		b.WriteString(path)
		b.WriteByte(' ')
		b.WriteString(hex.EncodeToString(sum.Sum(nil)))
		b.WriteByte('\n')
		kids, err := e.children(n)
		if err != nil {
			fail("subkeys of "+path, err)
		}
		type kid struct {
			n         node
			name, key string
		}
		ks := make([]kid, len(kids))
		for i, k := range kids {
			if ks[i].name, err = e.name(k); err != nil {
				fail("name under "+path, err)
			}
			ks[i].n, ks[i].key = k, strings.ToUpper(ks[i].name)
		}
		slices.SortFunc(ks, func(a, b kid) int { return strings.Compare(a.key, b.key) })
		for _, k := range ks {
			walk(k.n, path+`\`+k.name)
		}
	}
	r, err := e.root()
	if err != nil {
		fail("root", err)
	}
	walk(r, "")
	return b.String()
}

// diffEngines applies edits through both engines and checks that they
// agree: edit by edit, in what hivexregedit and regfexport render (the
// whole hive, or the subtrees at keys), and in what each engine reads from
// the other's output, compared with what libhivex reads from its own (the
// pure-Go engine's reading of its own output is checked by Commit). It
// returns the pure-Go engine's hive.
func diffEngines(t *testing.T, data []byte, edits []edit, keys ...string) []byte {
	t.Helper()
	hx, hxFailed := applyEdits(t, EngineHivex, data, edits)
	gx, goFailed := applyEdits(t, EngineGo, data, edits)
	for i := range edits {
		if hxFailed[i] != goFailed[i] {
			t.Fatalf("%s: libhivex failed %v, pure Go failed %v", edits[i], hxFailed[i], goFailed[i])
		}
	}
	if a, b := hivetest.Render(t, hx, keys...), hivetest.Render(t, gx, keys...); a != b {
		t.Fatalf("libhivex's hive (first) and the pure-Go engine's (second) render differently: %s", hivetest.FirstDiff(a, b))
	}
	checkGoLayout(t, data, gx)
	want := dump(t, EngineHivex, hx)
	for _, c := range []struct {
		engine, wrote string
		data          []byte
	}{{EngineGo, "libhivex", hx}, {EngineHivex, "pure Go", gx}} {
		if got := dump(t, c.engine, c.data); got != want {
			t.Fatalf("the %s engine reads the %s engine's hive differently: %s", c.engine, c.wrote, hivetest.FirstDiff(want, got))
		}
	}
	return gx
}

// checkGoLayout checks what the readers do not: every subkey list the
// pure-Go engine left is in Windows' order (upper-case comparison) with
// right hashes and counts, largest-name fields cover the names, and every
// security record's reference count moved by exactly as many keys as came
// to use it (Windows' own counts are exact; the input's slack is kept).
func checkGoLayout(t *testing.T, before, after []byte) {
	t.Helper()
	slack := func(data []byte) map[uint32]int64 {
		g, err := newGoEngine("layout", append([]byte(nil), data...), false)
		if err != nil {
			t.Fatal(err)
		}
		refs := map[uint32]int64{}
		var visit func(off uint32)
		visit = func(off uint32) {
			c, err := g.nkCell(off)
			if err != nil {
				t.Fatal(err)
			}
			refs[le.Uint32(c[nkSecurity:])]--
			kids, err := g.children(node(off))
			if err != nil {
				t.Fatal(err)
			}
			if len(kids) != int(le.Uint32(c[nkNSub:])) {
				t.Errorf("key at 0x%x: %d subkeys listed, count says %d", off, len(kids), le.Uint32(c[nkNSub:]))
			}
			var prev []uint16
			maxName := le.Uint32(c[nkMaxSubName:]) & 0xFFFF
			for _, k := range kids {
				kc, err := g.nkCell(uint32(k))
				if err != nil {
					t.Fatal(err)
				}
				raw, comp := nkName(kc)
				up := upcaseUnits(raw, comp)
				if prev != nil && compareUnits(prev, up) >= 0 {
					t.Errorf("key at 0x%x: subkey %q out of Windows' order", off, decodeName(raw, comp))
				}
				prev = up
				if n := uint32(2 * utf16Len(decodeName(raw, comp))); n > maxName {
					t.Errorf("key at 0x%x: largest subkey name %d bytes, field says %d", off, n, maxName)
				}
				visit(uint32(k))
			}
			if list := le.Uint32(c[nkSubList:]); len(kids) > 0 {
				if err := g.eachLeaf(list, func(_ uint32, sig string, lc []byte, n int) error {
					for i := 0; sig == "lh" && i < n; i++ {
						kc, _ := g.nkCell(le.Uint32(lc[4+8*i:]))
						if h := lhHash(upcaseUnits(nkName(kc))); h != le.Uint32(lc[8+8*i:]) {
							t.Errorf("lh list at 0x%x: hash 0x%x for %q, want 0x%x", list, le.Uint32(lc[8+8*i:]), decodeName(nkName(kc)), h)
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		visit(g.rootOff)
		for sk := range refs {
			c, err := g.skCell(sk)
			if err != nil {
				t.Fatalf("security record 0x%x: %v", sk, err)
			}
			refs[sk] += int64(le.Uint32(c[skRefOff:]))
		}
		return refs
	}
	a, b := slack(before), slack(after)
	for sk, s := range b {
		if was, ok := a[sk]; ok && was != s {
			t.Errorf("security record 0x%x: reference count off by %d, was off by %d", sk, s, was)
		} else if !ok && s != 0 {
			t.Errorf("new security record 0x%x: reference count off by %d", sk, s)
		}
	}
}

// injectionEdits is what an injection does to a SYSTEM hive (see
// core/inject's plans): a storage service with its values, a
// CriticalDeviceDatabase entry per device, a value replaced and one
// deleted, a key with a subtree deleted; plus enough sibling keys to split
// a leaf into an index root, and names whose order differs between
// upper- and lower-case comparison.
func injectionEdits(cs string) ([]edit, []string) {
	svc := cs + `\Services\viostor`
	cdd := cs + `\Control\CriticalDeviceDatabase`
	e := []edit{
		{op: 's', key: svc, name: "Type", v: DWord(1)},
		{op: 's', key: svc, name: "Start", v: DWord(0)},
		{op: 's', key: svc, name: "ErrorControl", v: DWord(1)},
		{op: 's', key: svc, name: "Group", v: SZ("SCSI miniport")},
		{op: 's', key: svc, name: "ImagePath", v: ExpandSZ(`system32\drivers\viostor.sys`)},
		{op: 's', key: svc, name: "Owners", v: MultiSZ("viostor.inf")},
		{op: 's', key: svc + `\Parameters\PnpInterface`, name: "5", v: DWord(1)},
		{op: 's', key: cdd + `\pci#ven_1af4&dev_1001&subsys_00021af4&rev_00`, name: "Service", v: SZ("viostor")},
		{op: 's', key: cdd + `\pci#ven_1af4&dev_1001&subsys_00021af4&rev_00`, name: "ClassGUID", v: SZ("{4D36E97B-E325-11CE-BFC1-08002BE10318}")},
		{op: 's', key: cdd + `\pci#ven_1af4&dev_1042`, name: "Service", v: SZ("viostor")},
		{op: 's', key: svc, name: "Start", v: DWord(3)}, // replaced
		{op: 's', key: svc, name: "Tag", v: DWord(64)},
		{op: 'd', key: svc, name: "Tag"},
		{op: 'd', key: svc, name: "NoSuchValue"},
		{op: 's', key: cs + `\Services\xen_a`, name: "Start", v: DWord(4)},
		{op: 's', key: cs + `\Services\xenZ`, name: "Start", v: DWord(4)},
		{op: 's', key: cs + `\Services\xen[b`, name: "Start", v: DWord(4)},
		{op: 'c', key: cs + `\Services\viostor\Enum`},
		{op: 'k', key: cs + `\Services\viostor\Parameters`},
		{op: 'k', key: cs + `\Services\NoSuchKey`},
	}
	for i := range 520 {
		e = append(e, edit{op: 'c', key: fmt.Sprintf(`%s\Services\Many\K%03d`, cs, (i*37)%520)})
	}
	e = append(e, edit{op: 's', key: cs + `\Services\Many\K100`, name: "Big", v: Binary(make([]byte, 9000))},
		edit{op: 'k', key: cs + `\Services\Many\K200`}, edit{op: 'k', key: cs + `\Services\Many\K000`})
	return e, []string{svc, cdd, cs + `\Services\xen_a`, cs + `\Services\Many`}
}

// TestEngineDiffCorpus runs an injection's edits through both engines on
// the real and the libguestfs hives of the shared corpus.
func TestEngineDiffCorpus(t *testing.T) {
	for _, c := range []struct {
		rel   string
		whole bool // render the whole hive, not just the subtrees edited
	}{
		{"hives/regipy_SYSTEM_win7sp1_x86.xz", false},
		{"hives/dissect_SYSTEM_win10_19041_x64.gz", false},
		{"hives/libguestfs_windows-system", true},
		{"hives/libguestfs_windows-software", true},
	} {
		t.Run(c.rel, func(t *testing.T) {
			data := corpusHive(t, c.rel)
			edits, keys := injectionEdits("ControlSet001")
			if c.whole {
				keys = nil
			}
			if strings.Contains(c.rel, "win10") {
				// A real service key with a subtree, and a value beside
				// others, as an old driver stack's removal does.
				edits = append(edits, edit{op: 'k', key: `ControlSet001\Services\Tcpip`},
					edit{op: 'd', key: `ControlSet001\Services\disk`, name: "Start"})
				keys = append(keys, `ControlSet001\Services\Tcpip`, `ControlSet001\Services\disk`)
			}
			diffEngines(t, data, edits, keys...)
		})
	}
}

// TestEngineDiffFixtures runs the same edits, and a seeded random
// sequence, on the synthetic hives scripts/fixtures/hive.sh builds.
func TestEngineDiffFixtures(t *testing.T) {
	for _, name := range []string{"minimal.hive", "values.hive", "system.hive"} {
		t.Run(name, func(t *testing.T) {
			data := fixture(t, name)
			edits, _ := injectionEdits("ControlSet001")
			diffEngines(t, data, edits)
			diffEngines(t, data, randomEdits(rand.New(rand.NewPCG(1, uint64(len(name)))), 200))
		})
	}
}

// randomEdits makes n edits libhivex can also make, over a small set of
// key and value names so that they hit each other.
func randomEdits(r *rand.Rand, n int) []edit {
	keys := []string{`A`, `A\B`, `A\B\C`, `a\b_`, `Select`, `ControlSet001`, `ControlSet001\Services`, `X\Ünï`, `Z\K`, `Z\k1`, `Z\K_2`}
	names := []string{"", "v", "V", "Start", "ÄÖ", "long name of a value", "x"}
	out := make([]edit, n)
	for i := range out {
		e := edit{key: keys[r.IntN(len(keys))], name: names[r.IntN(len(names))]}
		switch p := r.IntN(20); {
		case p < 12:
			e.op = 's'
			size := []int{1, 4, 5, 64, 1000, 4096, 16344}[r.IntN(7)]
			d := make([]byte, size)
			for j := range d {
				d[j] = byte(r.Uint32())
			}
			e.v = Value{Type: Type(r.IntN(12)), Data: d}
		case p < 16:
			e.op = 'd'
		case p < 18:
			e.op = 'c'
			e.key += fmt.Sprintf(`\N%d`, r.IntN(40))
		default:
			e.op = 'k'
		}
		out[i] = e
	}
	return out
}

// FuzzEngineDiff: random edit sequences (from a seed) on a fixture hive give
// the same hive through both engines.
func FuzzEngineDiff(f *testing.F) {
	seeds := fixtureSeeds(f, "values.hive")
	for _, s := range []uint64{1, 2, 3} {
		f.Add(s, uint8(40))
	}
	f.Fuzz(func(t *testing.T, seed uint64, n uint8) {
		if len(seeds) == 0 {
			t.Skip("no fixture seeds (tools missing); nothing to edit")
		}
		diffEngines(t, seeds[0], randomEdits(rand.New(rand.NewPCG(seed, 7)), int(n)))
	})
}
