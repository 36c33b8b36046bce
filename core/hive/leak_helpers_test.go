package hive

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/pvinject/pvinject/core/hive/internal/cheap"
)

func cHeapInUse() int { return cheap.InUse() }

// inLeakChild runs the calling test again in a child process with glibc's
// per-thread cache off, and reports whether this is that child. Freed
// small blocks parked in that cache count as in use in mallinfo2, which
// would blur bounds of a few KiB.
func inLeakChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv("PVINJECT_LEAK_CHILD") == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "PVINJECT_LEAK_CHILD="+t.Name(), "GLIBC_TUNABLES=glibc.malloc.tcache_count=0")
	out, err := cmd.CombinedOutput()
	t.Logf("measured in a child process without glibc's tcache:\n%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("child did not pass %s", t.Name())
	}
	return false
}
