//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/internal/testenv"
)

// TestNotAnImageFile: every command given a folder, a FIFO, a character
// device, or a qcow2 whose parent image is a FIFO, answers at once in one
// line that names the file and says what it is, exits with an error and
// creates nothing. Opening a FIFO used to wait for a writer in the kernel:
// the command hung, deaf to Ctrl+C and to SIGTERM.
func TestNotAnImageFile(t *testing.T) {
	_, drivers := testenv.Demo(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.raw")
	must(t, syscall.Mkfifo(fifo, 0o644))
	folder := filepath.Join(dir, "folder.qcow2")
	must(t, os.Mkdir(folder, 0o755))
	child := filepath.Join(dir, "child.qcow2")
	parent := filepath.Join(dir, "parent.raw")
	// -u: qemu-img must not open the parent, which becomes a FIFO next.
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "parent.raw", "-F", "raw", child, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	must(t, syscall.Mkfifo(parent, 0o644))
	before := dirNames(t, dir)

	images := []struct{ path, name, kind string }{
		{fifo, fifo, "it is a FIFO (named pipe), not a disk image file"},
		{folder, folder, "it is a folder, not a disk image file"},
		{"/dev/zero", "/dev/zero", "it is a character device node, not a disk image file"},
		{child, parent, "is not usable: it is a FIFO (named pipe), not a disk image file"},
	}
	out := filepath.Join(t.TempDir(), "out.qcow2")
	for _, im := range images {
		for _, c := range []struct {
			label string
			args  []string
		}{
			{"inspect", []string{"inspect", im.path}},
			{"inspect json", []string{"inspect", "--json", im.path}},
			{"inject in place", []string{"inject", "--drivers", drivers, "--in-place", im.path}},
			{"inject output", []string{"inject", "--drivers", drivers, "--output", out, im.path}},
		} {
			args := c.args
			t.Run(filepath.Base(im.path)+" "+c.label, func(t *testing.T) {
				done := make(chan result, 1)
				go func() { done <- cli(t, args...) }()
				var r result
				select {
				case r = <-done:
				case <-time.After(10 * time.Second):
					t.Fatalf("pvinject %v still running after 10 s", args)
				}
				if r.code == exitOK {
					t.Fatalf("accepted: %v", r)
				}
				wantOneLine(t, r, im.name, im.kind)
			})
		}
	}
	// rollback and accept refuse before reading anything (the image lock).
	for _, cmd := range []string{"rollback", "accept"} {
		r := cli(t, cmd, fifo)
		if r.code == exitOK {
			t.Fatalf("%s on a FIFO: %v", cmd, r)
		}
		wantOneLine(t, r, fifo, "it is a FIFO (named pipe), not a disk image file")
	}
	if after := dirNames(t, dir); before != after {
		t.Errorf("the folder changed: %v, then %v", before, after)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Errorf("%s was created", out)
	}
}

// TestStateFileNotAFile: a report, an answer file or a journal that is a
// FIFO (or a folder) is refused at once in one line, as damaged state files
// are; os.ReadFile used to wait on the FIFO for ever. Nothing is written.
func TestStateFileNotAFile(t *testing.T) {
	img, _ := testenv.Demo(t)
	sum := testenv.FileSHA256(t, img)
	dir := filepath.Dir(img)
	must(t, syscall.Mkfifo(img+inject.ReportSuffix, 0o644))
	answers := filepath.Join(dir, "answers.json")
	must(t, syscall.Mkfifo(answers, 0o644))
	folder := filepath.Join(dir, "folder.json")
	must(t, os.Mkdir(folder, 0o755))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"verify", img}, "the image's report cannot be read: " + img + inject.ReportSuffix + ": it is a FIFO (named pipe), not a file"},
		{[]string{"inject", "--answers", answers, "--output", filepath.Join(dir, "out.qcow2"), img}, answers + ": it is a FIFO (named pipe), not a file"},
		{[]string{"inject", "--answers", folder, "--in-place", img}, folder + ": it is a folder, not a file"},
		{[]string{"batch", "--answers", answers, img}, answers + ": it is a FIFO (named pipe), not a file"},
	} {
		done := make(chan result, 1)
		go func() { done <- cli(t, c.args...) }()
		select {
		case r := <-done:
			if r.code == exitOK {
				t.Errorf("pvinject %v: %v", c.args, r)
			}
			wantOneLine(t, r, c.want)
		case <-time.After(10 * time.Second):
			t.Fatalf("pvinject %v still running after 10 s", c.args)
		}
	}
	// A journal that is no file is named as what it is; it used to read as
	// "damaged (it is 0 bytes long …)", or fail to open as a folder.
	jp := inject.JournalPath(img)
	for kind, mk := range map[string]func() error{
		"a FIFO (named pipe)": func() error { return syscall.Mkfifo(jp, 0o644) },
		"a folder":            func() error { return os.Mkdir(jp, 0o755) },
	} {
		must(t, mk())
		r := cli(t, "rollback", img)
		if r.code == exitOK {
			t.Errorf("rollback with a journal that is %s: %v", kind, r)
		}
		wantOneLine(t, r, "pvinject rollback: the rollback journal "+jp+" is damaged (it is "+kind+", not a file that pvinject writes)", "nothing was restored and the journal was kept")
		if _, err := os.Lstat(jp); err != nil {
			t.Errorf("the journal that is %s is gone: %v", kind, err)
		}
		must(t, os.Remove(jp))
	}
	if testenv.FileSHA256(t, img) != sum {
		t.Error("the image changed")
	}
	if _, err := os.Lstat(filepath.Join(dir, "out.qcow2")); err == nil {
		t.Error("out.qcow2 was created")
	}
}
