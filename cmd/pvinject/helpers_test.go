package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

// result is one in-process run of the CLI.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// cli runs pvinject in process with args and no stdin.
func cli(t testing.TB, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// dirNames lists the names in dir, sorted, space-separated.
func dirNames(t testing.TB, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// wantOneLine fails unless stderr is exactly one non-empty line containing
// every one of parts.
func wantOneLine(t testing.TB, r result, parts ...string) {
	t.Helper()
	if !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 || strings.TrimSpace(r.stderr) == "" {
		t.Errorf("stderr is not exactly one line: %q", r.stderr)
	}
	for _, p := range parts {
		if !strings.Contains(r.stderr, p) {
			t.Errorf("stderr %q does not contain %q", r.stderr, p)
		}
	}
}

// injectFixture builds (once) the synthetic guest disks and driver sources
// of scripts/fixtures/inject.sh (guests.sh + drivers.sh, through sfdisk,
// mkntfs, ntfs-3g, hivexregedit and qemu-img).
func injectFixture(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "hivexregedit", "qemu-img", "ntfs-3g", "mkntfs", "sfdisk")
	testenv.Corpus(t) // guests.sh merges into the corpus's minimal hive
	return testenv.Fixture(t, "inject")
}

// qemuImg runs qemu-img, an oracle independent of the code under test.
func qemuImg(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// qemuCheckClean fails unless `qemu-img check` finds no errors or leaks.
func qemuCheckClean(t testing.TB, img string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "check", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No errors were found") {
		t.Errorf("qemu-img check %s: %v\n%s", img, err, out)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func decodeJSON(t testing.TB, s string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, s)
	}
	if dec.More() {
		t.Fatalf("stdout has data after the JSON document:\n%s", s)
	}
}
