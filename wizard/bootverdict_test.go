package wizard

import (
	"strings"
	"testing"
)

// The last page and every form of the wizard's report lead with the boot
// check's verdict; "Done. Start the VM" only when Windows will boot.
func TestDoneOnlyWhenItBoots(t *testing.T) {
	base := Report{Image: "/vm/out.qcow2", Verify: Verification{OK: true, Checked: 12},
		Findings: []Finding{{Severity: Warning, Code: "drivers.catalog.missing", Message: "viostor is not signed"}},
		Consents: []string{"You allowed unsigned drivers: 64-bit Windows loads an unsigned boot driver only with test signing on."}}

	red := base
	red.Boot = BootVerdict{Checked: true, Summary: []string{"Windows will NOT boot with its disk on virtio-blk (VirtIO block): viostor.sys is not signed."}}
	if red.Boots() || strings.Contains(red.DoneText(), "Done") || !strings.Contains(red.DoneText(), "will NOT boot") {
		t.Errorf("red verdict: %q", red.DoneText())
	}
	text := ReportText(red)
	first := strings.Index(text, "will NOT boot")
	files := strings.Index(text, "Files (")
	if first < 0 || files < 0 || first > files || !strings.Contains(text[:files], "Accepted risk: You allowed unsigned") ||
		!strings.Contains(text[:files], "Warning: viostor is not signed") {
		t.Errorf("the report does not lead with the verdict, warnings and consents:\n%s", text)
	}

	unchecked := base
	if unchecked.Boots() || strings.Contains(unchecked.DoneText(), "Done") {
		t.Errorf("no boot check: %q", unchecked.DoneText())
	}

	green := base
	green.Boot = BootVerdict{Checked: true, OK: true}
	if !green.Boots() || !strings.HasPrefix(green.DoneText(), "Done. Start the VM") {
		t.Errorf("green: %q", green.DoneText())
	}
	bad := green
	bad.Verify.OK = false
	if bad.Boots() || strings.Contains(bad.DoneText(), "Done") {
		t.Errorf("verification failed: %q", bad.DoneText())
	}
}
