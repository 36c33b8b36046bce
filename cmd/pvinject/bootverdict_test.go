package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/internal/testenv"
)

// The three paths of issue 10 on the command line: each ends as a blocker
// (exit 3) or a red verdict (exit 1), and the JSON says so.
func TestIssue10PathsCLI(t *testing.T) {
	dir := injectFixture(t)

	// 1. A storage package whose .sys header cannot be read: refused.
	src := t.TempDir()
	testenv.CopyFile(t, testenv.CorpusFile(t, "inf/virtio-win-built/viostor_wlh_2009.inf"), filepath.Join(src, "viostor.inf"))
	if err := os.WriteFile(filepath.Join(src, "viostor.sys"), append([]byte("MZ"), make([]byte, 510)...), 0o644); err != nil {
		t.Fatal(err)
	}
	r := cli(t, "inject", "--drivers", src, "--output", filepath.Join(t.TempDir(), "o.qcow2"), filepath.Join(dir, "disks", "7-sp0-x86.raw"))
	if r.code != exitRefused || !strings.Contains(r.stderr, "cannot be set up for boot") {
		t.Errorf("unreadable storage driver: %s", r)
	}
	r = cli(t, "inject", "--dry-run", "--json", "--drivers", src, "--output", filepath.Join(t.TempDir(), "o.qcow2"), filepath.Join(dir, "disks", "7-sp0-x86.raw"))
	if r.code != exitRefused || !strings.Contains(r.stdout, `"inject.storage-package-unusable"`) {
		t.Errorf("dry-run JSON: %s", r)
	}

	// 2. NetKVM whose INF names a missing file: said in the plan.
	src2 := t.TempDir()
	vt := filepath.Join(dir, "drivers", "virtio-tree")
	for _, f := range []string{"viostor.inf", "viostor.sys", "viostor.cat"} {
		testenv.CopyFile(t, filepath.Join(vt, "viostor", "w7", "x86", f), filepath.Join(src2, f))
	}
	for _, f := range []string{"netkvm.inf", "netkvm.cat"} {
		testenv.CopyFile(t, filepath.Join(vt, "NetKVM", "w7", "x86", f), filepath.Join(src2, f))
	}
	r = cli(t, "inject", "--dry-run", "--drivers", src2, "--output", filepath.Join(t.TempDir(), "o.qcow2"), filepath.Join(dir, "disks", "7-sp0-x86.raw"))
	if !strings.Contains(r.stdout, "no network") || !strings.Contains(r.stdout, "not used, not used: files its INF names are missing") {
		t.Errorf("incomplete NetKVM: %s", r)
	}

	// 3. Allow unsigned on x64: written, verified, but the boot check is
	// red: exit 1, the reasons on stderr, the JSON's boot.ok false, and
	// the journal kept for rollback.
	src3 := t.TempDir()
	testenv.CopyFile(t, filepath.Join(vt, "viostor", "w10", "amd64", "viostor.inf"), filepath.Join(src3, "viostor.inf"))
	testenv.CopyFile(t, filepath.Join(dir, "guests", "trees", "11-x64", "Windows", "System32", "cmd.exe"), filepath.Join(src3, "viostor.sys"))
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "11-x64.raw"), t.TempDir())
	r = cli(t, "inject", "--json", "--allow-unsigned", "--in-place", "--drivers", src3, img)
	if r.code != exitError || !strings.Contains(r.stderr, "Windows will not boot") || !strings.Contains(r.stderr, "is not signed") ||
		!strings.Contains(r.stderr, "pvinject rollback") {
		t.Fatalf("allow-unsigned: %s", r)
	}
	var rep struct {
		Boot struct {
			Checked, OK bool
		} `json:"boot"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || !rep.Boot.Checked || rep.Boot.OK {
		t.Errorf("JSON boot: %+v %v", rep.Boot, err)
	}
	if rb := cli(t, "rollback", img); rb.code != exitOK {
		t.Errorf("rollback after a red verdict: %s", rb)
	}
}

// `pvinject inspect` shows the boot readiness of any image.
func TestInspectBootReadiness(t *testing.T) {
	dir := injectFixture(t)
	r := cli(t, "inspect", filepath.Join(dir, "disks", "10-x64-virtio.raw"))
	if r.code != exitOK || !strings.Contains(r.stdout, "Boot readiness") || !strings.Contains(r.stdout, "virtio-blk (VirtIO block):") {
		t.Fatalf("%s", r)
	}
	r = cli(t, "inspect", "--json", filepath.Join(dir, "disks", "10-x64-virtio.raw"))
	var doc struct {
		BootReadiness []struct {
			Bus   string `json:"bus"`
			Boots bool   `json:"boots"`
		} `json:"boot_readiness"`
		Network struct {
			NICs []json.RawMessage `json:"nics"`
		} `json:"network"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || len(doc.BootReadiness) != 5 || len(doc.Network.NICs) != 2 {
		t.Fatalf("%v %+v", err, doc)
	}
}

// A batch image written and verified but judged not to boot is not "ok":
// its row says so and the batch exits 1.
func TestBatchNotBootable(t *testing.T) {
	dir := t.TempDir()
	images := []string{filepath.Join(dir, "vm1.img"), filepath.Join(dir, "vm2.img")}
	answers := writeAnswers(t, dir, `{"version": 1, "drivers": "/d", "set": "auto", "output": "{dir}/{name}.out.qcow2"}`)
	stubInjectOne(t, func(_ context.Context, req inject.Request) error {
		if filepath.Base(req.Image) == "vm2.img" {
			return fmt.Errorf("%s: the changes were written and read back, but Windows %w: viostor.sys is not signed", req.Output, errNotBootable)
		}
		return nil
	})
	r := cli(t, append([]string{"batch", "--answers", answers}, images...)...)
	if r.code != exitError || !strings.Contains(r.stdout, "1 written but will not boot") {
		t.Fatalf("%s", r)
	}
	for _, l := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(l); len(f) > 1 && strings.HasSuffix(f[0], "vm2.img") && f[1] != statusNotBootable ||
			len(f) > 1 && strings.HasSuffix(f[0], "vm1.img") && f[1] != "ok" {
			t.Errorf("row %q", l)
		}
	}
}
