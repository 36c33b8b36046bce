package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
)

// TestRollbackRefusesAfterGuestChanged: after an in-place injection a file
// is added to the guest with ntfscp (as if the guest had run). rollback
// refuses with status 3, lists what changed one per line and says what to
// do, and writes nothing; rollback --force prints the list, then restores.
func TestRollbackRefusesAfterGuestChanged(t *testing.T) {
	fx := injectFixture(t)
	testenv.RequireTool(t, "ntfscp")
	dir := t.TempDir()
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", "10-x64-virtio.raw"), filepath.Join(dir, "win10.img"))
	if r := cli(t, "inject", "--drivers", virtioTree(fx), "--in-place", img); r.code != exitOK {
		t.Fatalf("inject: %v", r)
	}
	// The NTFS partition starts at 1 MiB in the fixture disks.
	disk, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	vol, big := filepath.Join(dir, "vol"), filepath.Join(dir, "big")
	os.WriteFile(vol, disk[1<<20:], 0o644)
	data := make([]byte, 3<<20)
	rand.Read(data)
	os.WriteFile(big, data, 0o644)
	if out, err := exec.Command("ntfscp", vol, big, "/added-by-guest.bin").CombinedOutput(); err != nil {
		t.Fatalf("ntfscp: %v\n%s", err, out)
	}
	v, _ := os.ReadFile(vol)
	changed := append(disk[:1<<20:1<<20], v...)
	os.WriteFile(img, changed, 0o644)
	jb, _ := os.ReadFile(journal.Path(img))

	r := cli(t, "rollback", img)
	if r.code != exitRefused || r.stdout != "" {
		t.Fatalf("rollback after the guest changed: want status 3 and nothing on stdout: %v", r)
	}
	t.Logf("refusal:\n%s", r.stderr)
	for _, want := range []string{"$Bitmap", "nothing was restored", "pvinject accept", "rollback --force", "\n  - "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal lacks %q:\n%s", want, r.stderr)
		}
	}
	if now, _ := os.ReadFile(img); !bytes.Equal(now, changed) {
		t.Fatal("a refused rollback wrote to the image")
	}
	if now, _ := os.ReadFile(journal.Path(img)); !bytes.Equal(now, jb) {
		t.Fatal("a refused rollback changed the journal")
	}
	f := cli(t, "rollback", "--force", img)
	if f.code != exitOK || !strings.Contains(f.stderr, "restoring anyway") || !strings.Contains(f.stderr, "$Bitmap") || !strings.Contains(f.stdout, "overwritten") {
		t.Fatalf("rollback --force: %v", f)
	}
	if journal.Exists(img) {
		t.Error("journal kept after a forced rollback")
	}
}

// TestRollbackCreatesNothing: rollback of a path with no image and no
// journal, or whose image was deleted, creates no file and never says
// "restored".
func TestRollbackCreatesNothing(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.img")
	r := cli(t, "rollback", missing)
	if r.code != exitError || strings.Contains(r.stdout+r.stderr, "restored") || exists(missing) {
		t.Fatalf("rollback of a missing image: %v (created: %v)", r, exists(missing))
	}
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, "win10.qcow2"))
	if r := cli(t, "inject", "--drivers", virtioTree(fx), "--in-place", img); r.code != exitOK {
		t.Fatalf("inject: %v", r)
	}
	os.Remove(img)
	r = cli(t, "rollback", img)
	if r.code != exitRefused || !strings.Contains(r.stderr, "no longer exists") || strings.Contains(r.stdout, "restored") || exists(img) {
		t.Fatalf("rollback of a deleted image: %v (created: %v)", r, exists(img))
	}
	if !journal.Exists(img) {
		t.Error("journal removed by a refused rollback")
	}
}

// TestRollbackDamagedJournal: a journal cut in half is refused in one line
// that names it, says it is damaged and what to do; the image and the
// journal stay as they are.
func TestRollbackDamagedJournal(t *testing.T) {
	fx := injectFixture(t)
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(t.TempDir(), "win10.qcow2"))
	if r := cli(t, "inject", "--drivers", virtioTree(fx), "--in-place", img); r.code != exitOK {
		t.Fatalf("inject: %v", r)
	}
	jb, _ := os.ReadFile(journal.Path(img))
	half := jb[:len(jb)/2]
	os.WriteFile(journal.Path(img), half, 0o600)
	sum := testenv.FileSHA256(t, img)
	r := cli(t, "rollback", img)
	if r.code != exitRefused || strings.Contains(r.stdout, "restored") {
		t.Fatalf("rollback with a damaged journal: %v", r)
	}
	wantOneLine(t, r, journal.Path(img), "damaged", "cut short", "nothing was restored", "pvinject accept")
	if strings.Contains(r.stderr, "inject: rollback") {
		t.Errorf("the message shows a package prefix: %q", r.stderr)
	}
	if testenv.FileSHA256(t, img) != sum {
		t.Error("the image changed")
	}
	if now, _ := os.ReadFile(journal.Path(img)); !bytes.Equal(now, half) {
		t.Error("the journal changed or was removed")
	}
}
