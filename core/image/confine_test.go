package image

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestResolveParentIn: parents inside the child's folder (relative, below
// it, or absolute as libvirt writes them) resolve; /etc/shadow, ../x and a
// symlink leading out are refused unless allowed.
func TestResolveParentIn(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "vms")
	for _, d := range []string{dir, filepath.Join(dir, "base")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "p.img"), filepath.Join(dir, "base", "b.img"), filepath.Join(root, "x")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, "x"), filepath.Join(dir, "link.img")); err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(dir, "child.qcow2")
	for _, ref := range []string{"p.img", "base/b.img", filepath.Join(dir, "p.img"), `C:\VMs\p.img`} {
		if _, err := ResolveParentIn(ref, child, false); err != nil {
			t.Errorf("parent %q inside the folder: %v", ref, err)
		}
	}
	for _, ref := range []string{"/etc/shadow", "../x", "link.img", filepath.Join(root, "x")} {
		if _, err := os.Stat(ref); ref == "/etc/shadow" && err != nil {
			continue // no /etc/shadow on this host
		}
		_, err := ResolveParentIn(ref, child, false)
		var pe *ParentOutsideError
		if !errors.As(err, &pe) || !errors.Is(err, ErrParentOutside) {
			t.Errorf("parent %q outside the folder: %v, want ParentOutsideError", ref, err)
		}
		if p, err := ResolveParentIn(ref, child, true); err != nil || p == "" {
			t.Errorf("parent %q allowed outside: %q, %v", ref, p, err)
		}
	}
}
