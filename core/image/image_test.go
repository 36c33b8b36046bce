package image

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/safety"
)

func TestOpenProbesByContent(t *testing.T) {
	for _, e := range disktest.Entries(t, "", disktest.Small) {
		if _, err := FormatByName(e.Format); err != nil {
			continue // that format's package is not in the tree yet
		}
		t.Run(e.File, func(t *testing.T) {
			// A misleading extension must not matter.
			link := filepath.Join(t.TempDir(), "disk.img")
			if err := os.Symlink(e.Path(), link); err != nil {
				t.Fatal(err)
			}
			im, err := Open(e.Path(), disk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if im.Format() != e.Format {
				t.Fatalf("format %q, want %q", im.Format(), e.Format)
			}
			if err := disktest.CompareWithRawPadded(im, e.ExpectPath(), 2, disktest.PadAllowed(e.Format)); err != nil {
				t.Fatal(err)
			}
			if c := im.Chain(); len(c) == 0 || c[0].Format != e.Format || c[0].VirtualSize != im.Size() {
				t.Fatalf("chain %+v does not start with the opened image", c)
			}
		})
	}
}

func TestChainAndChildren(t *testing.T) {
	withChainFormat(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base.raw")
	if err := os.WriteFile(base, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	mid := filepath.Join(dir, "mid.tc")
	top := filepath.Join(dir, "top.tc")
	writeChain(t, mid, "base.raw", 1)
	writeChain(t, top, `.\mid.tc`, 2) // Windows-style relative reference
	im, err := Open(top, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := im.Chain()
	if len(c) != 3 || c[0].Format != "testchain" || c[1].Parent != "base.raw" || c[2].Format != "raw" {
		t.Fatalf("chain = %+v, want testchain, testchain, raw", c)
	}
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}

	kids, err := Children(mid)
	if err != nil || len(kids) != 1 || kids[0] != top {
		t.Fatalf("Children(mid) = %v, %v; want [%s]", kids, err, top)
	}
	err = RefuseIfParent(base)
	var r *safety.Refusal
	if !errors.As(err, &r) || !strings.Contains(r.Reason, "mid.tc") {
		t.Fatalf("RefuseIfParent(base) = %v, want a refusal naming mid.tc", err)
	}
	if _, err := Open(mid, disk.Options{Writable: true}); !errors.As(err, &r) {
		t.Fatalf("writable open of a parent: %v, want a refusal", err)
	}
	if err := RefuseIfParent(top); err != nil {
		t.Fatalf("top has no children: %v", err)
	}
	im, err = Open(top, disk.Options{Writable: true})
	if err != nil {
		t.Fatalf("writable open of the top: %v", err)
	}
	im.Close()
}

func TestChainErrors(t *testing.T) {
	withChainFormat(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tc"), filepath.Join(dir, "b.tc")
	writeChain(t, a, "b.tc", 1)
	writeChain(t, b, "a.tc", 2)
	if _, err := Open(a, disk.Options{}); !errors.Is(err, ErrChainLoop) {
		t.Fatalf("loop: %v, want ErrChainLoop", err)
	}
	self := filepath.Join(dir, "self.tc")
	writeChain(t, self, "self.tc", 1)
	if _, err := Open(self, disk.Options{}); !errors.Is(err, ErrChainLoop) {
		t.Fatalf("self loop: %v, want ErrChainLoop", err)
	}
	orphan := filepath.Join(dir, "orphan.tc")
	writeChain(t, orphan, `C:\VMs\gone.vhdx`, 1)
	_, err := Open(orphan, disk.Options{})
	if !errors.Is(err, ErrParentMissing) || !strings.Contains(err.Error(), "orphan.tc") || !strings.Contains(err.Error(), "gone.vhdx") {
		t.Fatalf("missing parent: %v, want ErrParentMissing naming both files", err)
	}
	// A chain deeper than the bound.
	prev := ""
	for i := 0; i <= MaxChainDepth; i++ {
		p := filepath.Join(dir, "d"+strings.Repeat("x", i)+".tc")
		writeChain(t, p, filepath.Base(prev), 1)
		if prev == "" {
			writeChain(t, p, "", 1)
		}
		prev = p
	}
	if _, err := Open(prev, disk.Options{}); err == nil || !strings.Contains(err.Error(), "deeper") {
		t.Fatalf("deep chain: %v, want a depth error", err)
	}
}

func TestFormatNames(t *testing.T) {
	for path, want := range map[string]string{"a.IMG": "raw", "b.raw": "raw"} {
		f, err := FormatForPath(path)
		if err != nil || f.Name != want {
			t.Errorf("FormatForPath(%s) = %v, %v; want %s", path, f.Name, err, want)
		}
	}
	if _, err := FormatForPath("disk.iso"); err == nil {
		t.Error("FormatForPath(disk.iso) accepted an unknown extension")
	}
}

// TestParentMissingWords: the error for a missing parent is one sentence an
// admin can act on, whatever the reference looks like; each place it was
// looked for is named once.
func TestParentMissingWords(t *testing.T) {
	dir := t.TempDir()
	child := filepath.Join(dir, "disk.qcow2")
	for _, c := range []struct{ ref, want string }{
		{"base.raw", `its parent image "base.raw" is not here (looked for ` + filepath.Join(dir, "base.raw") + ")"},
		{`C:\VMs\base.vhdx`, `its parent image "C:\\VMs\\base.vhdx" is not here (looked for ` + filepath.Join(dir, "base.vhdx") + ")"},
		{"/elsewhere/base.raw", "(looked for /elsewhere/base.raw and " + filepath.Join(dir, "base.raw") + ")"},
		{"", "it is a differencing disk that does not say which image is its parent: the file is damaged"},
	} {
		_, err := ResolveParent(c.ref, child)
		var pm *ParentMissingError
		if !errors.As(err, &pm) || !errors.Is(err, ErrParentMissing) {
			t.Fatalf("ResolveParent(%q) = %v, want a ParentMissingError", c.ref, err)
		}
		if msg := err.Error(); !strings.HasPrefix(msg, child+": it is a differencing disk") || !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
			t.Errorf("ResolveParent(%q) = %q, want one line beginning with the disk and saying %q", c.ref, msg, c.want)
		}
	}
}
