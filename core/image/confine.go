package image

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/internal/hostfile"
)

// ErrParentOutside is wrapped by the error for a parent (backing) file that
// resolves outside the child image's folder.
var ErrParentOutside = errors.New("image: parent image outside the image's folder")

// ParentOutsideError names the child, the reference it stores and where that
// reference leads.
type ParentOutsideError struct {
	Child, Ref, Resolved string
}

func (e *ParentOutsideError) Error() string {
	return fmt.Sprintf("%s names %s as its parent (backing file), which is outside the image's folder; an image from elsewhere can name any host file this way, so it was not opened",
		e.Child, e.Resolved)
}

func (e *ParentOutsideError) Unwrap() error { return ErrParentOutside }

// ResolveParentIn is ResolveParent confined to the child's folder (and the
// folders below it) unless allowOutside is set. A qcow2, VMDK or VHD stores
// its parent as a path of the author's choosing; opening "/etc/shadow" or
// "../../x" from an untrusted image reads host files the user never chose
// (qemu-img(1), "Notes on security": backing files of untrusted images). The
// check is made on the path with every symlink resolved, so a link in the
// folder cannot lead out either. Absolute references into the child's own
// folder, as libvirt writes them, are inside.
func ResolveParentIn(ref, child string, allowOutside bool) (string, error) {
	p, err := ResolveParent(ref, child)
	if err != nil || allowOutside {
		return p, err
	}
	dir, err := filepath.Abs(filepath.Dir(child))
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return "", fmt.Errorf("image: folder of %s: %w", child, err)
	}
	real, err := filepath.EvalSymlinks(p)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return "", fmt.Errorf("image: parent of %s: %w", child, err)
	}
	rel, err := filepath.Rel(dir, real)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", &ParentOutsideError{Child: child, Ref: ref, Resolved: real}
	}
	st, err := os.Stat(real)
	if err != nil {
		return "", &ParentMissingError{Child: child, Ref: ref, Tried: []string{real}}
	}
	if why := hostfile.NotImage(st.Mode()); why != "" {
		return "", &ParentMissingError{Child: child, Ref: ref, Found: real, Why: why}
	}
	return p, nil
}
