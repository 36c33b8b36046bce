package inject

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/journal/faultinject"
)

// TestDamagedJournal is the second data-loss case: the journal of
// a real in-place injection, cut at sampled points (0, 8, 4096, half and
// more) or with one byte flipped at 50 offsets in its header and body.
// Each time the rollback must either restore the original image byte for
// byte or refuse with the image and the journal untouched; never report
// "restored" over a different image.
func TestDamagedJournal(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "10-x64-virtio.qcow2")
	orig := fileBytes(t, src)
	img := testenv.CopyInto(t, src, t.TempDir())
	if _, err := Apply(context.Background(), planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree")), nil); err != nil {
		t.Fatal(err)
	}
	injected, jb := fileBytes(t, img), fileBytes(t, journal.Path(img))
	if bytes.Equal(injected, orig) {
		t.Fatal("the injection changed nothing")
	}
	n := len(jb)
	cuts := map[int]bool{0: true, 8: true, 4096: true, n / 2: true, n - 1: true, 39: true, 40: true, 511: true, 512: true}
	for i := 1; len(cuts) < 60; i++ {
		cuts[i*n/53] = true
	}
	flips := map[int]bool{}
	for _, o := range []int{0, 7, 8, 12, 20, 28, 36, 39, 512, 516, 520, 525} {
		flips[o] = true
	}
	for i := 1; len(flips) < 50; i++ {
		flips[512+i*(n-512)/39] = true
	}
	type trial struct {
		name string
		j    []byte
	}
	var trials []trial
	for _, c := range sortedKeys(cuts) {
		if c < n {
			trials = append(trials, trial{"cut at " + itoa(c), jb[:c]})
		}
	}
	for _, o := range sortedKeys(flips) {
		if o < n {
			b := bytes.Clone(jb)
			b[o] ^= 0x10
			trials = append(trials, trial{"byte " + itoa(o) + " flipped", b})
		}
	}
	var restored, refused, wrong int
	for _, tr := range trials {
		os.WriteFile(img, injected, 0o644)
		os.WriteFile(journal.Path(img), tr.j, 0o600)
		err := Rollback(img)
		got := fileBytes(t, img)
		switch {
		case err == nil && bytes.Equal(got, orig) && !journal.Exists(img):
			restored++
		case err != nil && bytes.Equal(got, injected) && bytes.Equal(fileBytes(t, journal.Path(img)), tr.j):
			refused++
			var de *journal.DamagedError
			if !errors.As(err, &de) {
				t.Errorf("%s: refused, but not as a damaged journal: %v", tr.name, err)
			}
		default:
			wrong++
			t.Errorf("%s: rollback error %v; image original %v, injected %v (sha256 %x); journal kept %v",
				tr.name, err, bytes.Equal(got, orig), bytes.Equal(got, injected), sha256.Sum256(got), journal.Exists(img))
		}
	}
	t.Logf("journal of %d bytes, %d damaged copies (%d cuts, %d flipped bytes): restored %d, refused %d, wrong %d",
		n, len(trials), len(cuts), len(flips), restored, refused, wrong)
	if refused == 0 {
		t.Error("no damaged journal was refused")
	}
}

func sortedKeys(m map[int]bool) []int {
	var out []int
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestDamagedUnfinishedJournal: the same for the journal of a run killed
// half-way (no seal): cut at 30 points, one byte flipped at 60 offsets in
// its records. It may end in a torn record, so a damaged last record can
// pass for one; what matters is still that no rollback reports success
// over an image that is not the original.
func TestDamagedUnfinishedJournal(t *testing.T) {
	dir := fixture(t)
	src := filepath.Join(dir, "disks", "10-x64-virtio.qcow2")
	orig := fileBytes(t, src)
	img := testenv.CopyInto(t, src, t.TempDir())
	p := planFor(t, img, filepath.Join(dir, "drivers", "virtio-tree"))
	data, err := loadFileData(p)
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Begin(img, &faultinject.Opener{After: 40, Mode: faultinject.Kill})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(context.Background(), p, data, j, func(float64, string) {}); err == nil {
		t.Fatal("the killed run did not fail")
	}
	j.Close()
	crashed, jb := fileBytes(t, img), fileBytes(t, journal.Path(img))
	end := len(jb) // the records end where the allocated zeros begin
	for end > 0 && jb[end-1] == 0 {
		end--
	}
	var restored, refused, wrong int
	try := func(name string, b []byte) {
		os.WriteFile(img, crashed, 0o644)
		os.WriteFile(journal.Path(img), b, 0o600)
		err := Rollback(img)
		got := fileBytes(t, img)
		switch {
		case err == nil && bytes.Equal(got, orig):
			restored++
		case err != nil && bytes.Equal(got, crashed) && bytes.Equal(fileBytes(t, journal.Path(img)), b):
			refused++
		default:
			wrong++
			t.Errorf("%s: rollback error %v; image original %v, as left by the crash %v", name, err, bytes.Equal(got, orig), bytes.Equal(got, crashed))
		}
	}
	for i := 0; i < 30; i++ {
		try("cut at "+itoa(i*len(jb)/30), jb[:i*len(jb)/30])
	}
	// 40 offsets spread over the records, 20 in the last few records (a
	// damaged last record must not pass for a torn append).
	for i := 0; i < 60; i++ {
		o := 512 + i*(end-512)/40
		if i >= 40 {
			o = end - 1 - (i-40)*23
		}
		b := bytes.Clone(jb)
		b[o] ^= 0x10
		try("byte "+itoa(o)+" flipped", b)
	}
	t.Logf("unfinished journal of %d bytes (records end at %d), 90 damaged copies: restored %d, refused %d, wrong %d", len(jb), end, restored, refused, wrong)
}
