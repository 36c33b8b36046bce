package hive

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/safety"
)

func mustOpen(t testing.TB, name string, data []byte, logs ...LogFile) *Hive {
	t.Helper()
	h, err := Open(name, data, logs...)
	if errors.Is(err, ErrNoLibhivex) && !testenv.Strict() {
		t.Skipf("built without cgo: %v (this test did not run and is not counted as passed)", err)
	}
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func mustGet(t testing.TB, h *Hive, key, name string) Value {
	t.Helper()
	v, err := h.Get(key, name)
	if err != nil {
		t.Fatalf("Get %s %q: %v", key, name, err)
	}
	return v
}

// TestFixtureValueTypes reads each type hivexregedit wrote and decodes it.
func TestFixtureValueTypes(t *testing.T) {
	h := mustOpen(t, "values", fixture(t, "values.hive"))
	str := func(name string) string {
		s, err := mustGet(t, h, `types`, name).String()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return s
	}
	for name, want := range map[string]string{"": "default value", "SZ": "hello, world", "SzEmpty": "",
		"ExpandSz": `%SystemRoot%\x`, "Latin1": "naïve"} {
		if got := str(name); got != want {
			t.Errorf("%q = %q, want %q", name, got, want)
		}
	}
	if got, _ := mustGet(t, h, `Types`, "MultiSz").Strings(); !slices.Equal(got, []string{"a", "bc"}) {
		t.Errorf("MultiSz = %q", got)
	}
	for name, want := range map[string]uint64{"DWord": 0x12345678, "DWordBE": 0x12345678, "QWord": 0x0123456789abcdef} {
		if got, err := mustGet(t, h, `Types`, name).Uint64(); err != nil || got != want {
			t.Errorf("%s = %#x, %v; want %#x", name, got, err, want)
		}
	}
	for name, want := range map[string]Value{"Binary": Binary([]byte{0, 1, 2, 0xfe, 0xff}), "BinaryEmpty": Binary(nil),
		"None": None(nil), "NoneData": None([]byte{1, 2}), "Resource": {Type: RegResourceList, Data: []byte{1, 0, 0, 0}}} {
		if got := mustGet(t, h, `Types`, name); !got.Equal(want) {
			t.Errorf("%s = %s, want %s", name, got.Display(), want.Display())
		}
	}
	if _, err := h.Get(`Types`, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing value: %v", err)
	}
	if _, err := h.Get(`Nope\Types`, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v", err)
	}
	subs, err := h.Subkeys("Wide")
	if err != nil || len(subs) != 300 {
		t.Errorf("Wide has %d subkeys (%v), want 300", len(subs), err)
	}
	compareWithLibregf(t, h, fixture(t, "values.hive"))
}

// compareWithLibregf checks that libregf and libhivex (through h) show the
// same keys and values for hive bytes data.
func compareWithLibregf(t *testing.T, h *Hive, data []byte) {
	t.Helper()
	keys, vals := regfExport(t, data)
	ours := map[string]bool{"": true}
	var walk func(path string)
	walk = func(path string) {
		subs, err := h.Subkeys(path)
		if err != nil {
			t.Fatalf("Subkeys %q: %v", path, err)
		}
		for _, s := range subs {
			p := strings.TrimPrefix(path+`\`+s, `\`)
			ours[strings.ToUpper(p)] = true
			walk(p)
		}
	}
	walk("")
	for k := range keys {
		if !ours[k] {
			t.Errorf("libregf shows key %q, libhivex does not", k)
		}
	}
	for k := range ours {
		if !keys[k] {
			t.Errorf("libhivex shows key %q, libregf does not", k)
			continue
		}
		vs, err := h.Values(k)
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != len(vals[k]) {
			t.Errorf("key %q: libregf shows %d values, libhivex %d", k, len(vals[k]), len(vs))
		}
		for _, v := range vs {
			name := strings.ToUpper(v.Name)
			if name == "" {
				name = "(DEFAULT)"
			}
			e, ok := vals[k][name]
			if !ok {
				t.Errorf("key %q: value %q not shown by libregf", k, v.Name)
				continue
			}
			sameAsExport(t, fmt.Sprintf("%s\\%s", k, v.Name), v.Value, e)
		}
	}
}

func TestEditCommitRoundTrip(t *testing.T) {
	orig := fixture(t, "values.hive")
	h := mustOpen(t, "values", orig)
	before, err := h.Values("Types")
	if err != nil {
		t.Fatal(err)
	}
	sets := []struct {
		key, name string
		v         Value
	}{
		{`New\Nested\Key`, "Sz", SZ("Ünïcödé ✓ 𝄞")},
		{`New\Nested\Key`, "", SZ("default")},
		{`New\Nested\Key`, "Expand", ExpandSZ(`%SystemRoot%\System32\drivers\viostor.sys`)},
		{`New\Nested\Key`, "Multi", MultiSZ("PCI\\VEN_1AF4&DEV_1001", "", "x")},
		{`New\Nested\Key`, "DWord", DWord(0xdeadbeef)},
		{`New\Nested\Key`, "DWordBE", DWordBigEndian(7)},
		{`New\Nested\Key`, "QWord", QWord(1 << 40)},
		{`New\Nested\Key`, "Bin", Binary(bytes.Repeat([]byte{0xA5}, 3000))},
		{`New\Nested\Key`, "Short", None([]byte{9})},
		{`New\Nested\Key`, "Ключ€", DWord(1)},
		{`New\Ключ`, "x", DWord(1)},
		{`new\КЛЮЧ`, "y", DWord(2)},      // same key: Windows folds Cyrillic too
		{`TYPES`, "sz", SZ("replaced")},  // existing value, other case
		{`types\SUB KEY`, "Y", DWord(2)}, // existing key, other case
		{`Wide\Key5`, "Only", DWord(5)},  // to be deleted again below
	}
	for _, s := range sets {
		if err := h.SetValue(s.key, s.name, s.v); err != nil {
			t.Fatalf("SetValue %s %q: %v", s.key, s.name, err)
		}
	}
	// Types holds zero-length values that go-hivex cannot hand back to
	// libhivex, so deleting one of its values is refused (trap_test.go).
	// The pure-Go engine writes them back.
	if h.eng.limits().noEmptyData {
		if err := h.DeleteValue(`Types`, "binary"); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("delete beside zero-length values: %v", err)
		}
	} else if err := h.CanDeleteValue(`Types`, "binary"); err != nil {
		t.Fatalf("delete beside zero-length values, pure-Go engine: %v", err)
	}
	if err := h.DeleteValue(`Wide\Key5`, "Only"); err != nil { // the key's last value
		t.Fatal(err)
	}
	for _, s := range []struct {
		name string
		v    Value
	}{{"a", DWord(1)}, {"B", SZ("kept")}, {"c", QWord(3)}} {
		if err := h.SetValue(`Del`, s.name, s.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.DeleteValue(`del`, "A"); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteValue(`Del`, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if err := h.DeleteKey(`Wide\Key7`); err != nil {
		t.Fatal(err)
	}
	if err := h.DeleteKey(`Tree`); err != nil { // with a subtree and values
		t.Fatal(err)
	}
	if err := h.DeleteKey(``); err == nil {
		t.Error("deleting the root was allowed")
	}
	if err := h.CreateKey(`Made\By\CreateKey`); err != nil {
		t.Fatal(err)
	}
	out, err := h.Commit()
	if err != nil {
		t.Fatal(err)
	}

	h2 := mustOpen(t, "values-after", out)
	for _, s := range sets[:len(sets)-1] {
		got := mustGet(t, h2, s.key, s.name)
		want := s.v
		if got.Type != want.Type || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s %q = %s, want %s", s.key, s.name, got.Display(), want.Display())
		}
	}
	if got, _ := mustGet(t, h2, `New\Nested\Key`, "Multi").Strings(); !slices.Equal(got, []string{`PCI\VEN_1AF4&DEV_1001`, "x"}) {
		t.Errorf("Multi = %q", got)
	}
	if vs, err := h2.Values(`Wide\Key5`); err != nil || len(vs) != 0 {
		t.Errorf("Wide\\Key5 values = %v, %v; want none", vs, err)
	}
	// Every value of Types we did not touch is byte-for-byte unchanged,
	// and the replaced one kept its stored name.
	after, err := h2.Values("Types")
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]NamedValue{}
	for _, v := range after {
		byName[v.Name] = v
	}
	for _, b := range before {
		a, ok := byName[b.Name]
		switch b.Name {
		case "Sz":
			if s, _ := a.String(); !ok || s != "replaced" {
				t.Errorf("Sz = %v (present %v)", a.Display(), ok)
			}
		default:
			if !ok || !a.Equal(b.Value) {
				t.Errorf("untouched value %q changed: %s -> %s", b.Name, b.Display(), a.Display())
			}
		}
	}
	if vs, err := h2.Values(`Del`); err != nil || len(vs) != 2 || vs[0].Name != "B" || !vs[0].Equal(SZ("kept")) || vs[1].Name != "c" {
		t.Errorf("Del values after deleting a = %v, %v; want B and c", vs, err)
	}
	for _, k := range []string{`Wide\Key7`, `Tree`, `Tree\A`} {
		if ok, err := h2.KeyExists(k); err != nil || ok {
			t.Errorf("deleted key %s exists=%v err=%v", k, ok, err)
		}
	}
	if subs, _ := h2.Subkeys(`New`); len(subs) != 2 {
		t.Errorf("New has subkeys %q, want Nested and Ключ only", subs)
	}
	if ok, _ := h2.KeyExists(`made\by\createkey`); !ok {
		t.Error("CreateKey key missing")
	}
	// hivexget prints DWORDs as signed decimal.
	if got := hivexget(t, out, `New\Nested\Key`, "DWord"); strings.TrimSpace(string(got)) != "-559038737" {
		t.Errorf("hivexget DWord = %q", got)
	}
	compareWithLibregf(t, h2, out)
}

func TestDirtyHiveReplay(t *testing.T) {
	for _, tc := range []struct {
		dir  string
		logs []string
		fmt  string
	}{
		{"dirty-new", []string{"SYSTEM.LOG1", "SYSTEM.LOG2"}, "new"},
		{"dirty-new", []string{"SYSTEM.LOG2", "SYSTEM.LOG1"}, "new"}, // order given must not matter
		{"dirty-old", []string{"SYSTEM.LOG"}, "old"},
	} {
		t.Run(tc.dir+"/"+strings.Join(tc.logs, "+"), func(t *testing.T) {
			data := fixture(t, tc.dir+"/SYSTEM")
			var logs []LogFile
			for _, l := range tc.logs {
				logs = append(logs, LogFile{Name: l, Data: fixture(t, tc.dir+"/"+l)})
			}
			h := mustOpen(t, "SYSTEM", data, logs...)
			rep := h.Replayed()
			if rep == nil || rep.Format != tc.fmt || rep.Pages == 0 {
				t.Fatalf("replay = %+v", rep)
			}
			if f := h.Findings(); len(f) != 0 {
				t.Errorf("findings after a good replay: %v", f)
			}
			checkLoggedState(t, h)
			if err := h.SetValue(`ControlSet001\Services\viostor`, "ErrorControl", DWord(1)); err != nil {
				t.Fatal(err)
			}
			out, err := h.Commit()
			if err != nil {
				t.Fatal(err)
			}
			h2 := mustOpen(t, "SYSTEM-after", out)
			checkLoggedState(t, h2)
			compareWithLibregf(t, h2, out)
		})
	}
}

// checkLoggedState asserts the changes that only the fixture's logs hold.
func checkLoggedState(t *testing.T, h *Hive) {
	t.Helper()
	if n, _ := mustGet(t, h, `ControlSet001\Services\atapi`, "Start").Uint32(); n != 3 {
		t.Errorf("atapi Start = %d, want 3 (from the log)", n)
	}
	if s, _ := mustGet(t, h, `ControlSet001\Services\viostor`, "Group").String(); s != "SCSI miniport" {
		t.Errorf("viostor Group = %q", s)
	}
	if s, _ := mustGet(t, h, `ControlSet001\Services\viostor`, "ImagePath").String(); s != `System32\drivers\viostor.sys` {
		t.Errorf("viostor ImagePath = %q", s)
	}
	for i := 1; i <= 60; i++ {
		if n, _ := mustGet(t, h, fmt.Sprintf(`Logged\K%03d`, i), "V").Uint32(); n != uint32(i) {
			t.Errorf("Logged\\K%03d V = %d", i, n)
		}
	}
	if s, _ := mustGet(t, h, `ControlSet001\Control\ComputerName\ComputerName`, "ComputerName").String(); s != "FIXTURE-PC" {
		t.Errorf("ComputerName = %q (pre-log data lost)", s)
	}
}

func TestDirtyHiveWithoutUsableLogs(t *testing.T) {
	for _, tc := range []struct {
		name string
		logs []string
		code string
	}{
		{"no logs", nil, "hive.dirty_no_logs"},
		{"damaged logs", []string{"dirty-new-badlog/SYSTEM.LOG1", "dirty-new-badlog/SYSTEM.LOG2"}, "hive.dirty_bad_logs"},
		{"empty logs", []string{"empty"}, "hive.dirty_bad_logs"},
		{"LOG1 missing", []string{"dirty-new/SYSTEM.LOG2"}, "hive.dirty_bad_logs"},
		{"another hive's log", []string{"dirty-old/SYSTEM.LOG"}, "hive.dirty_bad_logs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs []LogFile
			for _, l := range tc.logs {
				var d []byte
				if l != "empty" {
					d = fixture(t, l)
				}
				if l == "dirty-old/SYSTEM.LOG" { // right format, but its timestamp matches another hive
					d = append([]byte{}, d...)
					d[12] ^= 0xFF
					sealLog(d)
				}
				logs = append(logs, LogFile{Name: l, Data: d})
			}
			h := mustOpen(t, "Windows/System32/config/SYSTEM", fixture(t, "dirty-new/SYSTEM"), logs...)
			f := h.Findings()
			if len(f) != 1 || f[0].Severity != safety.Warning || f[0].Code != tc.code {
				t.Fatalf("findings = %+v", f)
			}
			if !strings.Contains(f[0].Message, "SYSTEM.LOG1/SYSTEM.LOG2") {
				t.Errorf("finding does not name the logs: %s", f[0].Message)
			}
			// Reading works and shows the pre-log state.
			if n, _ := mustGet(t, h, `ControlSet001\Services\atapi`, "Start").Uint32(); n != 0 {
				t.Errorf("atapi Start = %d, want the unlogged 0", n)
			}
			var ref *safety.Refusal
			if err := h.SetValue(`X`, "Y", DWord(1)); !errors.As(err, &ref) {
				t.Fatalf("SetValue on dirty hive: %v, want *safety.Refusal", err)
			}
			if !strings.Contains(ref.Remedy, "shut Windows down fully") {
				t.Errorf("remedy = %q", ref.Remedy)
			}
			for name, op := range map[string]func() error{
				"DeleteValue": func() error { return h.DeleteValue(`Select`, "Current") },
				"DeleteKey":   func() error { return h.DeleteKey(`Select`) },
				"CreateKey":   func() error { return h.CreateKey(`Z`) },
				"Commit":      func() error { _, err := h.Commit(); return err },
			} {
				if err := op(); !errors.As(err, &ref) {
					t.Errorf("%s on dirty hive: %v, want *safety.Refusal", name, err)
				}
			}
		})
	}
}

// sealLog recomputes a log's backup base block checksum after a test edit.
func sealLog(d []byte) {
	for i := offChecksum; i < offChecksum+4; i++ {
		d[i] = 0
	}
	c := xorChecksum(d)
	d[offChecksum], d[offChecksum+1], d[offChecksum+2], d[offChecksum+3] = byte(c), byte(c>>8), byte(c>>16), byte(c>>24)
}

func TestCleanHiveIgnoresLogs(t *testing.T) {
	h := mustOpen(t, "SYSTEM", fixture(t, "system.hive"), LogFile{Name: "SYSTEM.LOG1", Data: fixture(t, "dirty-new/SYSTEM.LOG1")})
	if h.Replayed() != nil {
		t.Error("logs replayed into a clean hive")
	}
	if ok, _ := h.KeyExists(`Logged`); ok {
		t.Error("log content appeared in a clean hive")
	}
}

func TestBadInput(t *testing.T) {
	values := fixture(t, "values.hive")
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotHive},
		{"not a hive", fixture(t, "notahive.bin"), ErrNotHive},
		{"truncated", fixture(t, "truncated.hive"), ErrTruncated},
		{"header only", values[:4096], ErrTruncated},
		{"bad checksum", fixture(t, "badchecksum.hive"), ErrChecksum},
		{"win9x", fixture(t, "win9x.dat"), ErrWin9x},
		{"cycle", fixture(t, "cycle.hive"), ErrCycle},
		{"bad hbin", patched(values, 4096, []byte("hbix")), ErrCorrupt},
		{"version 2.0", resealed(patched(values, offMajor, []byte{2})), ErrCorrupt},
		{"root not a key", resealed(patched(values, offRootCell, []byte{0x40, 0, 0, 0})), ErrCorrupt},
		{"a log, not a hive", fixture(t, "dirty-new/SYSTEM.LOG1"), ErrNotHive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Open(tc.name, tc.data)
			if err == nil {
				h.Close()
				t.Fatalf("opened")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.File != tc.name {
				t.Errorf("error %v does not locate the problem in %q", err, tc.name)
			}
		})
	}
}

func patched(b []byte, off int, with []byte) []byte {
	c := append([]byte{}, b...)
	copy(c[off:], with)
	return c
}

func resealed(b []byte) []byte {
	sealLog(b)
	return b
}

func TestLimitsAndStates(t *testing.T) {
	data := fixture(t, "values.hive")
	h := mustOpen(t, "values", data)
	big := bigDataSegment + 1 // libhivex cannot write big-data records
	if !h.eng.limits().noBigData {
		big = maxValueDataLen + 1 // the pure-Go engine can, up to what it reads back
	}
	if err := h.SetValue(`Big`, "v", Binary(make([]byte, big))); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big value: %v", err)
	}
	if ok, _ := h.KeyExists(`Big`); ok {
		t.Error("a refused SetValue still created its key")
	}
	if err := h.CreateKey(strings.Repeat("k", 256)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("long key name: %v", err)
	}
	ro, err := OpenReadOnly("values", data)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.SetValue(`A`, "b", DWord(1)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only set: %v", err)
	}
	if _, err := ro.Get(`Types`, "DWord"); err != nil {
		t.Errorf("read-only get: %v", err)
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ro.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := ro.Get(`Types`, "DWord"); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
}
