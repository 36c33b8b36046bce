//go:build linux

package engine

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

// TestOpenParentMissing: step 1 given a differencing disk whose parent is
// missing, outside the disk's folder or a FIFO says so in a sentence that
// names the parent and what to do. It used to show only the innermost
// cause, "image: parent image not found", naming neither.
func TestOpenParentMissing(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	dir := t.TempDir()
	qcow := func(name, parent string) string {
		p := filepath.Join(dir, name)
		// -u: qemu-img must not open the parent.
		if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", parent, "-F", "raw", p, "64M").CombinedOutput(); err != nil {
			t.Fatalf("qemu-img create %s: %v\n%s", name, err, out)
		}
		return p
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.raw"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want []string
	}{
		{qcow("missing.qcow2", "gone.raw"), []string{"missing.qcow2: it is a differencing disk", `its parent image "gone.raw" is not here`, "Copy the parent image into the same folder"}},
		{qcow("outside.qcow2", "/etc/passwd"), []string{"names /etc/passwd as its parent", "outside the image's folder", "Move the parent image into the same folder as the disk"}},
		{qcow("fifo.qcow2", "pipe.raw"), []string{"fifo.qcow2: it is a differencing disk whose parent image " + filepath.Join(dir, "pipe.raw") + " is not usable: it is a FIFO (named pipe), not a disk image file"}},
	} {
		e := New(nil)
		_, err := e.OpenImage(context.Background(), c.path)
		e.Close()
		if err == nil {
			t.Fatalf("OpenImage(%s) accepted a disk without its parent", c.path)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("OpenImage(%s) = %q, want it to say %q", filepath.Base(c.path), err, w)
			}
		}
		if strings.Contains(err.Error(), "image: ") {
			t.Errorf("OpenImage(%s) = %q shows a package prefix", filepath.Base(c.path), err)
		}
	}
}
