package wizard_test

import (
	"errors"
	. "github.com/pvinject/pvinject/wizard"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func validAnswers() Answers {
	return Answers{Version: 1, Drivers: "/srv/virtio-win.iso", Set: SetVirtioWin, Output: "{dir}/{name}-pv.qcow2", Format: "qcow2", MTU: 9000, WriteCache: CacheOff}
}

func TestAnswersRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "answers.json")
	a := validAnswers()
	a.AllowUnsigned = true
	if err := SaveAnswers(path, a); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"drivers"`, `"set": "virtio-win"`, `"output"`, `"format": "qcow2"`, `"mtu": 9000`, `"write_cache": "off"`, `"allow_unsigned": true`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("saved file lacks %s:\n%s", key, data)
		}
	}
	got, err := LoadAnswers(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("round trip: got %+v want %+v", got, a)
	}
	if out := got.OutputFor("/vms/lab/student07.vhdx"); out != "/vms/lab/student07-pv.qcow2" {
		t.Fatalf("OutputFor = %q", out)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left behind: %v", entries)
	}
}

func TestAnswersInvalid(t *testing.T) {
	cases := []struct {
		name string
		edit func(a *Answers)
		msg  string
	}{
		{"version", func(a *Answers) { a.Version = 2 }, "version 2"},
		{"no drivers", func(a *Answers) { a.Drivers = "" }, "drivers"},
		{"bad set", func(a *Answers) { a.Set = "vmware" }, `set "vmware"`},
		{"both", func(a *Answers) { a.InPlace = true }, "mutually exclusive"},
		{"neither", func(a *Answers) { a.Output, a.Format = "", "" }, "one of in_place or output"},
		{"format in place", func(a *Answers) { a.Output, a.InPlace = "", true }, "format applies only"},
		{"bad format", func(a *Answers) { a.Format = "vdi" }, `format "vdi"`},
		{"mtu low", func(a *Answers) { a.MTU = 100 }, "mtu 100"},
		{"mtu high", func(a *Answers) { a.MTU = 65487 }, "mtu 65487"},
		{"write cache", func(a *Answers) { a.WriteCache = "sometimes" }, "write_cache"},
	}
	for _, c := range cases {
		a := validAnswers()
		c.edit(&a)
		err := a.Validate()
		if !errors.Is(err, ErrAnswers) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: Validate = %v, want ErrAnswers containing %q", c.name, err, c.msg)
		}
		if _, err := a.Marshal(); err == nil {
			t.Errorf("%s: Marshal accepted an invalid answer file", c.name)
		}
	}
	a := validAnswers()
	a.WriteCache, a.Format = "", ""
	if err := a.Validate(); err != nil {
		t.Errorf("empty write_cache and format mean defaults: %v", err)
	}
}

func TestParseAnswersRejects(t *testing.T) {
	cases := map[string]string{
		"unknown field": `{"version":1,"drivers":"d","set":"inf","in_place":true,"mtu_size":9000}`,
		"trailing data": `{"version":1,"drivers":"d","set":"inf","in_place":true} {}`,
		"not json":      `drivers=d`,
		"wrong type":    `{"version":1,"drivers":"d","set":"inf","in_place":"yes"}`,
		"too big":       `{"version":1,"drivers":"` + strings.Repeat("x", MaxAnswersSize) + `","set":"inf","in_place":true}`,
	}
	for name, in := range cases {
		if _, err := ParseAnswers([]byte(in)); !errors.Is(err, ErrAnswers) {
			t.Errorf("%s: ParseAnswers = %v, want ErrAnswers", name, err)
		}
	}
	if _, err := LoadAnswers(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("LoadAnswers(missing) = %v", err)
	}
}

func TestWizardAnswersRoundTrip(t *testing.T) {
	r := newRun(t)
	r.to(StepOptions)
	o := r.w.Options()
	o.MTU, o.WriteCache = "1400", CacheOn
	r.w.SetOptions(o)
	a, err := r.w.Answers()
	if err != nil {
		t.Fatal(err)
	}
	// The fake guest's one static adapter is carried as found: keep_ip
	// auto, which gives every guest its own settings back.
	want := Answers{Version: 1, Drivers: "/srv/virtio-win-0.1.285.iso", Set: SetVirtioWin, Output: o.Output, Format: "qcow2", MTU: 1400, WriteCache: CacheOn, KeepIP: "auto"}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("answers %+v, want %+v", a, want)
	}

	// A second wizard on another image takes the answers back.
	r2 := newRun(t)
	r2.to(StepDrivers)
	a.Output = "{dir}/{name}-lab.vhdx"
	a.Format = "vhdx"
	if err := r2.w.UseAnswers(a); err != nil {
		t.Fatal(err)
	}
	r2.must(r2.w.Load(r2.ctx))
	r2.next()
	st := r2.w.State()
	if st.Options.MTU != "1400" || st.Options.WriteCache != CacheOn || st.Options.Format != "vhdx" ||
		st.Options.Output != filepath.Join(filepath.Dir(r2.image), "win10-lab.vhdx") || st.Request.Path != a.Drivers {
		t.Fatalf("after UseAnswers: %+v %+v", st.Options, st.Request)
	}
	if err := r2.w.UseAnswers(Answers{}); !errors.Is(err, ErrAnswers) {
		t.Fatalf("UseAnswers(invalid) = %v", err)
	}
}

func FuzzParseAnswers(f *testing.F) {
	b, _ := validAnswers().Marshal()
	f.Add(b)
	f.Add([]byte(`{"version":1,"drivers":"d","set":"inf","in_place":true}`))
	f.Add([]byte(`{"version":1,"drivers":"d","set":"auto","output":"x.vhd","mtu":576}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"version":1,"drivers":"d","set":"auto","in_place":true,"adapters":[]}`))
	f.Add([]byte(`{"version":1,"drivers":"d","set":"auto","in_place":true,"keep_ip":"off","adapters":[{"connection":"LAN","carry":true,"addresses":"10.0.0.5/24","gateway":"","dns":"","mac":""}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAnswers(data)
		if err != nil {
			return
		}
		// Whatever parses must re-marshal and parse to the same value.
		out, err := a.Marshal()
		if err != nil {
			t.Fatalf("valid answers do not marshal: %v", err)
		}
		b, err := ParseAnswers(out)
		if err != nil || !reflect.DeepEqual(b, a) {
			t.Fatalf("round trip: %+v -> %+v, %v", a, b, err)
		}
	})
}

func TestPrefill(t *testing.T) {
	r := newRun(t)
	a := Answers{Version: 1, Drivers: "/srv/oracle", Set: SetOracle, Output: "{dir}/{name}-ovm.vhd", MTU: 9000, WriteCache: CacheOn}
	if err := r.w.Prefill(a); err != nil {
		t.Fatal(err)
	}
	r.must(r.w.OpenImage(r.ctx, r.image))
	r.next()
	r.next()
	if st := r.w.State(); st.Request.Set != SetOracle || st.Request.Path != "/srv/oracle" {
		t.Fatalf("prefilled source %+v", st.Request)
	}
	r.next() // Drivers: Load plans the prefilled source
	st := r.w.State()
	if st.Plan == nil || !st.CanNext {
		t.Fatalf("prefilled plan: %q", st.NextReason)
	}
	want := Options{MTU: "9000", WriteCache: CacheOn, Output: filepath.Join(filepath.Dir(r.image), "win10-ovm.vhd"), Format: "vhd"}
	if st.Options != want {
		t.Fatalf("prefilled options %+v, want %+v", st.Options, want)
	}
	// The user can still change them, and a later plan does not reset them.
	r.must(r.w.SetDriverSource(SetOracle, "/srv/oracle-3.2.2"))
	r.must(r.w.Load(r.ctx))
	if o := r.w.Options(); o.MTU != "9000" || o.WriteCache != CacheOn {
		t.Fatalf("replan reset the options: %+v", o)
	}
	if err := r.w.Prefill(Answers{}); !errors.Is(err, ErrAnswers) {
		t.Fatalf("Prefill(invalid) = %v", err)
	}
}
