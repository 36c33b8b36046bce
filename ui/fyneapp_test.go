package ui

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

// TestFyneAppAtRoot: FyneApp.toml is at the repository root, as the layout
// asks and `fyne package` (run from the root) reads it, with this app's ID
// and an icon that exists relative to it.
func TestFyneAppAtRoot(t *testing.T) {
	root := testenv.RepoRoot()
	b, err := os.ReadFile(filepath.Join(root, "FyneApp.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^\s*ID = "([^"]+)"`).FindSubmatch(b); m == nil || string(m[1]) != AppID {
		t.Errorf("FyneApp.toml ID %q, want %q", m, AppID)
	}
	m := regexp.MustCompile(`(?m)^\s*Icon = "([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("FyneApp.toml names no icon")
	}
	if _, err := os.Stat(filepath.Join(root, string(m[1]))); err != nil {
		t.Errorf("FyneApp.toml's icon: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", "pvinject", "FyneApp.toml")); err == nil {
		t.Error("a second FyneApp.toml is left in cmd/pvinject")
	}
}
