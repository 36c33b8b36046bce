package matrix

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pvinject/pvinject/core/guest"
)

func builtin(t *testing.T) map[string]Set {
	t.Helper()
	sets, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]Set{}
	for _, s := range sets {
		m[s.ID] = s
	}
	for _, id := range []string{"oracle-pv-3.2.3", "oracle-pv-3.2.2", "oracle-pv-3.0.1", "virtio-win", "xcp-ng-winpv"} {
		if _, ok := m[id]; !ok {
			t.Fatalf("set %s missing", id)
		}
	}
	return m
}

// typicalBuild is a real build of each OS, so rows without min_build get a
// plausible guest.
var typicalBuild = map[string]int{
	"winxp": 2600, "win2k3": 3790, "win2k3r2": 3790, "winvista": 6002, "win2k8": 6002, "win7": 7601,
	"win2k8r2": 7601, "win8": 9200, "win2k12": 9200, "win8.1": 9600, "win2k12r2": 9600, "win10": 19045,
	"win2k16": 14393, "win2k19": 17763, "win2k22": 20348, "win2k25": 26100, "win11": 22631,
}

func hasReason(v Verdict, sev, substr string) bool {
	for _, r := range v.Reasons {
		if r.Severity == sev && strings.Contains(r.Message, substr) && r.Source != "" {
			return true
		}
	}
	return false
}

// TestEveryRow evaluates a guest built from each row of every matrix: at
// the row's minimums it gets the row's status; one service pack or build
// below, it is refused with a reason naming what to install.
func TestEveryRow(t *testing.T) {
	n := 0
	for _, s := range builtin(t) {
		for _, r := range s.Rows {
			n++
			w := guest.Windows{OSID: r.OS, Arch: r.Arch, ServicePack: r.MinSP, Build: max(r.MinBuild, typicalBuild[r.OS])}
			v := Evaluate(s, w)
			name := s.ID + " " + r.OS + "/" + string(r.Arch)
			if r.Status == StatusUnsupported {
				if v.Verdict != Unsupported || !strings.Contains(v.Reasons[0].Source, r.Source) {
					t.Errorf("%s: got %s %+v, want unsupported citing %q", name, v.Verdict, v.Reasons, r.Source)
				}
				continue
			}
			if v.Verdict == Unsupported || v.Dir != r.Dir {
				t.Errorf("%s: got %s dir %q %+v", name, v.Verdict, v.Dir, v.Reasons)
			}
			if len(r.Warnings) > 0 && v.Verdict != SupportedWithWarnings {
				t.Errorf("%s: row warnings not reported: %+v", name, v)
			}
			for _, rs := range v.Reasons {
				if rs.Source == "" || rs.Message == "" {
					t.Errorf("%s: reason without message or source: %+v", name, rs)
				}
			}
			if r.MinSP > 0 {
				w.ServicePack = r.MinSP - 1
				if v := Evaluate(s, w); v.Verdict != Unsupported || !hasReason(v, Unsupported, "install SP") {
					t.Errorf("%s below SP%d: got %s %+v", name, r.MinSP, v.Verdict, v.Reasons)
				}
			}
			if r.MinBuild > 0 {
				w.ServicePack, w.Build = r.MinSP, r.MinBuild-1
				if v := Evaluate(s, w); v.Verdict != Unsupported {
					t.Errorf("%s below build %d: got %s", name, r.MinBuild, v.Verdict)
				}
			}
		}
	}
	if n < 80 {
		t.Errorf("only %d rows in all matrices", n)
	}
}

// TestOracleTable12 is Table 1.2 of the Oracle guide, typed in by hand, so
// a wrong data file fails: "" means the cell is N/A (or the OS unlisted).
func TestOracleTable12(t *testing.T) {
	m := builtin(t)
	type cell struct {
		os     string
		sp     int
		x64    bool
		x86    bool
		in301  bool // supported before 3.2.2 (§2.2)
		signed bool // 64-bit signed per §1.4 (3.2.3)
	}
	table := []cell{
		{"win2k12r2", 0, true, false, false, true}, {"win2k12", 0, true, false, false, true},
		{"win2k8r2", 1, true, false, true, true}, {"win2k8", 2, true, true, true, true},
		{"win2k3r2", 2, true, true, true, false}, {"win8.1", 0, true, true, false, true},
		{"win8", 0, true, true, false, false}, {"win7", 1, true, true, true, true},
		{"winvista", 2, true, true, true, false},
		// Not in the table at all.
		{"winxp", 3, false, false, false, false}, {"win2k3", 2, false, false, false, false},
		{"win10", 0, false, false, false, false}, {"win2k16", 0, false, false, false, false},
		{"win11", 0, false, false, false, false},
	}
	for _, id := range []string{"oracle-pv-3.2.3", "oracle-pv-3.2.2", "oracle-pv-3.0.1"} {
		for _, c := range table {
			for _, a := range []guest.Arch{guest.ArchAMD64, guest.ArchX86} {
				ok := (a == guest.ArchAMD64 && c.x64) || (a == guest.ArchX86 && c.x86)
				if id == "oracle-pv-3.0.1" && !c.in301 {
					ok = false
				}
				v := Evaluate(m[id], guest.Windows{OSID: c.os, Arch: a, ServicePack: c.sp, Build: typicalBuild[c.os]})
				if (v.Verdict != Unsupported) != ok {
					t.Errorf("%s %s %s: got %s, want supported=%v (%+v)", id, c.os, a, v.Verdict, ok, v.Reasons)
				}
				if !ok {
					continue
				}
				unsigned := hasReason(v, "warning", "unsigned")
				if wantUnsigned := a == guest.ArchX86 || c.os == "win2k3r2"; unsigned != wantUnsigned {
					t.Errorf("%s %s %s: unsigned warning %v, want %v", id, c.os, a, unsigned, wantUnsigned)
				}
				if id == "oracle-pv-3.2.3" && a == guest.ArchAMD64 && c.os != "win2k3r2" {
					if hasReason(v, "warning", "does not say these drivers are signed") == c.signed {
						t.Errorf("%s %s amd64: signing per §1.4 should be %v: %+v", id, c.os, c.signed, v.Reasons)
					}
				}
			}
		}
	}
}

func TestVirtioDirs(t *testing.T) {
	s := builtin(t)["virtio-win"]
	for _, tc := range []struct {
		os   string
		arch guest.Arch
		dir  string // "" = unsupported
		warn bool
	}{
		{"winxp", guest.ArchX86, "xp", true}, {"win2k3r2", guest.ArchX86, "2k3", true},
		{"winvista", guest.ArchAMD64, "2k8", true}, {"win2k8", guest.ArchX86, "2k8", true},
		{"win7", guest.ArchX86, "w7", true}, {"win2k8r2", guest.ArchAMD64, "2k8R2", true},
		{"win2k8r2", guest.ArchX86, "", false}, {"win8", guest.ArchX86, "w8", false},
		{"win8.1", guest.ArchAMD64, "w8.1", false}, {"win2k12", guest.ArchAMD64, "2k12", false},
		{"win2k12r2", guest.ArchAMD64, "2k12R2", false}, {"win10", guest.ArchX86, "w10", false},
		{"win10", guest.ArchARM64, "w10", true}, {"win2k16", guest.ArchAMD64, "2k16", false},
		{"win2k19", guest.ArchAMD64, "2k19", false}, {"win2k22", guest.ArchAMD64, "2k22", false},
		{"win2k25", guest.ArchAMD64, "2k25", false}, {"win11", guest.ArchAMD64, "w11", false},
		{"win11", guest.ArchARM64, "w11", true}, {"win11", guest.ArchX86, "", false},
		{"win2k22", guest.ArchARM64, "", false},
	} {
		v := Evaluate(s, guest.Windows{OSID: tc.os, Arch: tc.arch, Build: typicalBuild[tc.os]})
		want := Supported
		switch {
		case tc.dir == "":
			want = Unsupported
		case tc.warn:
			want = SupportedWithWarnings
		}
		if v.Verdict != want || v.Dir != tc.dir {
			t.Errorf("%s %s: got %s dir %q, want %s %q", tc.os, tc.arch, v.Verdict, v.Dir, want, tc.dir)
		}
	}
}

func TestXCPng(t *testing.T) {
	s := builtin(t)["xcp-ng-winpv"]
	for _, tc := range []struct {
		os    string
		arch  guest.Arch
		build int
		want  string
	}{
		{"win10", guest.ArchAMD64, 14393, Supported}, {"win10", guest.ArchAMD64, 10586, Unsupported},
		{"win10", guest.ArchX86, 19045, Unsupported}, {"win11", guest.ArchAMD64, 22631, Supported},
		{"win2k16", guest.ArchAMD64, 14393, Supported}, {"win2k25", guest.ArchAMD64, 26100, Supported},
		{"win2k12r2", guest.ArchAMD64, 9600, Unsupported}, {"win7", guest.ArchAMD64, 7601, Unsupported},
		{"win11", guest.ArchARM64, 26100, Unsupported},
	} {
		if v := Evaluate(s, guest.Windows{OSID: tc.os, Arch: tc.arch, Build: tc.build}); v.Verdict != tc.want {
			t.Errorf("%s %s %d: got %s %+v", tc.os, tc.arch, tc.build, v.Verdict, v.Reasons)
		}
	}
	w := guest.Windows{OSID: "win2k19", Arch: guest.ArchAMD64, Build: 17763,
		PVDrivers: []guest.PVDriver{{Family: "xen", Service: "xenbus", Vendor: "Citrix Systems, Inc."}}}
	if v := Evaluate(s, w); v.Verdict != SupportedWithWarnings || !hasReason(v, "warning", "XenClean") {
		t.Errorf("existing Xen drivers: %+v", v)
	}
	if v := Evaluate(s, guest.Windows{OSID: "win2k19", Arch: guest.ArchAMD64, Build: 17763,
		PVDrivers: []guest.PVDriver{{Family: "hyperv", Service: "vmbus"}}}); v.Verdict != Supported {
		t.Errorf("in-box Hyper-V drivers must not conflict: %+v", v)
	}
}

// TestReasons checks the reasons the issue names, word for word where it
// gives them.
func TestReasons(t *testing.T) {
	m := builtin(t)
	for _, tc := range []struct {
		set     string
		w       guest.Windows
		verdict string
		sev     string
		text    string
		source  string
	}{
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win7", Arch: guest.ArchAMD64, ServicePack: 0, Build: 7600},
			Unsupported, Unsupported, "Windows 7 without SP1: install SP1 first", "Table 1.2"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win2k8r2", Arch: guest.ArchAMD64, Build: 7600},
			Unsupported, Unsupported, "Windows Server 2008 R2 without SP1: install SP1 first", "Table 1.2"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "winvista", Arch: guest.ArchX86, ServicePack: 1, Build: 6001},
			Unsupported, Unsupported, "Windows Vista without SP2: install SP2 first", "Table 1.2"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win7", Arch: guest.ArchX86, ServicePack: 1, Build: 7601},
			SupportedWithWarnings, "warning", "32-bit: these drivers are unsigned", "§4.1"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win7", Arch: guest.ArchX86, ServicePack: 1, Build: 7601,
			PVProducts: []guest.Product{{Family: "xen", Name: "Oracle VM Windows PV Drivers", Version: "3.2.2", Set: "oracle-pv-3.2.2"}}},
			SupportedWithWarnings, "warning", "upgrading from 3.2.2 on 32-bit: uninstall 3.2.2 first", "§4.2"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win7", Arch: guest.ArchAMD64, ServicePack: 1, Build: 7601, DeviceInstallRestrictions: []string{"DenyUnspecified"}},
			SupportedWithWarnings, "warning", "device installation is restricted by policy", "§3.1"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win8.1", Arch: guest.ArchAMD64, Build: 9600, FastStartup: true},
			SupportedWithWarnings, "warning", "Fast Startup is on", "Fast Startup"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win2k3r2", Arch: guest.ArchAMD64, ServicePack: 2, Build: 3790},
			SupportedWithWarnings, "warning", "Found New Hardware", "§4.4"},
		{"oracle-pv-3.0.1", guest.Windows{OSID: "win7", Arch: guest.ArchAMD64, ServicePack: 1, Build: 7601},
			SupportedWithWarnings, "warning", "KB2320550", "§4.5"},
		{"oracle-pv-3.0.1", guest.Windows{OSID: "win2k12", Arch: guest.ArchAMD64, Build: 9200},
			Unsupported, Unsupported, "came with release 3.2.2", "§2.2"},
		{"oracle-pv-3.2.2", guest.Windows{OSID: "win8", Arch: guest.ArchX86, Build: 9200},
			SupportedWithWarnings, "warning", "can crash 32-bit Windows", "§2.1"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win2k12r2", Arch: guest.ArchX86, Build: 9600},
			Unsupported, Unsupported, "N/A", "Table 1.2"},
		{"oracle-pv-3.2.3", guest.Windows{OSID: "win10", Arch: guest.ArchAMD64, Build: 19045},
			Unsupported, Unsupported, "not in the guide's list", "Table 1.2"},
		{"virtio-win", guest.Windows{}, Unsupported, Unsupported, "could not be detected", "virtio-win ISO directory layout"},
		{"virtio-win", guest.Windows{OSID: "win10", Arch: guest.ArchAMD64, Build: 19045, PendingReboot: []string{"x"}},
			SupportedWithWarnings, "warning", "reboot pending", "PendingFileRenameOperations"},
	} {
		v := Evaluate(m[tc.set], tc.w)
		ok := false
		for _, r := range v.Reasons {
			if r.Severity == tc.sev && strings.Contains(r.Message, tc.text) && strings.Contains(r.Source, tc.source) {
				ok = true
			}
		}
		if v.Verdict != tc.verdict || !ok {
			t.Errorf("%s %+v: got %s %+v; want %s with %q citing %q", tc.set, tc.w, v.Verdict, v.Reasons, tc.verdict, tc.text, tc.source)
		}
	}
	// 3.2.3 on 64-bit with 3.2.2 installed: §4.2 is about 32-bit only.
	v := Evaluate(m["oracle-pv-3.2.3"], guest.Windows{OSID: "win7", Arch: guest.ArchAMD64, ServicePack: 1, Build: 7601,
		PVProducts: []guest.Product{{Set: "oracle-pv-3.2.2", Family: "xen"}}})
	if hasReason(v, "warning", "uninstall 3.2.2") || v.Verdict != Supported {
		t.Errorf("64-bit upgrade: %+v", v)
	}
}

func TestLoadRejects(t *testing.T) {
	good := `{"id":"x","name":"X","family":"virtio","document":"d","unlisted":{"message":"m","source":"s"},
		"device_policy":{"message":"m","source":"s"},"rows":[{"os":"win10","arch":"amd64","status":"supported","source":"s"}]}`
	if _, err := Load(fstest.MapFS{"x.json": {Data: []byte(good)}}); err != nil {
		t.Fatalf("a valid set: %v", err)
	}
	for name, body := range map[string]string{
		"id mismatch":   strings.Replace(good, `"id":"x"`, `"id":"y"`, 1),
		"unknown os":    strings.Replace(good, `"win10"`, `"win95"`, 1),
		"unknown arch":  strings.Replace(good, `"amd64"`, `"ia64"`, 1),
		"no source":     strings.Replace(good, `"status":"supported","source":"s"`, `"status":"supported"`, 1),
		"bad status":    strings.Replace(good, `"supported"`, `"maybe"`, 1),
		"unknown field": strings.Replace(good, `"family"`, `"famly"`, 1),
		"not json":      "{",
		"duplicate row": strings.Replace(good, `"rows":[`, `"rows":[{"os":"win10","arch":"amd64","status":"supported","source":"s"},`, 1),
	} {
		if _, err := Load(fstest.MapFS{"x.json": {Data: []byte(body)}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
}

func TestSourcesNameTheirDocument(t *testing.T) {
	for _, s := range builtin(t) {
		w := guest.Windows{OSID: "win7", Arch: guest.ArchX86, Build: 7600, FastStartup: true,
			DeviceInstallRestrictions: []string{"DenyUnspecified"}, PendingReboot: []string{"x"}}
		for _, r := range Evaluate(s, w).Reasons {
			if strings.HasPrefix(r.Source, "§") || strings.HasPrefix(r.Source, "Table") {
				t.Errorf("%s: source %q names no document", s.ID, r.Source)
			}
			shared := r.Guest || strings.HasPrefix(r.Source, "injection-facts.md")
			oracle := strings.HasPrefix(r.Source, "Oracle VM Paravirtual Drivers")
			if strings.Contains(r.Source, s.Document+" injection-facts") ||
				(!shared && oracle != strings.HasPrefix(s.ID, "oracle")) {
				t.Errorf("%s: source %q attributed to the wrong document", s.ID, r.Source)
			}
		}
	}
}
