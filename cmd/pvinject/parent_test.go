package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

// TestParentMissing: a differencing disk copied without its parent (the
// usual first try with a qcow2 overlay or a Hyper-V checkpoint) is refused
// by every command in one line that names the disk whose parent is missing,
// the parent it asks for and what to do, without the format layers' chain;
// nothing is created. Opened through a child of its own, the disk is named
// after the path the user gave. Qemu-img builds the chains: top.qcow2 -> mid.qcow2 ->
// base.raw, then base.raw is left out.
func TestParentMissing(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	_, drivers := testenv.Demo(t)
	dir := t.TempDir()
	qcow := func(name, parent, parentFmt string) string {
		p := filepath.Join(dir, name)
		// -u: qemu-img must not open the parent, which is never made.
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", parent, "-F", parentFmt, p, "64M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img create %s: %v\n%s", name, err, out)
		}
		return p
	}
	mid := qcow("mid.qcow2", "base.raw", "raw")
	top := qcow("top.qcow2", "mid.qcow2", "qcow2")
	before := dirNames(t, dir)
	out := filepath.Join(t.TempDir(), "out.qcow2")
	for _, im := range []struct{ path, child string }{{mid, mid}, {top, mid}} {
		for _, args := range [][]string{
			{"inspect", im.path},
			{"inspect", "--json", im.path},
			{"inject", "--drivers", drivers, "--in-place", im.path},
			{"inject", "--drivers", drivers, "--output", out, im.path},
		} {
			r := cli(t, args...)
			if r.code == exitOK {
				t.Fatalf("pvinject %v accepted a disk without its parent: %v", args, r)
			}
			wantOneLine(t, r, im.child+": it is a differencing disk", `its parent image "base.raw" is not here`,
				"looked for "+filepath.Join(dir, "base.raw")+")", "Copy the parent image into the same folder")
			for _, internal := range []string{" qcow2: ", "backing file", "image: ", "not a readable"} {
				if strings.Contains(r.stderr, internal) {
					t.Errorf("pvinject %v: %q shows the internal %q", args, r.stderr, internal)
				}
			}
		}
	}
	if after := dirNames(t, dir); before != after {
		t.Errorf("the folder changed: %v, then %v", before, after)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("%s was created", out)
	}
}
