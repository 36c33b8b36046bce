package imagelock

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/internal/testenv"
)

// startHolder runs a program that keeps img in use, and waits until
// CheckInUse sees it (or fails after 10 s).
func startHolder(t *testing.T, img string, name string, args ...string) error {
	t.Helper()
	testenv.RequireTool(t, name)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l := mustAcquire(t, img, Exclusive)
	defer l.Release()
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = l.CheckInUse(); err != nil {
			return err
		}
	}
	return nil
}

func wantInUse(t *testing.T, err error, parts ...string) {
	t.Helper()
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("CheckInUse = %v, want ErrInUse", err)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("refusal is not one line: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("refusal %q does not contain %q", msg, p)
		}
	}
}

func TestInUseFree(t *testing.T) {
	img := newFile(t)
	l := mustAcquire(t, img, Exclusive)
	// Our own open handles (the planner's reader) are not "another program".
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := l.CheckInUse(); err != nil {
		t.Fatalf("CheckInUse on an idle image = %v", err)
	}
}

// qemu-io takes qemu's OFD locks (bytes 100+) as a running VM does.
// Read-write, qemu-io may be seen first by its open file or by its locks;
// read-only, only the locks tell.
func TestInUseQemuIO(t *testing.T) {
	img := newFile(t)
	err := startHolder(t, img, "qemu-io", "-f", "raw", "-c", "sleep 20000", img)
	wantInUse(t, err, "qemu-io -f raw", "pid")
	ro := newFile(t)
	err = startHolder(t, ro, "qemu-io", "-r", "-f", "raw", "-c", "sleep 20000", ro)
	wantInUse(t, err, "locked this image for reading", "qemu-io -r", "pid")
}

// qemu-img convert holds shared locks on its source while it reads it; a
// rate limit keeps it reading long enough.
func TestInUseQemuImgConvert(t *testing.T) {
	img := filepath.Join(t.TempDir(), "src.img")
	b := make([]byte, 32<<20)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	if err := os.WriteFile(img, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out.qcow2")
	err := startHolder(t, img, "qemu-img", "convert", "-r", "1M", "-f", "raw", "-O", "qcow2", img, out)
	wantInUse(t, err, "locked this image for reading", "qemu-img convert")
}

// ntfs-3g mounting the image file itself (an NTFS volume image) read-write.
func TestInUseNTFS3GMount(t *testing.T) {
	testenv.RequireTool(t, "mkntfs", "ntfs-3g", "fusermount")
	img := filepath.Join(t.TempDir(), "vol.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkntfs", "-q", "-F", "-f", img).CombinedOutput(); err != nil {
		t.Fatalf("mkntfs: %v\n%s", err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("ntfs-3g", img, mnt).CombinedOutput(); err != nil {
		requireFUSE(t, "ntfs-3g mount: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	l := mustAcquire(t, img, Exclusive)
	wantInUse(t, l.CheckInUse(), "is mounted at "+mnt, "fuse")
}

// A loop device backed by the image, with its partition mounted through
// ntfs-3g: the way an admin looks inside a disk image on Linux.
func TestInUseLoopDevice(t *testing.T) {
	testenv.RequireTool(t, "losetup", "mkntfs", "ntfs-3g", "fusermount")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).CombinedOutput()
	if err != nil {
		requireFUSE(t, "losetup (loop devices need root and /dev/loop-control): %v\n%s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	l := mustAcquire(t, img, Exclusive)
	wantInUse(t, l.CheckInUse(), "loop device "+dev, "losetup -d "+dev)
	if out, err := exec.Command("mkntfs", "-q", "-F", "-f", dev).CombinedOutput(); err != nil {
		t.Fatalf("mkntfs %s: %v\n%s", dev, err, out)
	}
	mnt := t.TempDir()
	if out, err := exec.Command("ntfs-3g", dev, mnt).CombinedOutput(); err != nil {
		requireFUSE(t, "ntfs-3g mount: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("fusermount", "-u", mnt).Run() })
	wantInUse(t, l.CheckInUse(), "loop device "+dev+", mounted at "+mnt)

	// The loop device itself, as a block-device image, is busy too.
	ld, err := Acquire(dev, Exclusive)
	if err != nil {
		t.Fatalf("Acquire(%s): %v", dev, err)
	}
	defer ld.Release()
	if !ld.Block {
		t.Errorf("%s not seen as a block device", dev)
	}
	wantInUse(t, ld.CheckInUse(), "mounted at "+mnt)
}

// requireFUSE fails under PVINJECT_STRICT=1 and skips (saying it did not
// run) otherwise, when the sandbox forbids FUSE or loop devices.
func requireFUSE(t *testing.T, format string, args ...any) {
	t.Helper()
	if testenv.Strict() {
		t.Fatalf("PVINJECT_STRICT=1 and "+format, args...)
	}
	t.Skipf(format+" (this test did not run and is not counted as passed)", args...)
}
