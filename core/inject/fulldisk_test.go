package inject

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestFullDisk: a disk-full error is recognised through every layer's
// wrapping, and the folder named to the admin is the host folder (not a
// path inside the guest, not the staging folder of a new image).
func TestFullDisk(t *testing.T) {
	host := &fs.PathError{Op: "write", Path: "/vms/.new.qcow2.pvinject-123/new.qcow2", Err: syscall.ENOSPC}
	guest := &fs.PathError{Op: "create", Path: `Windows\pvinject\x.cat`, Err: fmt.Errorf("ntfs: %w", host)}
	for _, c := range []struct {
		err    error
		folder string
		full   bool
	}{
		{fmt.Errorf("inject: %w (no new image was written)", guest), "/vms", true},
		{fmt.Errorf("a: %w", &fs.PathError{Op: "write", Path: "/srv/img.raw", Err: syscall.ENOSPC}), "/srv", true},
		{errors.Join(errors.New("x"), fmt.Errorf("y: %w", host)), "/vms", true},
		{fmt.Errorf("z: %w", syscall.ENOSPC), "", true},
		{fmt.Errorf("z: %w", syscall.EIO), "", false},
	} {
		if folder, full := FullDisk(c.err); folder != c.folder || full != c.full {
			t.Errorf("FullDisk(%v) = %q, %v; want %q, %v", c.err, folder, full, c.folder, c.full)
		}
	}
}
