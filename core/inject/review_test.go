package inject

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Issue 10, first path: the 2009 viostor INF (models for x86 and amd64, so
// no single decoration) with a .sys whose header cannot be read gets no
// architecture, so no service; it used to be staged silently and the guest
// stopped at 0x7B. It is now a blocker naming the reason.
func TestStorageWithoutArchIsBlocker(t *testing.T) {
	dir := fixture(t)
	src := t.TempDir()
	testenv.CopyFile(t, testenv.CorpusFile(t, "inf/virtio-win-built/viostor_wlh_2009.inf"), filepath.Join(src, "viostor.inf"))
	if err := os.WriteFile(filepath.Join(src, "viostor.sys"), append([]byte("MZ"), make([]byte, 510)...), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := BuildPlan(context.Background(), nil, Request{Image: filepath.Join(dir, "disks", "7-sp0-x86.raw"), Drivers: src,
		Output: filepath.Join(t.TempDir(), "out.qcow2")})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range p.Blockers {
		if b.Code == CodeStorageUnusable && strings.Contains(b.Message, "architecture cannot be determined") &&
			strings.Contains(b.Message, "viostor.sys") && strings.Contains(b.Message, "0x7B") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no storage blocker: %+v", p.Blockers)
	}
	js, err := json.Marshal(p.Report())
	if err != nil || !strings.Contains(string(js), CodeStorageUnusable) {
		t.Errorf("the JSON report lacks the blocker: %v", err)
	}
	if !strings.Contains(p.Report().Text(), "BLOCKER "+CodeStorageUnusable) {
		t.Error("the text report lacks the blocker")
	}
}

// Issue 10, second path: NetKVM whose INF names a file the source lacks is
// not used, and the plan says so (a warning that the VM will have no
// network, and the package listed as not used with why).
func TestIncompleteNICDriverIsSaid(t *testing.T) {
	dir := fixture(t)
	src := t.TempDir()
	vt := filepath.Join(dir, "drivers", "virtio-tree")
	for _, f := range []string{"viostor.inf", "viostor.sys", "viostor.cat"} {
		testenv.CopyFile(t, filepath.Join(vt, "viostor", "w7", "x86", f), filepath.Join(src, f))
	}
	for _, f := range []string{"netkvm.inf", "netkvm.cat"} { // netkvm.sys left out
		testenv.CopyFile(t, filepath.Join(vt, "NetKVM", "w7", "x86", f), filepath.Join(src, f))
	}
	p, err := BuildPlan(context.Background(), nil, Request{Image: filepath.Join(dir, "disks", "7-sp0-x86.raw"), Drivers: src,
		Output: filepath.Join(t.TempDir(), "out.qcow2")})
	if err != nil {
		t.Fatal(err)
	}
	for _, pk := range p.Packages {
		if pk.Name == "netkvm" {
			t.Fatalf("netkvm planned without its driver file: %+v", pk)
		}
	}
	warned := false
	for _, w := range p.Warnings {
		warned = warned || w.Code == CodeNICDropped && strings.Contains(w.Message, "no network")
	}
	listed := false
	for _, r := range p.Rejected {
		listed = listed || r.Name == "netkvm" && strings.Contains(r.Reason, "netkvm.sys")
	}
	if !warned || !listed {
		t.Fatalf("warning %v, listed %v: %+v %+v", warned, listed, p.Warnings, p.Rejected)
	}
	html, err := p.Report().HTML()
	if err != nil || !strings.Contains(string(html), "Packages not used") || !strings.Contains(string(html), "no network") {
		t.Errorf("the HTML report lacks the unused package or the warning: %v", err)
	}
}

// Issue 10, third path: "Allow unsigned" on 64-bit Windows. The consent is
// at the top of every report, and the boot check on the written image says
// Windows will not boot (no signature, test signing not on), so the report
// does not end green.
func TestAllowUnsignedIsNotGreen(t *testing.T) {
	dir := fixture(t)
	src := t.TempDir()
	testenv.CopyFile(t, filepath.Join(dir, "drivers", "virtio-tree", "viostor", "w10", "amd64", "viostor.inf"), filepath.Join(src, "viostor.inf"))
	// An amd64 PE with no signature and no catalog: the guest tree's cmd.exe stand-in.
	testenv.CopyFile(t, filepath.Join(dir, "guests", "trees", "11-x64", "Windows", "System32", "cmd.exe"), filepath.Join(src, "viostor.sys"))
	out := filepath.Join(t.TempDir(), "out.qcow2")
	p, err := BuildPlan(context.Background(), nil, Request{Image: filepath.Join(dir, "disks", "11-x64.raw"), Drivers: src,
		Output: out, AllowUnsigned: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.HasBlockers() {
		t.Fatalf("blockers: %+v", p.Blockers)
	}
	if len(p.Consents()) == 0 {
		t.Fatal("no consent recorded")
	}
	rep, err := Apply(context.Background(), p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Verify.OK || rep.Boot.Boots() || !rep.Boot.Checked {
		t.Fatalf("verify %+v boot %+v", rep.Verify, rep.Boot)
	}
	if !strings.Contains(strings.Join(rep.Boot.Summary, " "), "is not signed") {
		t.Errorf("boot summary: %q", rep.Boot.Summary)
	}
	text := rep.Text()
	head := text[:min(len(text), 2000)]
	if !strings.Contains(head, "WINDOWS WILL NOT BOOT") || !strings.Contains(head, "accepted risk: You allowed unsigned drivers") {
		t.Errorf("the report does not start with the verdict and the consent:\n%s", head)
	}
	html, err := os.ReadFile(out + ReportHTMLSuffix)
	if err != nil || !strings.Contains(string(html), "Windows will NOT boot") || !strings.Contains(string(html), "Risks you accepted") {
		t.Errorf("HTML beside the image: %v", err)
	}
	js, err := os.ReadFile(out + ReportSuffix)
	var saved Report
	if err != nil || json.Unmarshal(js, &saved) != nil || saved.Boot.OK || !saved.Boot.Checked {
		t.Errorf("JSON beside the image: %v %+v", err, saved.Boot)
	}
	if saved.Attention.Boots || len(saved.Attention.Consents) == 0 || len(saved.Attention.Warnings) == 0 || len(saved.Attention.Boot) == 0 {
		t.Errorf("the JSON's attention block: %+v", saved.Attention)
	}
	if i := strings.Index(string(js), `"attention"`); i < 0 || i > strings.Index(string(js), `"plan"`) {
		t.Error("attention is not at the top of the JSON")
	}
}
