package guest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

func TestPEArch(t *testing.T) {
	dir := filepath.Join(testenv.Fixture(t, "guests"), "pe")
	for file, want := range map[string]Arch{"cmd-x86.exe": ArchX86, "cmd-amd64.exe": ArchAMD64, "cmd-arm64.exe": ArchARM64} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := peArch(b); err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", file, got, err, want)
		}
	}
	if _, err := peArch([]byte("MZ not really")); err == nil {
		t.Error("a truncated PE gave no error")
	}
}

func TestPEVersionInfo(t *testing.T) {
	dir := filepath.Join(testenv.Fixture(t, "guests"), "pe")
	for _, tc := range []struct{ file, version, company string }{
		{"viostor.sys", "100.85.104.20800", "Red Hat, Inc."},
		{"xenvbd-x86.sys", "8.2.1.104", "Oracle Corporation"},
	} {
		b, err := os.ReadFile(filepath.Join(dir, tc.file))
		if err != nil {
			t.Fatal(err)
		}
		vi, err := PEVersionInfo(b)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if vi.FileVersion != tc.version || vi.Strings["CompanyName"] != tc.company || vi.Strings["FileVersion"] != tc.version {
			t.Errorf("%s: got %+v; want version %s company %q", tc.file, vi, tc.version, tc.company)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "cmd-x86.exe"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PEVersionInfo(b); !errors.Is(err, ErrNoVersionInfo) {
		t.Errorf("a PE without resources: got %v, want ErrNoVersionInfo", err)
	}
}

func TestParseVersionInfoCorrupt(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.Fixture(t, "guests"), "pe", "viostor.sys"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PEVersionInfo(b); err != nil {
		t.Fatal(err)
	}
	// The resource starts at file offset 0x200 + 0x58 (see guests.sh).
	const at = 0x258
	for _, tc := range []struct {
		name string
		edit func([]byte)
	}{
		{"wLength past the data", func(c []byte) { c[at], c[at+1] = 0xff, 0xff }},
		{"wLength below the header", func(c []byte) { c[at], c[at+1] = 2, 0 }},
		{"wrong root key", func(c []byte) { c[at+6] = 'X' }},
		{"data entry size huge", func(c []byte) { c[0x200+0x48+4], c[0x200+0x48+5], c[0x200+0x48+6] = 0xff, 0xff, 0xff }},
		{"resource directory count huge", func(c []byte) { c[0x200+14], c[0x200+15] = 0xff, 0xff }},
	} {
		c := append([]byte(nil), b...)
		tc.edit(c)
		if _, err := PEVersionInfo(c); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func FuzzPEVersionInfo(f *testing.F) {
	dir := filepath.Join(testenv.Fixture(f, "guests"), "pe")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		vi, err := PEVersionInfo(b)
		if err == nil && len(vi.Strings) > maxVerStrings {
			t.Fatalf("%d strings", len(vi.Strings))
		}
		_, _ = peArch(b)
	})
}

func FuzzParseVersionInfo(f *testing.F) {
	b, err := os.ReadFile(filepath.Join(testenv.Fixture(f, "guests"), "pe", "viostor.sys"))
	if err == nil && len(b) > 0x258 {
		f.Add(b[0x258:])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseVersionInfo(b)
	})
}
