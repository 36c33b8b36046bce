package inject

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
)

// volStart is where inject.sh places the NTFS partition of its raw disks.
const volStart = 1 << 20

// takeVolume copies the NTFS partition of a raw disk out to a bare volume
// file, for the ntfs-3g tools (which do not read partition tables).
func takeVolume(t *testing.T, img string) string {
	t.Helper()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(t.TempDir(), "vol")
	if err := os.WriteFile(vol, b[volStart:], 0o644); err != nil {
		t.Fatal(err)
	}
	return vol
}

// putVolume writes a bare volume back into the raw disk in place.
func putVolume(t *testing.T, img, vol string) {
	t.Helper()
	b, err := os.ReadFile(vol)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, volStart); err != nil {
		t.Fatal(err)
	}
}

// withMount mounts a bare volume read-write with ntfs-3g and runs fn on it.
func withMount(t *testing.T, vol string, fn func(mnt string)) {
	t.Helper()
	mnt := t.TempDir()
	run(t, "ntfs-3g", vol, mnt)
	defer func() {
		if err := exec.Command("fusermount", "-u", mnt).Run(); err != nil {
			exec.Command("umount", mnt).Run()
		}
	}()
	fn(mnt)
}

func fileBytes(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRollbackAfterForeignChanges is the first data-loss case: an
// in-place injection, then the guest changed by ntfs-3g (as if it had run):
// a new 3 MB file, a changed SYSTEM hive (hivexregedit on a copy, written
// back with ntfscp), a deleted staged driver. Each time the rollback must
// refuse, name what changed, and leave the image and the journal
// byte-identical (ntfsfix -n and every file's SHA-256 as before). Then
// --force restores, after the list was shown.
func TestRollbackAfterForeignChanges(t *testing.T) {
	dir := fixture(t)
	testenv.RequireTool(t, "ntfscp", "ntfscat", "ntfsfix", "fusermount")
	src := filepath.Join(dir, "disks", "11-x64.raw")
	orig := testenv.FileSHA256(t, src)
	img := testenv.CopyInto(t, src, t.TempDir())
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	if _, err := Apply(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	injected, jbytes := fileBytes(t, img), fileBytes(t, journal.Path(img))
	reports := map[string][]byte{}
	for _, suffix := range []string{ReportSuffix, ReportHTMLSuffix} {
		reports[img+suffix] = fileBytes(t, img+suffix)
	}
	var driver string
	for _, f := range p.Files {
		if strings.HasSuffix(strings.ToLower(f.Path), ".sys") && f.Content == nil {
			driver = f.Path
			break
		}
	}
	if driver == "" {
		t.Fatal("the plan stages no driver file")
	}
	sysHive := hivePath(p.Guest, HiveSystem)
	slash := func(p string) string { return "/" + strings.ReplaceAll(p, `\`, "/") }
	tmp := t.TempDir()
	big := filepath.Join(tmp, "big.bin")
	data := make([]byte, 3<<20)
	rand.New(rand.NewSource(9)).Read(data)
	os.WriteFile(big, data, 0o644)

	cases := []struct {
		name   string
		change func(t *testing.T, vol string)
		want   []string // one of these appears in the list of changes
	}{
		{"new 3 MB file", func(t *testing.T, vol string) {
			run(t, "ntfscp", vol, big, "/guest-wrote-this.bin")
		}, []string{"$Bitmap", "$MFT", "guest-wrote-this.bin"}},
		{"changed SYSTEM hive", func(t *testing.T, vol string) {
			hv := filepath.Join(tmp, "SYSTEM")
			out := run(t, "ntfscat", vol, slash(sysHive))
			os.WriteFile(hv, out, 0o644)
			reg := filepath.Join(tmp, "edit.reg")
			os.WriteFile(reg, []byte("Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SYSTEM\\GuestRan]\n\"Boots\"=dword:00000001\n"), 0o644)
			run(t, "hivexregedit", "--merge", "--prefix", `HKEY_LOCAL_MACHINE\SYSTEM`, hv, reg)
			run(t, "ntfscp", vol, hv, slash(sysHive))
		}, []string{sysHive}},
		{"deleted staged driver", func(t *testing.T, vol string) {
			withMount(t, vol, func(mnt string) {
				// core/ntfs names files as ntfs-3g does (docs/NTFS-NAMES.md),
				// so ntfs-3g can really delete what pvinject staged.
				if err := os.Remove(foldPath(t, mnt, driver)); err != nil {
					t.Fatal(err)
				}
			})
		}, []string{driver, "NTFS file table"}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.WriteFile(img, injected, 0o644)
			os.WriteFile(journal.Path(img), jbytes, 0o600)
			for p, b := range reports {
				os.WriteFile(p, b, 0o644)
			}
			vol := takeVolume(t, img)
			c.change(t, vol)
			putVolume(t, img, vol)
			before := testenv.FileSHA256(t, img)
			if before == testenv.FileSHA256(t, src) || bytes.Equal(fileBytes(t, img), injected) {
				t.Fatal("the foreign change changed nothing")
			}
			files := tree(t, takeVolume(t, img))
			err := Rollback(img)
			var ce *ChangedError
			if !errors.As(err, &ce) {
				t.Fatalf("rollback after %s: %v, want a refusal naming the changes", c.name, err)
			}
			t.Logf("refused: %v", err)
			named := false
			for _, w := range c.want {
				named = named || strings.Contains(strings.Join(ce.Lines, "\n"), w)
			}
			if !named {
				t.Errorf("the refusal names none of %q:\n%s", c.want, strings.Join(ce.Lines, "\n"))
			}
			if testenv.FileSHA256(t, img) != before {
				t.Fatal("a refused rollback changed the image")
			}
			if !bytes.Equal(fileBytes(t, journal.Path(img)), jbytes) {
				t.Fatal("a refused rollback changed or removed the journal")
			}
			for _, suffix := range []string{ReportSuffix, ReportHTMLSuffix} {
				if _, err := os.Stat(img + suffix); err != nil {
					t.Errorf("a refused rollback removed the report: %v", err)
				}
			}
			after := takeVolume(t, img)
			run(t, "ntfsfix", "-n", after)
			if got := tree(t, after); !sameTree(got, files) {
				t.Error("the files in the guest differ after a refused rollback")
			}
			if i != 1 {
				return
			}
			// --force: the list is shown before anything is written.
			var shown []string
			res, err := RollbackImage(img, true, func(lines []string) {
				shown = lines
				if testenv.FileSHA256(t, img) != before {
					t.Error("the image was written before the list of changes was shown")
				}
			})
			if err != nil {
				t.Fatalf("forced rollback: %v", err)
			}
			if len(shown) == 0 || len(res.Forced) != len(shown) {
				t.Fatalf("forced rollback showed %d changes, reports %d", len(shown), len(res.Forced))
			}
			if journal.Exists(img) {
				t.Error("a forced rollback kept the journal")
			}
			t.Logf("forced rollback over %d listed changes; image equals the original: %v", len(shown), testenv.FileSHA256(t, img) == orig)
		})
	}
}

// foldPath finds a guest path (backslashes, any case) under a mount point,
// which ntfs-3g makes case-sensitive.
func foldPath(t *testing.T, mnt, guestPath string) string {
	t.Helper()
	cur := mnt
	for _, part := range strings.Split(guestPath, `\`) {
		es, err := os.ReadDir(cur)
		if err != nil {
			t.Fatal(err)
		}
		found := ""
		for _, e := range es {
			if strings.EqualFold(e.Name(), part) {
				found = e.Name()
			}
		}
		if found == "" {
			t.Fatalf("%s: no %s in %s", guestPath, part, cur)
		}
		cur = filepath.Join(cur, found)
	}
	return cur
}

func sameTree(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestRollbackNeverCreates: a rollback whose image is gone restores
// nothing, creates nothing and keeps the journal.
func TestRollbackNeverCreates(t *testing.T) {
	dir := fixture(t)
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "10-x64-virtio.qcow2"), t.TempDir())
	if _, err := Apply(context.Background(), planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree")), nil); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(img); err != nil {
		t.Fatal(err)
	}
	_, err := RollbackImage(img, false, nil)
	var ce *ChangedError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "no longer exists") {
		t.Fatalf("rollback of a deleted image: %v, want a refusal saying it no longer exists", err)
	}
	if _, err := os.Lstat(img); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rollback created %s: %v", img, err)
	}
	if !journal.Exists(img) {
		t.Fatal("journal removed")
	}
	// Even forced, nothing is created where there was no file.
	if _, err := RollbackImage(img, true, nil); err != nil {
		t.Fatalf("forced: %v", err)
	}
	if _, err := os.Lstat(img); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("forced rollback created %s: %v", img, err)
	}
}

// TestReportSaveFailureRollsBack: when the report cannot be saved (here a
// folder stands where its file goes; a full disk fails the same write),
// the injection is rolled back and says so: no journal, the original
// image, no report, instead of an injected image with a cut-off report.
func TestReportSaveFailureRollsBack(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "10-x64-virtio.qcow2")
	img := testenv.CopyInto(t, src, t.TempDir())
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	block := img + ReportHTMLSuffix + stagingSuffix
	if err := os.Mkdir(block, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("Apply with an unsavable report: %v, want an error that says the image was rolled back", err)
	}
	if journal.Exists(img) {
		t.Error("journal kept")
	}
	if testenv.FileSHA256(t, img) != testenv.FileSHA256(t, src) {
		t.Error("image not rolled back")
	}
	for _, f := range []string{img + ReportSuffix, img + ReportHTMLSuffix, img + ReportSuffix + stagingSuffix} {
		if _, err := os.Stat(f); err == nil {
			t.Errorf("%s left behind", f)
		}
	}
}

// TestFailureBeforeFirstWriteSaysSo: a run that fails before writing
// anything (here the partition moved after the plan was made) says that
// nothing was written, not that the image was rolled back, and leaves no
// journal.
func TestFailureBeforeFirstWriteSaysSo(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "8.1-x86.raw")
	img := testenv.CopyInto(t, src, t.TempDir())
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	// Move the first MBR entry's start by one sector (LBA at byte 454).
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	lba := make([]byte, 4)
	f.ReadAt(lba, 454)
	lba[0]++
	f.WriteAt(lba, 454)
	f.Close()
	before := testenv.FileSHA256(t, img)
	_, err = Apply(context.Background(), p, nil)
	if err == nil || !strings.Contains(err.Error(), "nothing was written") || strings.Contains(err.Error(), "rolled back") {
		t.Fatalf("Apply on a moved partition: %v, want an error that says nothing was written", err)
	}
	if journal.Exists(img) || testenv.FileSHA256(t, img) != before {
		t.Error("journal left or image changed")
	}
}

// TestRollbackNamesChangedFileInQcow2: the tracing from host bytes to guest
// files works under a container format: after an in-place injection into a
// qcow2 image, qemu-io overwrites 4 KiB at the start of the SYSTEM hive (its
// cluster found with ntfsinfo); the rollback refuses and names the hive.
func TestRollbackNamesChangedFileInQcow2(t *testing.T) {
	dir := fixture(t)
	testenv.RequireTool(t, "qemu-io", "ntfsinfo")
	img := testenv.CopyInto(t, filepath.Join(dir, "disks", "10-x64-virtio.qcow2"), t.TempDir())
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	if _, err := Apply(context.Background(), p, nil); err != nil {
		t.Fatal(err)
	}
	sysHive := hivePath(p.Guest, HiveSystem)
	out := string(run(t, "ntfsinfo", "-v", "-F", "/"+strings.ReplaceAll(sysHive, `\`, "/"), volumeOf(t, img)))
	var lcn int64 = -1
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Runlist:") && i+1 < len(lines) {
			var vcn, n int64
			if _, err := fmt.Sscanf(strings.TrimSpace(lines[i+1]), "0x%x 0x%x 0x%x", &vcn, &lcn, &n); err != nil {
				t.Fatalf("ntfsinfo runlist %q: %v", lines[i+1], err)
			}
			break
		}
	}
	if lcn < 0 {
		t.Fatalf("no runlist for %s in:\n%s", sysHive, out)
	}
	guestOff := volStart + lcn*4096 // the fixture volumes have 4 KiB clusters
	run(t, "qemu-io", "-f", "qcow2", "-c", fmt.Sprintf("write -P 0x5a %d 4096", guestOff), img)
	err := Rollback(img)
	var ce *ChangedError
	if !errors.As(err, &ce) || !strings.Contains(strings.Join(ce.Lines, "\n"), sysHive+" changed") {
		t.Fatalf("rollback after qemu-io changed the SYSTEM hive: %v", err)
	}
	t.Logf("refused, naming: %s", strings.Join(ce.Lines, " | "))
}
