package inject

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Issue 11: a virtio-win source without NetKVM plans the storage drivers
// and warns, in the plan and in the report, that the VM will have no
// network; the complete source does not.
func TestMissingNICDriverIsSaid(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(t.TempDir(), "virtio-win")
	if out, err := exec.Command("cp", "-r", filepath.Join(dir, "drivers", "virtio-tree"), src).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	plan := func() *Plan {
		t.Helper()
		p, err := BuildPlan(context.Background(), nil, Request{Image: filepath.Join(dir, "disks", "11-x64.raw"), Drivers: src,
			Output: filepath.Join(t.TempDir(), "out.qcow2")})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	warned := func(p *Plan) bool {
		for _, w := range p.Warnings {
			if w.Code == CodeNoNIC && strings.Contains(w.Message, "NetKVM") && strings.Contains(w.Message, "no network") {
				return true
			}
		}
		return false
	}
	if p := plan(); warned(p) {
		t.Fatalf("the complete source warns of no NIC driver: %+v", p.Warnings)
	}
	if err := os.RemoveAll(filepath.Join(src, "NetKVM")); err != nil {
		t.Fatal(err)
	}
	p := plan()
	if len(p.Blockers) > 0 || len(p.Packages) == 0 || !warned(p) {
		t.Fatalf("without NetKVM: blockers %+v, %d packages, warnings %+v", p.Blockers, len(p.Packages), p.Warnings)
	}
	html, err := p.Report().HTML()
	if err != nil || !strings.Contains(string(html), "No network driver in this driver source") {
		t.Errorf("the HTML report lacks the warning: %v", err)
	}
}
