package inject

import (
	"slices"
	"testing"
)

// TestExpandIDs: every PCI hardware id form is bound (Xen's xenbus binds
// VEN/DEV alone), SUBSYS+REV ids also get virt-v2v's form without SUBSYS,
// and class-code ids, which would claim every controller of a class, never.
func TestExpandIDs(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want []string
	}{
		{[]string{`PCI\VEN_5853&DEV_0001`}, []string{`PCI\VEN_5853&DEV_0001`}},
		{[]string{`pci\ven_1af4&dev_1001&subsys_00021af4&rev_00`},
			[]string{`PCI\VEN_1AF4&DEV_1001&REV_00`, `PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4&REV_00`}},
		{[]string{`PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4`}, []string{`PCI\VEN_1AF4&DEV_1001&SUBSYS_00021AF4`}},
		{[]string{`XENBUS\VEN_XP0001&DEV_VBD&REV_08000009`}, []string{`XENBUS\VEN_XP0001&DEV_VBD&REV_08000009`}},
		{[]string{`PCI\CC_010000`, `PCI\VEN_8086&CC_0101`, `no-backslash`}, []string{}},
	} {
		if got := expandIDs(c.in); !slices.Equal(got, c.want) {
			t.Errorf("expandIDs(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
