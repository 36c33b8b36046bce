package drivers_test

import (
	"testing"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/safety"
)

func TestSignatureFindings(t *testing.T) {
	s := openFixture(t, "folder")
	codes := func(fs []safety.Finding) map[string]safety.Finding {
		m := map[string]safety.Finding{}
		for _, f := range fs {
			for _, p := range s.Packages {
				if p.Name != "" && containsWord(f.Message, p.Name) {
					m[p.Name] = f
				}
			}
		}
		return m
	}
	var pkgs []*drivers.Package
	pkgs = append(pkgs, s.Packages...)
	for _, c := range []struct {
		arch  inf.Arch
		allow bool
		sev   safety.Severity
	}{
		{inf.ArchAMD64, false, safety.Blocker},
		{inf.ArchARM64, false, safety.Blocker},
		{inf.ArchAMD64, true, safety.Warning},
		{inf.ArchX86, false, safety.Warning},
	} {
		got := codes(drivers.SignatureFindings(pkgs, c.arch, c.allow))
		want := map[string]string{"nocat": drivers.CodeCatalogMissing, "nosigner": drivers.CodeCatalogInvalid, "garbage": drivers.CodeCatalogInvalid}
		if len(got) != len(want) {
			t.Errorf("%s allow=%v: findings for %v", c.arch, c.allow, got)
		}
		for name, code := range want {
			f, ok := got[name]
			if !ok || f.Code != code || f.Severity != c.sev || f.Remedy == "" {
				t.Errorf("%s allow=%v %s: %+v", c.arch, c.allow, name, f)
			}
		}
	}
}

func containsWord(s, w string) bool {
	return len(s) >= len(w) && s[:len(w)] == w
}
