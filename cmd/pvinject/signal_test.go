package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
)

// TestStoppedBySignal: an inject stopped by Ctrl+C or SIGTERM (main's
// context) says in one line that it was interrupted and what became of the
// image, in words: before planning, after the first files were written
// (rolled back), each time with the image's bytes unchanged and no journal.
func TestStoppedBySignal(t *testing.T) {
	fx := injectFixture(t)
	img := testenv.CopyInto(t, filepath.Join(fx, "disks", win10), t.TempDir())
	sum := testenv.FileSHA256(t, img)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out, errb strings.Builder
	code := run(ctx, []string{"inject", "--drivers", virtioTree(fx), "--in-place", img}, strings.NewReader(""), &out, &errb)
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	if r.code != exitError {
		t.Fatalf("inject with the signal already in: %v", r)
	}
	wantOneLine(t, r, "pvinject inject: stopped (interrupted by Ctrl+C or a termination signal)")
	if strings.Contains(r.stderr, "context canceled") {
		t.Errorf("a Go error's words reach the admin: %q", r.stderr)
	}

	// Mid-write: the core's own message, as the CLI shows it.
	p, err := inject.BuildPlan(context.Background(), nil, inject.Request{Image: img, Drivers: virtioTree(fx), InPlace: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	writes := 0
	_, err = inject.Apply(ctx, p, func(_ float64, action string) {
		if strings.HasPrefix(action, "writing ") {
			if writes++; writes == 3 {
				cancel()
			}
		}
	})
	if err == nil {
		t.Fatal("apply went on after the signal")
	}
	if got := stoppedMessage(err, err.Error()); got != "stopped (interrupted by Ctrl+C or a termination signal): the image was rolled back; nothing changed" {
		t.Errorf("mid-write stop says %q (core: %v)", got, err)
	}
	if testenv.FileSHA256(t, img) != sum || journal.Exists(img) {
		t.Error("a stopped inject left the image changed or a journal beside it")
	}
}
