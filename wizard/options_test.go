package wizard_test

import (
	"errors"
	. "github.com/pvinject/pvinject/wizard"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMTU(t *testing.T) {
	virtio := DefaultRules(SetVirtioWin, "")
	oracle := DefaultRules(SetOracle, "3.2.3")
	cases := []struct {
		text  string
		rules OptionRules
		want  int
		err   string
	}{
		{"", virtio, 0, ""},
		{"  ", virtio, 0, ""},
		{"1500", virtio, 1500, ""},
		{" 9000 ", virtio, 9000, ""},
		{"576", virtio, 576, ""},
		{"65486", virtio, 65486, ""}, // *JumboPacket 65500
		{"65487", virtio, 0, "outside 576-65486"},
		{"575", virtio, 0, "outside 576-65486"},
		{"9000", oracle, 9000, ""},
		{"9001", oracle, 0, "outside 576-9000"},
		{"abc", virtio, 0, `"abc" is not a whole number`},
		{"1500.5", virtio, 0, "not a whole number"},
		{"-1500", virtio, 0, "outside"},
		{"99999999999999999999", virtio, 0, "not a whole number"},
	}
	for _, c := range cases {
		got, err := ParseMTU(c.text, c.rules)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("ParseMTU(%q) = %d, %v; want %d", c.text, got, err, c.want)
			}
			continue
		}
		var fe FieldError
		if !errors.As(err, &fe) || fe.Field != FieldMTU || !strings.Contains(fe.Msg, c.err) {
			t.Errorf("ParseMTU(%q) error %v, want mtu field error containing %q", c.text, err, c.err)
		}
	}
}

func TestDefaultRules(t *testing.T) {
	if r := DefaultRules(SetOracle, "3.2.3"); r.WriteCache != CacheOff || !strings.Contains(r.WriteCacheWhy, "3.2.3 fixed") {
		t.Errorf("oracle 3.2.3: %+v", r)
	}
	if r := DefaultRules(SetOracle, "3.2.2"); r.WriteCache != CacheOff || !strings.Contains(r.WriteCacheWhy, "before 3.2.3") {
		t.Errorf("oracle 3.2.2: %+v", r)
	}
	for _, s := range []Set{SetVirtioWin, SetXen, SetINF, SetAuto} {
		r := DefaultRules(s, "")
		if r.WriteCache != CacheKeep || r.MTUHelp == "" || r.MTUHost == "" || r.CacheHelp == "" || r.CacheHost == "" {
			t.Errorf("%s: %+v", s, r)
		}
	}
	if r := DefaultRules(SetVirtioWin, ""); r.MTUMin+EthernetHeader != 590 || r.MTUMax+EthernetHeader != 65500 {
		t.Errorf("virtio MTU range %d-%d does not map to *JumboPacket 590-65500", r.MTUMin, r.MTUMax)
	}
}

func TestOptionsValidate(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "win.vhdx")
	exists := filepath.Join(dir, "exists.qcow2")
	if err := os.WriteFile(exists, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := Options{WriteCache: CacheKeep, Output: filepath.Join(dir, "new.qcow2"), Format: "qcow2"}
	rules := DefaultRules(SetVirtioWin, "")
	cases := []struct {
		name  string
		edit  func(o *Options)
		field string
		msg   string
	}{
		{"valid", func(*Options) {}, "", ""},
		{"in place skips output", func(o *Options) { o.InPlace, o.Output, o.Format = true, "", "" }, "", ""},
		{"bad mtu", func(o *Options) { o.MTU = "jumbo" }, FieldMTU, "not a whole number"},
		{"mtu range", func(o *Options) { o.MTU = "70000" }, FieldMTU, "outside"},
		{"write cache", func(o *Options) { o.WriteCache = "maybe" }, FieldWriteCache, "must be on, off or keep"},
		{"empty write cache", func(o *Options) { o.WriteCache = "" }, FieldWriteCache, "must be on, off or keep"},
		{"no output", func(o *Options) { o.Output = " " }, FieldOutput, "choose where to write"},
		{"output is source", func(o *Options) { o.Output = src }, FieldOutput, "is the image itself"},
		{"output folder missing", func(o *Options) { o.Output = filepath.Join(dir, "nope", "x.qcow2") }, FieldOutput, "does not exist"},
		{"output exists", func(o *Options) { o.Output = exists }, FieldOutput, "never overwrites"},
		{"bad format", func(o *Options) { o.Format = "iso" }, FieldFormat, "must be one of raw, qcow2"},
		{"no format", func(o *Options) { o.Format = "" }, FieldFormat, "must be one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := good
			c.edit(&o)
			errs := o.Validate(src, rules)
			if c.field == "" {
				if len(errs) != 0 {
					t.Fatalf("want valid, got %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Field != c.field || !strings.Contains(errs[0].Msg, c.msg) {
				t.Fatalf("got %v, want one %s error containing %q", errs, c.field, c.msg)
			}
		})
	}
	o := Options{MTU: "x", WriteCache: "y"}
	if errs := o.Validate(src, rules); len(errs) != 4 {
		t.Fatalf("want all four fields reported, got %v", errs)
	}
}

func TestOptionsStepBlocksNext(t *testing.T) {
	r := newRun(t)
	r.to(StepOptions)
	o := r.w.Options()
	o.MTU = "100"
	r.w.SetOptions(o)
	r.blocked("MTU 100 is outside 576-65486")
	st := r.w.State()
	if len(st.OptionErrors) != 1 || st.OptionErrors[0].Field != FieldMTU {
		t.Fatalf("option errors %v", st.OptionErrors)
	}
	o.MTU, o.Output = "", r.image
	r.w.SetOptions(o)
	r.blocked("is the image itself")
	o.Output = filepath.Join(filepath.Dir(r.image), "ok.qcow2")
	r.w.SetOptions(o)
	r.next()
	if _, err := r.w.Answers(); err != nil {
		t.Fatal(err)
	}
}

func TestWriteCacheDefaultFollowsSetUnlessTouched(t *testing.T) {
	r := newRun(t)
	r.to(StepDrivers)
	r.must(r.w.SetDriverSource(SetOracle, "/srv/oracle"))
	r.must(r.w.Load(r.ctx))
	if c := r.w.Options().WriteCache; c != CacheOff {
		t.Fatalf("oracle default %s, want off", c)
	}
	r.must(r.w.SetDriverSource(SetVirtioWin, "/srv/virtio"))
	r.must(r.w.Load(r.ctx))
	if c := r.w.Options().WriteCache; c != CacheKeep {
		t.Fatalf("virtio default %s, want keep", c)
	}
	o := r.w.Options()
	o.WriteCache = CacheOn
	r.w.SetOptions(o)
	r.must(r.w.SetDriverSource(SetOracle, "/srv/oracle"))
	r.must(r.w.Load(r.ctx))
	if c := r.w.Options().WriteCache; c != CacheOn {
		t.Fatalf("user's choice overridden: %s", c)
	}
}

func TestDefaultOutputAndFormat(t *testing.T) {
	cases := []struct{ src, format, want string }{
		{"/v/win.qcow2", "qcow2", "/v/win-pv.qcow2"},
		{"/v/win.vhdx", "raw", "/v/win-pv.img"},
		{"/v/win.img", "raw", "/v/win-pv.img"},
		{"/v/disk", "vmdk", "/v/disk-pv.vmdk"},
	}
	for _, c := range cases {
		if got := DefaultOutput(c.src, c.format); got != c.want {
			t.Errorf("DefaultOutput(%q, %q) = %q, want %q", c.src, c.format, got, c.want)
		}
	}
	for name, want := range map[string]string{"a.VHD": "vhd", "b.qcow2": "qcow2", "c.vmdk": "vmdk", "d.img": "raw", "e.iso": ""} {
		if got := FormatFromExt(name); got != want {
			t.Errorf("FormatFromExt(%q) = %q, want %q", name, got, want)
		}
	}
}
