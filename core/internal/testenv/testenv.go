// Package testenv forwards to internal/testenv, where the implementation
// lives so that wizard, ui and cmd tests can use it too; core's tests keep
// importing this path.
package testenv

import (
	"testing"

	root "github.com/pvinject/pvinject/internal/testenv"
)

// RepoRoot returns the directory holding go.mod.
func RepoRoot() string { return root.RepoRoot() }

// Strict reports whether missing prerequisites must fail tests.
func Strict() bool { return root.Strict() }

// CorpusDir returns the shared corpus path, "" when absent.
func CorpusDir() string { return root.CorpusDir() }

// Corpus returns the shared corpus directory or skips (fails when strict).
func Corpus(t testing.TB) string { t.Helper(); return root.Corpus(t) }

// CorpusFile returns a corpus file by its MANIFEST local_path.
func CorpusFile(t testing.TB, rel string) string { t.Helper(); return root.CorpusFile(t, rel) }

// RequireTool skips (or fails when strict) unless every program is on PATH.
func RequireTool(t testing.TB, names ...string) { t.Helper(); root.RequireTool(t, names...) }

// Fixture builds the fixtures of scripts/fixtures/<name>.sh once and returns their directory.
func Fixture(t testing.TB, name string) string { t.Helper(); return root.Fixture(t, name) }

// FileSHA256 hashes a file without loading it whole.
func FileSHA256(t testing.TB, path string) [32]byte { t.Helper(); return root.FileSHA256(t, path) }

// CopyFile copies src to dst and returns dst.
func CopyFile(t testing.TB, src, dst string) string { t.Helper(); return root.CopyFile(t, src, dst) }

// CopyInto copies src into dir under its own name and returns the new path.
func CopyInto(t testing.TB, src, dir string) string { t.Helper(); return root.CopyInto(t, src, dir) }

// RegValue is one registry value as hivexregedit --export printed it.
type RegValue = root.RegValue

// ParseRegExport reads hivexregedit --export text; see the root package.
func ParseRegExport(out []byte) (map[string]map[string]RegValue, error) {
	return root.ParseRegExport(out)
}

// Pause makes a race certain (root.Pause).
type Pause = root.Pause

// NewPause returns a pause not yet reached.
func NewPause() *Pause { return root.NewPause() }
