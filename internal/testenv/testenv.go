// Package testenv gives tests one way to find the repository, the shared
// corpus, external tools and script-built fixtures.
//
// Fixtures are made by scripts in scripts/fixtures with tools we did not
// write (sfdisk, mkntfs, ntfs-3g, qemu-img, hivexregedit, ...), never by the
// code under test. A missing tool skips a test locally, but fails it when
// PVINJECT_STRICT=1 (set by the test command and CI), so CI can never pass a
// test that did not run.
package testenv

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

var (
	rootOnce sync.Once
	root     string
)

// RepoRoot returns the directory holding go.mod.
func RepoRoot() string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			panic(err)
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				panic("testenv: go.mod not found above working directory")
			}
			dir = parent
		}
	})
	return root
}

// Strict reports whether missing prerequisites must fail tests.
func Strict() bool { return os.Getenv("PVINJECT_STRICT") == "1" }

func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if Strict() {
		t.Fatalf("PVINJECT_STRICT=1 and "+format, args...)
	}
	t.Skipf(format+" (this test did not run and is not counted as passed)", args...)
}

// CorpusDir returns the shared corpus path, "" when absent.
func CorpusDir() string {
	dir := os.Getenv("PVINJECT_CORPUS")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), "..", "shared", "corpus")
	}
	if st, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil || st.IsDir() {
		return ""
	}
	return dir
}

// Corpus returns the shared corpus directory (../shared/corpus beside the
// repository, or $PVINJECT_CORPUS) and skips the test, saying so plainly,
// when it is absent. The corpus is never copied into the repository.
func Corpus(t testing.TB) string {
	t.Helper()
	dir := CorpusDir()
	if dir == "" {
		missing(t, "shared corpus absent: %s/MANIFEST.tsv not found (set PVINJECT_CORPUS)",
			filepath.Join(RepoRoot(), "..", "shared", "corpus"))
	}
	return dir
}

// CorpusFile returns a file of the corpus by its MANIFEST local_path.
func CorpusFile(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(Corpus(t), rel)
	if _, err := os.Stat(p); err != nil {
		missing(t, "corpus file %s absent: %v", p, err)
	}
	return p
}

// RequireTool skips (or fails when strict) unless every named program is on PATH.
func RequireTool(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing(t, "required tool %q not installed (run `make test-deps`)", n)
		}
	}
}

// Fixture builds (once, cached by the script's hash) the fixtures made by
// scripts/fixtures/<name>.sh and returns their directory. Concurrent test
// processes wait on a file lock rather than build twice.
func Fixture(t testing.TB, name string) string {
	t.Helper()
	script := filepath.Join(RepoRoot(), "scripts", "fixtures", name+".sh")
	body, err := os.ReadFile(script)
	if err != nil {
		t.Fatalf("fixture script: %v", err)
	}
	// The helper library is part of every fixture's recipe.
	if lib, err := os.ReadFile(filepath.Join(RepoRoot(), "scripts", "fixtures", "lib.sh")); err == nil {
		body = append(body, lib...)
	}
	sum := sha256.Sum256(body)
	stamp := hex.EncodeToString(sum[:])
	base := os.Getenv("PVINJECT_FIXTURES")
	if base == "" {
		base = filepath.Join(RepoRoot(), "testdata", "gen")
	}
	out := filepath.Join(base, name)
	if err := os.MkdirAll(base, 0o755); err != nil {
		t.Fatal(err)
	}
	lock, err := os.OpenFile(filepath.Join(base, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck
	if got, err := os.ReadFile(filepath.Join(out, ".stamp")); err == nil && string(got) == stamp {
		return out
	}
	if err := os.RemoveAll(out); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script, out)
	cmd.Dir = RepoRoot()
	logged, err := cmd.CombinedOutput()
	if err != nil {
		if Strict() {
			t.Fatalf("fixture %s failed: %v\n%s", name, err, logged)
		}
		t.Skipf("fixture %s could not be built here: %v\n%s (this test did not run and is not counted as passed)", name, err, logged)
	}
	if err := os.WriteFile(filepath.Join(out, ".stamp"), []byte(stamp), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}
