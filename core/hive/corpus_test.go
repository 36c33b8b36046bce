package hive

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// corpusHive returns a corpus hive's bytes, decompressed (.xz via the xz
// tool, .gz via compress/gzip) in memory; nothing is written to the repo.
func corpusHive(t testing.TB, rel string) []byte {
	t.Helper()
	corpusCache.Lock()
	defer corpusCache.Unlock()
	if b, ok := corpusCache.m[rel]; ok {
		return bytes.Clone(b)
	}
	b := readCorpusHive(t, rel)
	corpusCache.m[rel] = b
	return bytes.Clone(b)
}

// corpusCache keeps each decompressed corpus hive for the test process:
// several tests read the 11 MiB ones.
var corpusCache = struct {
	sync.Mutex
	m map[string][]byte
}{m: map[string][]byte{}}

func readCorpusHive(t testing.TB, rel string) []byte {
	t.Helper()
	p := testenv.CorpusFile(t, rel)
	switch {
	case strings.HasSuffix(rel, ".xz"):
		testenv.RequireTool(t, "xz")
		out, err := exec.Command("xz", "-dc", p).Output()
		if err != nil {
			t.Fatalf("xz -dc %s: %v", p, err)
		}
		return out
	case strings.HasSuffix(rel, ".gz"):
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := io.ReadAll(z)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Known values come from the corpus MANIFEST.tsv descriptions.
func TestCorpusHives(t *testing.T) {
	type want struct{ key, name, value string }
	for _, tc := range []struct {
		rel   string
		wants []want
	}{
		{"hives/regipy_SYSTEM_win7sp1_x86.xz", []want{
			{`Select`, "Current", "1"},
			{`ControlSet001\Control\ComputerName\ComputerName`, "ComputerName", "WKS-WIN732BITA"},
			{`ControlSet001\Control\Windows`, "CSDVersion", "256"},
			{`ControlSet001\Control\ProductOptions`, "ProductType", "WinNT"},
		}},
		{"hives/dissect_SYSTEM_win10_19041_x64.gz", []want{
			{`select`, "current", "1"},
			{`CONTROLSET001\CONTROL\COMPUTERNAME\COMPUTERNAME`, "computername", "DESKTOP-M3OSHQU"},
		}},
		{"hives/libguestfs_windows-system", []want{
			{`Select`, "Current", "1"},
			{`ControlSet001\Services\Tcpip\Parameters`, "Hostname", "windows.invalid"},
		}},
		{"hives/libguestfs_windows-software", []want{
			{`Microsoft\Windows NT\CurrentVersion`, "ProductName", "Microsoft Windows 7 Phony Edition"},
			{`Microsoft\Windows NT\CurrentVersion`, "CurrentVersion", "6.1"},
		}},
		{"reg/virt-v2v_minimal-hive", nil},
	} {
		t.Run(filepath.Base(tc.rel), func(t *testing.T) {
			data := corpusHive(t, tc.rel)
			h := mustOpen(t, tc.rel, data)
			for _, w := range tc.wants {
				v := mustGet(t, h, w.key, w.name)
				got := ""
				if n, err := v.Uint32(); err == nil {
					got = fmt.Sprint(n)
				} else if s, err := v.String(); err == nil {
					got = s
				}
				if got != w.value {
					t.Errorf("%s %s = %s, want %s", w.key, w.name, v.Display(), w.value)
				}
			}
			// Edit, commit, and check the result with libhivex and libregf.
			const svc = `ControlSet001\Services\viostor`
			if err := h.SetValue(svc, "Start", DWord(0)); err != nil {
				t.Fatal(err)
			}
			if err := h.SetValue(svc, "ImagePath", ExpandSZ(`System32\drivers\viostor.sys`)); err != nil {
				t.Fatal(err)
			}
			out, err := h.Commit()
			if err != nil {
				t.Fatal(err)
			}
			if got := hivexget(t, out, svc, "ImagePath"); strings.TrimSpace(string(got)) != `System32\drivers\viostor.sys` {
				t.Errorf("hivexget ImagePath = %q", got)
			}
			h2 := mustOpen(t, "after", out)
			for _, w := range tc.wants { // untouched values survive
				if _, err := h2.Get(w.key, w.name); err != nil {
					t.Errorf("after commit: %v", err)
				}
			}
			if len(data) < 1<<20 {
				compareWithLibregf(t, h2, out)
			} else {
				checkKeyWithLibregf(t, h2, out, svc)
			}
		})
	}
}

// checkKeyWithLibregf compares one key with regfexport -K (a full export of
// an 11 MiB hive takes too long for every test run).
func checkKeyWithLibregf(t *testing.T, h *Hive, data []byte, key string) {
	t.Helper()
	testenv.RequireTool(t, "regfexport")
	p := filepath.Join(t.TempDir(), "hive")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("regfexport", "-K", key, p).CombinedOutput()
	if err != nil {
		t.Fatalf("regfexport -K: %v\n%s", err, out)
	}
	vs, err := h.Values(key)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if !bytes.Contains(out, []byte("Value: ")) || !bytes.Contains(out, []byte(" "+v.Name+"\n")) {
			t.Errorf("regfexport -K %s does not show value %q:\n%s", key, v.Name, out)
		}
	}
	if !bytes.Contains(out, []byte(`Data: System32\drivers\viostor.sys`)) || !bytes.Contains(out, []byte("REG_DWORD_LITTLE_ENDIAN")) {
		t.Errorf("regfexport -K %s:\n%s", key, out)
	}
}

// extraHives returns $PVINJECT_EXTRA_HIVES, a directory of real dirty hives
// with their logs that are not (yet) in the shared corpus:
//
//	regipy/  mkorman90/regipy regipy_tests/data (decompressed): SYSTEM_B,
//	         transactions_NTUSER.DAT, UsrClass.dat and their logs
//	yarp/    msuhanov/yarp hives_for_tests
func extraHives(t *testing.T, sub string) string {
	dir := os.Getenv("PVINJECT_EXTRA_HIVES")
	if dir == "" {
		t.Skip("PVINJECT_EXTRA_HIVES not set: real dirty hives (regipy, yarp test data) are not in the shared corpus; the fixture-built dirty hives cover replay (this test did not run)")
	}
	return filepath.Join(dir, sub)
}

func readAll(t *testing.T, dir string, names ...string) (hive []byte, logs []LogFile) {
	t.Helper()
	for i, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			hive = b
		} else {
			logs = append(logs, LogFile{Name: n, Data: b})
		}
	}
	return hive, logs
}

// Windows 10 hives left dirty with new-format logs; the page counts are
// those regipy's own tests expect.
func TestRealDirtyHivesRegipy(t *testing.T) {
	dir := extraHives(t, "regipy")
	for _, tc := range []struct {
		files []string
		pages int
	}{
		{[]string{"SYSTEM_B", "SYSTEM_B.LOG1", "SYSTEM_B.LOG2"}, 315}, // also a partial reconcile
		{[]string{"transactions_NTUSER.DAT", "transactions_ntuser.dat.log1", "transactions_ntuser.dat.log2"}, 132},
		{[]string{"UsrClass.dat", "UsrClass.dat.LOG1", "UsrClass.dat.LOG2"}, 158},
	} {
		t.Run(tc.files[0], func(t *testing.T) {
			data, logs := readAll(t, dir, tc.files...)
			h := mustOpen(t, tc.files[0], data, logs...)
			if rep := h.Replayed(); rep == nil || rep.Pages != tc.pages {
				t.Fatalf("replay %+v, want %d pages", rep, tc.pages)
			}
			if err := h.SetValue(`PvinjectTest`, "x", DWord(1)); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Commit(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// yarp's test hives come with the result of Windows' own recovery, so the
// replay can be compared byte for byte with what Windows did.
func TestRealDirtyHivesYarp(t *testing.T) {
	dir := extraHives(t, "yarp")
	binsOf := func(b []byte) []byte {
		bb, err := parseBaseBlock("x", b)
		if err != nil {
			t.Fatal(err)
		}
		return b[baseBlockSize : baseBlockSize+int(bb.HbinsSize)]
	}
	t.Run("new format = Windows 10 recovery", func(t *testing.T) {
		for _, order := range [][]string{{"NewDirtyHive.LOG1", "NewDirtyHive.LOG2"}, {"NewDirtyHive.LOG2", "NewDirtyHive.LOG1"}} {
			data, logs := readAll(t, filepath.Join(dir, "NewDirtyHive1"), append([]string{"NewDirtyHive"}, order...)...)
			out, rep, err := replayLogs("NewDirtyHive", data, logs)
			if err != nil {
				t.Fatal(err)
			}
			win, _ := readAll(t, filepath.Join(dir, "NewDirtyHive1"), "RecoveredHive_Windows10")
			if !bytes.Equal(binsOf(out), binsOf(win)) || rep.Entries != 4 {
				t.Errorf("logs %v: recovered hive bins differ from Windows' (%+v)", order, rep)
			}
		}
		data, logs := readAll(t, filepath.Join(dir, "NewDirtyHive2"), "NewDirtyHive", "NewDirtyHive.LOG1", "NewDirtyHive.LOG2")
		if _, rep, err := replayLogs("NewDirtyHive2", data, logs); err != nil || rep.Sequence != 5 || len(rep.Logs) != 1 || rep.Logs[0] != "NewDirtyHive.LOG2" {
			t.Errorf("NewDirtyHive2: %+v, %v; want sequence 5 from LOG2 only", rep, err)
		}
	})
	t.Run("old format = Windows 7 recovery", func(t *testing.T) {
		data, logs := readAll(t, filepath.Join(dir, "OldDirtyHive"), "OldDirtyHive", "OldDirtyHive.LOG1", "OldDirtyHive.LOG2")
		h := mustOpen(t, "OldDirtyHive", data, logs...)
		if rep := h.Replayed(); rep == nil || rep.Format != "old" {
			t.Fatalf("replay %+v", rep)
		}
		if ok, _ := h.KeyExists(`key_with_many_subkeys\1`); ok {
			t.Error(`key_with_many_subkeys\1 survived; the log deletes it`)
		}
		if ok, _ := h.KeyExists(`key_with_many_subkeys\5000\find_me_in_log`); !ok {
			t.Error("find_me_in_log missing")
		}
		if ss, _ := mustGet(t, h, `key_with_many_subkeys\4500`, "V").Strings(); !slices.Equal(ss, []string{"a", "bb", "ccc"}) {
			t.Errorf("4500 V = %q", ss)
		}
		out, _, err := replayLogs("OldDirtyHive", data, logs)
		if err != nil {
			t.Fatal(err)
		}
		win, _ := readAll(t, filepath.Join(dir, "OldDirtyHive"), "RecoveredHive_Windows7")
		// Windows rewrote the first bin's timestamp and one byte of a key
		// after recovering; nothing else may differ.
		a, b := binsOf(out), binsOf(win)
		diff := 0
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				diff++
			}
		}
		if len(a) != len(b) || diff > 8 {
			t.Errorf("%d bytes differ from Windows' recovery", diff)
		}
	})
	t.Run("damaged primary base block", func(t *testing.T) {
		data, logs := readAll(t, filepath.Join(dir, "BadBaseBlockHive"), "BadBaseBlockHive", "BadBaseBlockHive.LOG1", "BadBaseBlockHive.LOG2")
		h := mustOpen(t, "BadBaseBlockHive", data, logs...)
		if ok, _ := h.KeyExists("key_with_many_subkeys"); !ok || h.Replayed() == nil {
			t.Errorf("not recovered from the log's base block: %+v", h.Replayed())
		}
	})
	for _, n := range []string{"BadLogHive1", "BadLogHive2", "BadLogHive3"} {
		t.Run(n, func(t *testing.T) {
			data, logs := readAll(t, filepath.Join(dir, n), "BadLogHive", "BadLogHive.LOG1", "BadLogHive.LOG2")
			if _, _, err := replayLogs(n, data, logs); !errors.Is(err, ErrLog) && !errors.Is(err, ErrCorrupt) {
				t.Errorf("replay of damaged logs: %v", err)
			}
		})
	}
	for name, want := range map[string]error{"BadListHive": ErrCycle, "BadSubkeyHive": ErrCycle, "TruncatedNameHive": ErrCorrupt, "TruncatedHive": ErrTruncated} {
		data, _ := readAll(t, dir, name)
		if _, err := Open(name, data); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	for _, name := range []string{"BigDataHive", "ManySubkeysHive", "UnicodeHive", "ExtendedASCIIHive", "MultiSzHive", "StringValuesHive", "SlackHive", "CompHive"} {
		data, _ := readAll(t, dir, name)
		h := mustOpen(t, name, data)
		if err := h.SetValue(`Pvinject`, "x", SZ(name)); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if _, err := h.Commit(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// BenchmarkSystemHiveEdit: open the real 11 MiB Windows 10 SYSTEM hive,
// edit it, commit (including the pure-Go verification), through each
// engine in the same run. Edits: "set50" sets 50 values in five new keys;
// "injection" makes the edits of an injection (injectionEdits without its
// 520 extra keys: a service key with its values, CriticalDeviceDatabase
// entries, a value replaced, values and a key deleted).
func BenchmarkSystemHiveEdit(b *testing.B) {
	data := corpusHive(b, "hives/dissect_SYSTEM_win10_19041_x64.gz")
	var set50 []edit
	for i := range 50 {
		set50 = append(set50, edit{op: 's', key: fmt.Sprintf(`ControlSet001\Services\pvbench%d`, i%5), name: fmt.Sprintf("V%d", i), v: DWord(uint32(i))})
	}
	inj, _ := injectionEdits("ControlSet001")
	inj = slices.DeleteFunc(inj, func(e edit) bool { return strings.Contains(e.key, `\Many`) })
	for _, edits := range []struct {
		name  string
		edits []edit
	}{{"set50", set50}, {"injection", inj}} {
		for _, engine := range []string{EngineHivex, EngineGo} {
			b.Run(edits.name+"/"+engine, func(b *testing.B) {
				useEngine(b, engine)
				b.SetBytes(int64(len(data)))
				for b.Loop() {
					h, err := Open("SYSTEM", data)
					if err != nil {
						b.Fatal(err)
					}
					for _, e := range edits.edits {
						if err := e.apply(h); err != nil && !errors.Is(err, ErrNotFound) {
							b.Fatal(err)
						}
					}
					if _, err := h.Commit(); err != nil {
						b.Fatal(err)
					}
					h.Close()
				}
			})
		}
	}
}

// Values over 16344 bytes live in big-data segments: libhivex and the
// pure-Go reader must agree on them, and keys holding one must not be
// rewritten through libhivex.
func TestBigDataValue(t *testing.T) {
	data := corpusHive(t, "hives/dissect_SYSTEM_win10_19041_x64.gz")
	h := mustOpen(t, "SYSTEM", data)
	const key = `ControlSet001\Control\ProductOptions`
	v := mustGet(t, h, key, "ProductPolicy")
	if len(v.Data) <= bigDataSegment {
		t.Fatalf("ProductPolicy is %d bytes; the test needs a big-data value", len(v.Data))
	}
	r, _, err := newReader("SYSTEM", data)
	if err != nil {
		t.Fatal(err)
	}
	k, ok, err := r.lookup(splitPath(key))
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	mine, ok, err := r.value(k, "productpolicy")
	if err != nil || !ok || !mine.Equal(v) {
		t.Fatalf("pure-Go reader: %d bytes, ok=%v, err=%v; libhivex %d bytes", len(mine.Data), ok, err, len(v.Data))
	}
	if !h.eng.limits().noBigData {
		// The pure-Go engine rewrites the key, big value included.
		if err := h.SetValue(key, "Other", DWord(1)); err != nil {
			t.Fatal(err)
		}
		if err := h.DeleteValue(key, "ProductType"); err != nil {
			t.Fatal(err)
		}
		out, err := h.Commit()
		if err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, mustOpen(t, "SYSTEM-after", out), key, "ProductPolicy"); !got.Equal(v) {
			t.Errorf("ProductPolicy after rewriting its key: %d bytes, want %d", len(got.Data), len(v.Data))
		}
		return
	}
	if err := h.SetValue(key, "Other", DWord(1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("SetValue beside a big value: %v, want ErrTooLarge", err)
	}
	if err := h.DeleteValue(key, "ProductType"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DeleteValue beside a big value: %v, want ErrTooLarge", err)
	}
}

// TestNoCLeaks reads and writes many times and checks that the C heap
// grows by no more than go-hivex's own leaks (see doc.go): the handle
// arrays of listings, a copy of each value read, a copy of each name
// passed in or read uncached. Measured per round: listing 300 subkeys
// 4844 bytes (libhivex over-allocates the handle array it returns, ~16
// bytes a subkey; names are cached), listing 14 values 736 (array and data
// copies), one set 106, one read 32; 5.7 KiB in all. An uncached name per
// subkey would add ~9 KiB.
func TestNoCLeaks(t *testing.T) {
	useEngine(t, EngineHivex)
	h := mustOpen(t, "values", fixture(t, "values.hive"))
	if !inLeakChild(t) {
		return
	}
	work := func(n int) {
		for i := range n {
			if _, err := h.Values("Types"); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Subkeys("Wide"); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Get(`Types\Sub Key`, "X"); err != nil {
				t.Fatal(err)
			}
			if err := h.SetValue(`Leak`, "v", DWord(uint32(i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	work(50) // let libhivex grow its own structures first
	before := cHeapInUse()
	work(500)
	const perRound = 6 << 10
	grown := cHeapInUse() - before
	t.Logf("C heap grew by %d bytes over 500 rounds (%d per round)", grown, grown/500)
	if grown > 500*perRound {
		t.Errorf("C heap grew by %d bytes over 500 rounds, more than %d per round", grown, perRound)
	}
}

// The fixture script also merges its .reg text onto virt-v2v's minimal-hive
// from the corpus (the base virt-v2v itself uses); it must read the same.
func TestCorpusMinimalHiveBase(t *testing.T) {
	testenv.Corpus(t)
	data := fixture(t, "corpus-values.hive")
	h := mustOpen(t, "corpus-values", data)
	if n, _ := mustGet(t, h, `Types`, "DWord").Uint32(); n != 0x12345678 {
		t.Errorf("DWord = %#x", n)
	}
	if err := h.SetValue(`Types`, "Added", MultiSZ("a", "b")); err != nil {
		t.Fatal(err)
	}
	out, err := h.Commit()
	if err != nil {
		t.Fatal(err)
	}
	compareWithLibregf(t, mustOpen(t, "after", out), out)
}
