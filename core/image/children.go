package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/safety"
)

// JournalSuffix names journal files (core/journal); they are never images.
const JournalSuffix = ".pvinject-journal"

// errStop ends a child's open as soon as its parent reference is known.
var errStop = errors.New("image: parent reference recorded")

// Children returns the files in path's folder whose parent (backing file)
// reference resolves to path. Every file that a container format (not raw)
// recognises is opened read-only; files that cannot be opened are ignored.
func Children(path string) ([]string, error) {
	if disk.IsWindowsDevice(path) {
		return nil, nil // a raw disk is in no folder
	}
	target, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("image: %w", err)
	}
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image: list %s for images based on %s: %w", dir, path, err)
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() && e.Type()&os.ModeSymlink == 0 || strings.HasSuffix(name, JournalSuffix) {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() || os.SameFile(st, target) {
			continue
		}
		if parentOf(p, target) {
			out = append(out, p)
		}
	}
	return out, nil
}

// parentOf reports whether the image at p names target as its parent.
func parentOf(p string, target os.FileInfo) bool {
	b, err := disk.OSOpener{}.Open(p, false)
	if err != nil {
		return false
	}
	defer b.Close()
	head, tail, size, err := readEnds(b)
	if err != nil {
		return false
	}
	f := probe(head, tail, size)
	if f.Name == "raw" {
		return false
	}
	isTarget := func(ref string) bool {
		rp, err := ResolveParent(ref, p)
		if err != nil {
			return false
		}
		st, err := os.Stat(rp)
		return err == nil && os.SameFile(st, target)
	}
	found := false
	opts := disk.Options{OpenParent: func(ref, child string) (disk.Image, error) {
		found = found || isTarget(ref)
		return nil, errStop
	}}
	img, err := f.Open(p, b, opts)
	if err != nil {
		return found
	}
	defer img.Close()
	// A format that opens its parent lazily still reports the reference.
	if d, ok := img.(disk.Describer); ok && d.Info().Parent != "" {
		found = found || isTarget(d.Info().Parent)
	}
	return found
}

// RefuseIfParent returns a *safety.Refusal naming the first child when other
// images in path's folder use path as their parent: writing to a parent in
// place silently corrupts every child (Hyper-V checkpoints, qcow2 overlays).
func RefuseIfParent(path string) error {
	kids, err := Children(path)
	if err != nil {
		return err
	}
	if len(kids) == 0 {
		return nil
	}
	reason := fmt.Sprintf("%s uses it as its parent (backing file); writing to it in place would corrupt that image", kids[0])
	if len(kids) > 1 {
		reason = fmt.Sprintf("%s and %d other image(s) use it as their parent (backing file); writing to it in place would corrupt them", kids[0], len(kids)-1)
	}
	return &safety.Refusal{
		Subject: path,
		Reason:  reason,
		Remedy:  "write the result to a new image with --output, or open the newest child (the top of the chain) instead",
	}
}
