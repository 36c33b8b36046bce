package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/internal/testenv"
)

func writeAnswers(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "answers.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// statusLines returns the per-image progress lines by image base name.
func statusLines(t *testing.T, stdout string, n int) map[string]string {
	t.Helper()
	re := regexp.MustCompile(fmt.Sprintf(`^\[(\d+)/%d\] (ok|refused|failed) +(\S+)`, n))
	got := map[string]string{}
	for _, l := range strings.Split(stdout, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			if _, dup := got[filepath.Base(m[3])]; dup {
				t.Errorf("two progress lines for %s", m[3])
			}
			got[filepath.Base(m[3])] = m[2]
		}
	}
	if len(got) != n {
		t.Errorf("%d progress lines, want one per image (%d):\n%s", len(got), n, stdout)
	}
	return got
}

// TestBatchOneBroken: eight copies of a small guest, one truncated on
// purpose, four at a time: the seven good ones are injected and verified,
// the broken one is reported as failed and left as it was, and the exit
// status says something failed.
func TestBatchOneBroken(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	src := filepath.Join(fx, "disks", win10)
	var images []string
	sums := map[string][32]byte{}
	for i := 1; i <= 8; i++ {
		img := testenv.CopyFile(t, src, filepath.Join(dir, fmt.Sprintf("student%d.qcow2", i)))
		images = append(images, img)
	}
	// student5: the qcow2 header survives, its L1 table does not.
	broken := images[4]
	b, err := os.ReadFile(broken)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(broken, b[:100_000], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, img := range images {
		sums[img] = testenv.FileSHA256(t, img)
	}
	answers := writeAnswers(t, dir, fmt.Sprintf(`{"version": 1, "drivers": %q, "set": "virtio-win", "output": "{dir}/{name}-kvm.qcow2", "mtu": 1500}`, virtioTree(fx)))

	r := cli(t, append([]string{"batch", "--answers", answers, "--jobs", "4"}, images...)...)
	if r.code != exitError {
		t.Errorf("batch with one broken image: want exit 1: %v", r)
	}
	wantOneLine(t, r, "1 of 8")
	status := statusLines(t, r.stdout, 8)
	for i, img := range images {
		name := filepath.Base(img)
		out := filepath.Join(dir, fmt.Sprintf("student%d-kvm.qcow2", i+1))
		if testenv.FileSHA256(t, img) != sums[img] {
			t.Errorf("%s changed", name)
		}
		noTrace(t, img)
		if img == broken {
			if status[name] != "failed" {
				t.Errorf("%s: status %q, want failed", name, status[name])
			}
			if exists(out) {
				t.Errorf("the broken image left an output %s", out)
			}
			continue
		}
		if status[name] != "ok" {
			t.Errorf("%s: status %q, want ok", name, status[name])
			continue
		}
		qemuCheckClean(t, out)
		if v := cli(t, "verify", out); v.code != exitOK {
			t.Errorf("verify %s: %v", out, v)
		}
	}
	for _, want := range []string{"IMAGE", "STATUS", "OUTPUT", "8 images: 7 ok, 0 refused, 1 failed"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, r.stdout)
		}
	}
	// The table names the broken image with the reason it failed.
	if !regexp.MustCompile(`(?m)^\S*student5\.qcow2 +failed .*qcow2`).MatchString(r.stdout) {
		t.Errorf("summary table has no failed row for student5 saying why:\n%s", r.stdout)
	}
}

// TestBatchAllRefused: when every image is refused the status is 3 and
// nothing is written.
func TestBatchAllRefused(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	var images []string
	for i := 1; i <= 3; i++ {
		images = append(images, testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, fmt.Sprintf("s%d.qcow2", i))))
	}
	sum := testenv.FileSHA256(t, images[0])
	// Unsigned packages on x64 guests without allow_unsigned.
	answers := writeAnswers(t, dir, fmt.Sprintf(`{"version": 1, "drivers": %q, "set": "inf", "output": "{dir}/{name}-kvm.qcow2"}`,
		filepath.Join(fx, "drivers", "folder", "nocat")))
	r := cli(t, append([]string{"batch", "--answers", answers, "--jobs", "2"}, images...)...)
	if r.code != exitRefused {
		t.Errorf("all refused: want exit 3: %v", r)
	}
	wantOneLine(t, r, "3 of 3 images refused")
	for name, st := range statusLines(t, r.stdout, 3) {
		if st != "refused" {
			t.Errorf("%s: status %q, want refused", name, st)
		}
	}
	if !strings.Contains(r.stdout, "3 images: 0 ok, 3 refused, 0 failed") {
		t.Errorf("summary:\n%s", r.stdout)
	}
	for i, img := range images {
		if testenv.FileSHA256(t, img) != sum {
			t.Errorf("%s changed", img)
		}
		noTrace(t, img)
		if out := filepath.Join(dir, fmt.Sprintf("s%d-kvm.qcow2", i+1)); exists(out) {
			t.Errorf("refused image left an output %s", out)
		}
	}
}

// TestBatchOutputsCollide: an answer file whose output lacks {name} would
// write every image to one file: a usage error before anything starts.
func TestBatchOutputsCollide(t *testing.T) {
	dir := t.TempDir()
	var images []string
	for i := 1; i <= 3; i++ {
		p := filepath.Join(dir, fmt.Sprintf("s%d.img", i))
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
		images = append(images, p)
	}
	answers := writeAnswers(t, dir, fmt.Sprintf(`{"version": 1, "drivers": %q, "set": "auto", "output": "{dir}/kvm.qcow2"}`, dir))
	var calls atomic.Int32
	stubInjectOne(t, func(context.Context, inject.Request) error { calls.Add(1); return nil })
	r := cli(t, append([]string{"batch", "--answers", answers}, images...)...)
	if r.code != exitUsage || r.stdout != "" {
		t.Errorf("colliding outputs: want exit 2 and no stdout: %v", r)
	}
	wantOneLine(t, r, "{name}", "kvm.qcow2")
	if calls.Load() != 0 || exists(filepath.Join(dir, "kvm.qcow2")) {
		t.Errorf("%d images were processed despite the usage error", calls.Load())
	}

	// A bad answer file is a usage error naming it.
	bad := writeAnswers(t, dir, `{"version": 1, "drivers": "/d", "set": "auto", "output": "x", "colour": "red"}`)
	r = cli(t, "batch", "--answers", bad, images[0])
	if r.code != exitUsage {
		t.Errorf("unknown answer-file field: %v", r)
	}
	wantOneLine(t, r, "answers.json", "colour")
}

// TestBatchIsolation: one image's panic or error neither stops nor
// changes the others, and the jobs limit holds.
func TestBatchIsolation(t *testing.T) {
	dir := t.TempDir()
	var images []string
	for i := 1; i <= 8; i++ {
		images = append(images, filepath.Join(dir, fmt.Sprintf("vm%d.img", i)))
	}
	answers := writeAnswers(t, dir, fmt.Sprintf(`{"version": 1, "drivers": %q, "set": "auto", "output": "{dir}/{name}.out.qcow2"}`, dir))
	var running, peak atomic.Int32
	stubInjectOne(t, func(_ context.Context, req inject.Request) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		switch filepath.Base(req.Image) {
		case "vm3.img":
			panic("boom")
		case "vm6.img":
			return fmt.Errorf("%s: disk on fire", req.Image)
		}
		if want := strings.TrimSuffix(req.Image, ".img") + ".out.qcow2"; req.Output != want {
			return fmt.Errorf("output %s, want %s", req.Output, want)
		}
		return nil
	})
	r := cli(t, append([]string{"batch", "--answers", answers, "--jobs", "3"}, images...)...)
	if r.code != exitError {
		t.Errorf("want exit 1: %v", r)
	}
	st := statusLines(t, r.stdout, 8)
	for _, img := range images {
		want := "ok"
		if b := filepath.Base(img); b == "vm3.img" || b == "vm6.img" {
			want = "failed"
		}
		if st[filepath.Base(img)] != want {
			t.Errorf("%s: %q, want %q", img, st[filepath.Base(img)], want)
		}
	}
	if !strings.Contains(r.stdout, "internal error: boom") || !strings.Contains(r.stdout, "disk on fire") {
		t.Errorf("failures not explained:\n%s", r.stdout)
	}
	if p := peak.Load(); p > 3 {
		t.Errorf("%d images ran at once with --jobs 3", p)
	}
}

func stubInjectOne(t *testing.T, f func(context.Context, inject.Request) error) {
	t.Helper()
	old := injectOne
	injectOne = f
	t.Cleanup(func() { injectOne = old })
}
