package inject

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzRegistryStrings feeds the helpers that take strings read from guest
// hives and INFs (hardware ids, UninstallString) with arbitrary input: they
// must not panic, and their output must stay a single line that the
// first-boot runner accepts.
func FuzzRegistryStrings(f *testing.F) {
	for _, s := range []string{`PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00`, `XENBUS\VEN_XS0001&DEV_VBD&REV_08000009`,
		`MsiExec.exe /I{F1A0E5A4-0000-4000-8000-0000000000322}`, `C:\Program Files\Red Hat\uninst.exe`, "", "\x00\r\n&&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, id := range expandIDs([]string{s, strings.ToLower(s)}) {
			if id != strings.ToUpper(id) {
				t.Fatalf("id %q not upper case", id)
			}
		}
		u := silentUninstall(s)
		if strings.ContainsAny(u, "\r\n") {
			t.Fatalf("uninstall line %q spans lines", u)
		}
		_ = safeMatch(s)
	})
}

// FuzzLoadReport: a report beside an image is a file anyone may have
// edited; loading it must fail cleanly, never panic.
func FuzzLoadReport(f *testing.F) {
	seed, _ := json.Marshal(&Report{Plan: &Plan{Version: PlanVersion, Files: []FileOp{{Path: `Windows\x`, SHA256: "00"}}}})
	f.Add(seed)
	f.Add([]byte(`{"plan":null}`))
	f.Add([]byte(`{"plan":{"registry":[{"new":{"type":4,"data":"AAAAAA=="}}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(t.TempDir(), "img")
		if err := os.WriteFile(p+ReportSuffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := LoadReport(p)
		if err == nil && r.Plan == nil {
			t.Fatal("report without a plan accepted")
		}
		if err == nil {
			_ = newReport(r.Plan).Text()
		}
	})
}
