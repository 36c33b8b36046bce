//go:build cgo

package matrix

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestSyntheticGuests runs detection on the guests scripts/fixtures/guests.sh
// builds (hives written by hivexregedit, PE stand-ins by python) and checks
// every set's verdict, end to end.
func TestSyntheticGuests(t *testing.T) {
	trees := filepath.Join(testenv.Fixture(t, "guests"), "trees")
	sets, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	// Verdicts per guest: oracle 3.2.3, 3.2.2, 3.0.1, virtio-win, xcp-ng;
	// S supported, W with warnings, U unsupported.
	want := map[string]string{
		"xp-sp2-x86":          "UUUWU",
		"xp-sp3-x86":          "UUUWU",
		"xp-x64":              "UUUWU",
		"2k3-sp2-amd64":       "UUUWU",
		"2k3r2-sp2-x86":       "WWWWU",
		"vista-sp1-x86":       "UUUWU",
		"vista-sp2-amd64":     "WWWWU",
		"2k8-sp2-x86":         "WWWWU",
		"2k8r2-sp0":           "UUUWU",
		"2k8r2-sp1":           "SWWWU",
		"7-sp0-x86":           "UUUWU",
		"7-sp1-x86-oracle322": "WWWWU",
		"7-sp1-x64-policy":    "WWWWU",
		"7-sp1-x64-gplpv":     "SWWWU",
		"8-x64":               "WWUSU",
		"8.1-x86":             "WWUSU",
		"2k12-x64":            "SWUSU",
		"2k12r2-x64":          "SWUSU",
		"10-x64-virtio":       "UUUWW",
		"10-x86":              "UUUSU",
		"11-x64":              "UUUSS",
		"11-arm64":            "UUUWU",
		"2k16":                "UUUSS",
		"2k19-core":           "UUUSS",
		"2k19-vmware":         "UUUSS",
		"10-x64-parallels":    "UUUSS",
		"2k22":                "UUUSS",
		"2k25":                "UUUSS",
		"arch-mismatch":       "UUUSS",
		"bad-cmd":             "UUUUU",
		"no-software":         "UUUUU",
		"garbage-software":    "UUUUU",
	}
	order := []string{"oracle-pv-3.2.3", "oracle-pv-3.2.2", "oracle-pv-3.0.1", "virtio-win", "xcp-ng-winpv"}
	letter := map[string]byte{Supported: 'S', SupportedWithWarnings: 'W', Unsupported: 'U'}
	for name, w := range want {
		ws, err := guest.Detect(guest.DirFS(filepath.Join(trees, name)), guest.OpenHive)
		if err != nil || len(ws) != 1 {
			t.Errorf("%s: %v", name, err)
			continue
		}
		byID := map[string]Verdict{}
		for _, v := range EvaluateAll(sets, ws[0]) {
			byID[v.DriverSet] = v
		}
		var got strings.Builder
		for _, id := range order {
			got.WriteByte(letter[byID[id].Verdict])
		}
		if got.String() != w {
			var why []string
			for _, id := range order {
				for _, r := range byID[id].Reasons {
					why = append(why, id+": "+r.Message)
				}
			}
			t.Errorf("%s: got %s, want %s\n%s", name, got.String(), w, strings.Join(why, "\n"))
		}
	}
	// The reasons the issue asks for, from detected guests.
	for _, tc := range []struct{ guest, set, text string }{
		{"7-sp0-x86", "oracle-pv-3.2.3", "Windows 7 without SP1: install SP1 first"},
		{"2k8r2-sp0", "oracle-pv-3.2.3", "Windows Server 2008 R2 without SP1: install SP1 first"},
		{"vista-sp1-x86", "oracle-pv-3.2.3", "Windows Vista without SP2: install SP2 first"},
		{"7-sp1-x86-oracle322", "oracle-pv-3.2.3", "32-bit: these drivers are unsigned"},
		{"7-sp1-x86-oracle322", "oracle-pv-3.2.3", "upgrading from 3.2.2 on 32-bit: uninstall 3.2.2 first"},
		{"7-sp1-x64-policy", "oracle-pv-3.2.3", "device installation is restricted by policy"},
		{"10-x64-virtio", "virtio-win", "Fast Startup is on"},
		{"10-x64-virtio", "xcp-ng-winpv", "reboot pending"},
		{"11-arm64", "virtio-win", "ARM64 drivers are released for the community without upstream testing"},
		{"2k3r2-sp2-x86", "oracle-pv-3.2.3", "Found New Hardware"},
		{"7-sp1-x64-gplpv", "xcp-ng-winpv", "(found: xenvbd, xenpci)"},
	} {
		ws, err := guest.Detect(guest.DirFS(filepath.Join(trees, tc.guest)), guest.OpenHive)
		if err != nil {
			t.Fatal(err)
		}
		var set Set
		for _, s := range sets {
			if s.ID == tc.set {
				set = s
			}
		}
		v := Evaluate(set, ws[0])
		found := false
		for _, r := range v.Reasons {
			found = found || strings.Contains(r.Message, tc.text)
		}
		if !found {
			t.Errorf("%s / %s: no reason %q in %+v", tc.guest, tc.set, tc.text, v.Reasons)
		}
	}
}
