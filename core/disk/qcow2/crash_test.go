package qcow2_test

import (
	"errors"
	"os/exec"
	"sync/atomic"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/disk/qcow2"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// cutOpener simulates a power cut: after budget host writes, every write
// fails and nothing more reaches the file.
type cutOpener struct{ budget atomic.Int64 }

type cutBacking struct {
	disk.Backing
	o *cutOpener
}

var errCut = errors.New("simulated power cut")

func (c cutBacking) WriteAt(p []byte, off int64) (int, error) {
	if c.o.budget.Add(-1) < 0 {
		return 0, errCut
	}
	return c.Backing.WriteAt(p, off)
}

func (o *cutOpener) Open(path string, writable bool) (disk.Backing, error) {
	b, err := disk.OSOpener{}.Open(path, writable)
	if err != nil {
		return nil, err
	}
	return cutBacking{b, o}, nil
}

func (o *cutOpener) Create(path string) (disk.Backing, error) {
	b, err := disk.OSOpener{}.Create(path)
	if err != nil {
		return nil, err
	}
	return cutBacking{b, o}, nil
}

// TestPowerCut cuts the writes of a random workload after n host writes,
// for many n, and checks that qemu-img check finds at most leaked clusters
// (exit 3), never corruption: refcounts are written before the mappings
// that need them, and the refcount table is switched only once complete.
func TestPowerCut(t *testing.T) {
	testenv.RequireTool(t, "qemu-img")
	cuts := 0
	for _, name := range []string{"c512.qcow2", "zover.qcow2"} {
		var e disktest.Entry
		for _, x := range extraEntries(t, "qcow2") {
			if x.File == name {
				e = x
			}
		}
		for _, n := range []int64{1, 2, 3, 5, 8, 13, 40, 100, 400, 1500, 5000} {
			dir := t.TempDir()
			img, _ := disktest.CopyEntry(t, e, dir)
			o := &cutOpener{}
			o.budget.Store(n)
			err := disktest.ApplyWritesWith(qcow2.Format, img, "", 7, 40, disk.Options{Opener: o})
			if err == nil {
				continue // the workload fit in the budget
			}
			cuts++
			if !errors.Is(err, errCut) {
				t.Fatalf("%s cut after %d writes: unexpected error %v", name, n, err)
			}
			out, cerr := exec.Command("qemu-img", "check", "-f", "qcow2", img).CombinedOutput()
			var ee *exec.ExitError
			if cerr != nil && !(errors.As(cerr, &ee) && ee.ExitCode() == 3) {
				t.Fatalf("%s cut after %d writes: qemu-img check: %v\n%s", name, n, cerr, out)
			}
		}
	}
	if cuts < 15 {
		t.Fatalf("only %d of 22 runs were cut short: the workload no longer tests anything", cuts)
	}
}
