//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
	"github.com/pvinject/pvinject/wizard"
	"github.com/pvinject/pvinject/wizard/engine"
)

// smallDisk mounts a tmpfs of size bytes (a real file system that runs
// out of space, not a simulated error) and returns its folder.
func smallDisk(t *testing.T, size int64) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		missingPrivilege(t, "mount a tmpfs (needs root): %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// leaveFree fills dir's file system with a file named filler until only
// free bytes are left.
func leaveFree(t *testing.T, dir string, free int64) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	fill := int64(st.Bavail)*st.Bsize - free
	if fill <= 0 {
		return
	}
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, fill); err != nil {
		t.Fatalf("fill %s: %v", dir, err)
	}
}

// allocated is the space a file takes on its file system, holes excluded.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Blocks * 512
}

// TestFullDisk: injections on a disk that runs out of space, at budgets
// from nothing to plenty beyond what the image takes, in place and to a new
// image. Each ends in one of two states and says which: done (the image
// verifies, its journal and complete reports beside it) or refused in one
// line naming the full disk, with the source's bytes unchanged and nothing
// left behind (no journal, report, temporary or partial image).
func TestFullDisk(t *testing.T) {
	fx := injectFixture(t)
	src := filepath.Join(fx, "disks", "2k22.raw")
	drivers := virtioTree(fx)
	used := allocated(t, src)
	outcomes := map[string]int{}
	check := func(name, img, target string, r result, origSum [32]byte, leftOK func(string) bool) {
		t.Helper()
		switch r.code {
		case exitOK:
			if err := inject.Verify(context.Background(), target); err != nil {
				t.Errorf("%s: reported done, but: %v", name, err)
			}
			if vr := cli(t, "verify", target); vr.code != exitOK {
				t.Errorf("%s: reported done, but verify says %v", name, vr)
			}
			outcomes["done"]++
		case exitError:
			// Progress lines come first; the verdict is the last line.
			lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
			last := lines[len(lines)-1]
			want := "pvinject inject: the disk holding " + filepath.Dir(target) + " is full (no space left on device): "
			if !strings.HasPrefix(last, want) || !strings.HasSuffix(last, "Free some space there and run the command again.") ||
				strings.Contains(last, "WAS CHANGED") || strings.Contains(last, "qcow2:") || strings.Contains(last, "ntfs:") {
				t.Errorf("%s: the admin reads %q", name, last)
			}
			if testenv.FileSHA256(t, img) != origSum {
				t.Errorf("%s: refused, but the source image changed", name)
			}
			if journal.Exists(img) {
				t.Errorf("%s: refused, but a journal is left beside the image", name)
			}
			entries, _ := os.ReadDir(filepath.Dir(target))
			for _, e := range entries {
				if !leftOK(e.Name()) {
					t.Errorf("%s: refused, but %s is left behind", name, e.Name())
				}
			}
			outcomes["refused, nothing changed"]++
			t.Logf("%s: %s", name, last)
		default:
			t.Errorf("%s: %v", name, r)
		}
	}
	for _, mib := range []int64{0, 1, 4, 12, 16, 20, 32} {
		name := fmt.Sprintf("in place, %d MiB free", mib)
		dir := smallDisk(t, (used+mib<<20)/4096*4096+64<<10)
		img := filepath.Join(dir, "guest.raw")
		if out, err := exec.Command("cp", "--sparse=always", src, img).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		sum := testenv.FileSHA256(t, img)
		r := cli(t, "inject", "--drivers", drivers, "--in-place", img)
		check(name, img, img, r, sum, func(n string) bool { return n == "guest.raw" })
	}
	// A new image on a small disk: the source (elsewhere) is never written,
	// and a failed copy leaves no partial image.
	sum := testenv.FileSHA256(t, src)
	for _, mib := range []int64{1, 3, 8, 64} {
		name := fmt.Sprintf("new qcow2, %d MiB free", mib)
		dir := smallDisk(t, mib<<20)
		out := filepath.Join(dir, "guest-kvm.qcow2")
		r := cli(t, "inject", "--drivers", drivers, "--output", out, src)
		check(name, src, out, r, sum, func(string) bool { return false })
		if r.code == exitOK {
			if o, err := exec.Command("qemu-img", "check", out).CombinedOutput(); err != nil {
				t.Errorf("%s: qemu-img check: %v\n%s", name, err, o)
			}
		}
	}
	t.Logf("outcomes: %v", outcomes)
	if outcomes["done"] == 0 || outcomes["refused, nothing changed"] == 0 {
		t.Errorf("the budgets did not span the edge of a full disk: %v", outcomes)
	}
}

// TestWizardFullDisk: the wizard's Apply on a full disk says which disk is
// full and that the image was left as it was, in a sentence, not the chain
// of layers; the image's bytes are unchanged and no journal is left.
func TestWizardFullDisk(t *testing.T) {
	ctx := context.Background()
	demo, drivers := testenv.Demo(t)
	dir := smallDisk(t, allocated(t, demo)+8<<20)
	img := filepath.Join(dir, filepath.Base(demo))
	if out, err := exec.Command("cp", "--sparse=always", demo, img).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	leaveFree(t, dir, 0)
	sum := testenv.FileSHA256(t, img)
	e := engine.New(nil)
	if _, err := e.OpenImage(ctx, img); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Detect(ctx); err != nil {
		t.Fatal(err)
	}
	dreq := wizard.DriverRequest{Guest: 0, Set: wizard.SetVirtioWin, Path: drivers}
	plan, err := e.PlanDrivers(ctx, dreq)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Apply(ctx, wizard.ApplyRequest{PlanID: plan.ID, Drivers: dreq, InPlace: true, WriteCache: wizard.CacheKeep}, nil)
	want := "Writing " + filepath.Base(img) + " failed (the image was left as it was): the disk holding " + dir + " is full. Free some space there and try again."
	if err == nil || err.Error() != want {
		t.Fatalf("apply on a full disk: %v\nwant: %s", err, want)
	}
	if testenv.FileSHA256(t, img) != sum || journal.Exists(img) {
		t.Error("a failed apply left the image changed or a journal beside it")
	}
}
