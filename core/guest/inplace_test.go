//go:build cgo

package guest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/ntfs"
)

// recordingFS notes which files were read whole and how many bytes were
// read in place, forwarding OpenReaderAt when the FS under it has it.
type recordingFS struct {
	FS
	mu      sync.Mutex
	whole   []string
	inPlace int64
}

func (r *recordingFS) ReadFile(name string) ([]byte, error) {
	r.mu.Lock()
	r.whole = append(r.whole, name)
	r.mu.Unlock()
	return r.FS.ReadFile(name)
}

func (r *recordingFS) OpenReaderAt(name string) (io.ReaderAt, int64, error) {
	ra, size, err := r.FS.(ReaderAtFS).OpenReaderAt(name)
	if err != nil {
		return nil, 0, err
	}
	return countingReaderAt{ra, r}, size, nil
}

type countingReaderAt struct {
	io.ReaderAt
	r *recordingFS
}

func (c countingReaderAt) ReadAt(b []byte, off int64) (int, error) {
	n, err := c.ReaderAt.ReadAt(b, off)
	c.r.mu.Lock()
	c.r.inPlace += int64(n)
	c.r.mu.Unlock()
	return n, err
}

func (c countingReaderAt) Close() error {
	if cl, ok := c.ReaderAt.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}

// cleanReadWhole lists the SOFTWARE hives read whole that could have been
// read in place (OpenLazy takes them). SYSTEM is always read whole: it is
// the hive an injection writes, so all of it is checked at detection.
func (r *recordingFS) cleanReadWhole(t *testing.T) []string {
	var out []string
	for _, f := range r.whole {
		if base := path.Base(f); !strings.EqualFold(base, "SOFTWARE") {
			continue
		}
		ra, size, err := r.FS.(ReaderAtFS).OpenReaderAt(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hive.OpenLazy(f, ra, size); err == nil {
			out = append(out, f)
		}
		if c, ok := ra.(io.Closer); ok {
			c.Close()
		}
	}
	return out
}

func (r *recordingFS) readWhole(suffix string) bool {
	for _, f := range r.whole {
		if strings.HasSuffix(strings.ToUpper(f), "/"+suffix) {
			return true
		}
	}
	return false
}

// sameDetection asserts both detections marshal to the same JSON (every
// field, finding and list, in order).
func sameDetection(t *testing.T, label string, got, want []Windows) {
	t.Helper()
	g, _ := json.MarshalIndent(got, "", " ")
	w, _ := json.MarshalIndent(want, "", " ")
	if string(g) != string(w) {
		t.Errorf("%s: in-place detection differs from whole-file detection:\n got %s\nwant %s", label, g, w)
	}
}

// TestInPlaceMatchesWholeFile detects every synthetic guest, and the
// guests built around the corpus's real SYSTEM hives when the corpus is
// there, both ways, and checks that the in-place way really left clean
// SOFTWARE and SYSTEM hives unread.
func TestInPlaceMatchesWholeFile(t *testing.T) {
	testenv.RequireTool(t, "hivexregedit")
	fix := testenv.Fixture(t, "guests")
	var dirs []string
	for _, sub := range []string{"trees", "real"} {
		ents, err := os.ReadDir(filepath.Join(fix, sub))
		if sub == "real" && errors.Is(err, fs.ErrNotExist) && !testenv.Strict() {
			t.Log("no corpus guests (the corpus is absent): compared synthetic guests only")
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			dirs = append(dirs, filepath.Join(fix, sub, e.Name()))
		}
	}
	for _, d := range dirs {
		label := filepath.Base(filepath.Dir(d)) + "/" + filepath.Base(d)
		dir := DirFS(d)
		want, werr := Detect(dir, OpenHive)
		rec := &recordingFS{FS: dir}
		got, gerr := Detect(rec, nil)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: errors differ: %v vs %v", label, gerr, werr)
		}
		sameDetection(t, label, got, want)
		// The no-software guest has no hive that may be read in place.
		if clean := rec.cleanReadWhole(t); len(clean) > 0 || rec.inPlace == 0 && label != "trees/no-software" {
			t.Errorf("%s: clean hives read whole: %q; %d bytes read in place", label, clean, rec.inPlace)
		}
		if !rec.readWhole("SYSTEM") {
			t.Errorf("%s: the SYSTEM hive was not read whole", label)
		}
	}
}

// TestInPlaceDirtyFallsBack: a dirty SYSTEM hive must be read whole (where
// logs would be replayed), never in place; here without logs, so the
// whole-file path's warning must appear in both detections.
func TestInPlaceDirtyFallsBack(t *testing.T) {
	testenv.RequireTool(t, "hivexregedit")
	root := copyTree(t, filepath.Join(testenv.Fixture(t, "guests"), "trees", "10-x64-virtio"), false)
	p := filepath.Join(root, "Windows", "System32", "config", "SYSTEM")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// Bump the primary sequence number and reseal the checksum, as Windows
	// leaves a hive whose changes are only in its logs.
	le := binary.LittleEndian
	le.PutUint32(b[4:], le.Uint32(b[4:])+1)
	var sum uint32
	for i := 0; i < 508; i += 4 {
		sum ^= le.Uint32(b[i:])
	}
	le.PutUint32(b[508:], sum)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	want, err := Detect(DirFS(root), OpenHive)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingFS{FS: DirFS(root)}
	got, err := Detect(rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameDetection(t, "dirty SYSTEM", got, want)
	if !rec.readWhole("SYSTEM") || rec.readWhole("SOFTWARE") {
		t.Errorf("read whole: %q; want SYSTEM (dirty) and not SOFTWARE (clean)", rec.whole)
	}
	found := false
	for _, f := range got[0].Safety.Blockers {
		found = found || f.Code == "hive.dirty_no_logs"
	}
	if !found {
		t.Errorf("no dirty-hive blocker: %+v", got[0].Safety)
	}
}

// TestInPlaceNTFS detects the installs of the fixture disk's NTFS
// partitions both ways, through core/ntfs as inspect does.
func TestInPlaceNTFS(t *testing.T) {
	for _, part := range fixturePartitions(t) {
		label := part.label
		vol, err := ntfs.Open(part.sec, part.sec.Size(), ntfs.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, werr := Detect(FromNTFS(vol), OpenHive)
		rec := &recordingFS{FS: FromNTFS(vol)}
		got, gerr := Detect(rec, nil)
		vol.Close()
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: errors differ: %v vs %v", label, gerr, werr)
		}
		sameDetection(t, label, got, want)
		if clean := rec.cleanReadWhole(t); len(want) > 0 && (len(clean) > 0 || rec.inPlace == 0) {
			t.Errorf("%s: clean hives read whole: %q; %d bytes read in place", label, clean, rec.inPlace)
		}
	}
}

// fixturePart is one NTFS partition of the guests fixture's ntfs.raw.
type fixturePart struct {
	label string
	sec   *io.SectionReader
}

// fixturePartitions opens ntfs.raw (closed when the test ends) and returns
// its partitions as listed in ntfs.parts.
func fixturePartitions(t *testing.T) []fixturePart {
	t.Helper()
	dir := testenv.Fixture(t, "guests")
	f, err := os.Open(filepath.Join(dir, "ntfs.raw"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	parts, err := os.ReadFile(filepath.Join(dir, "ntfs.parts"))
	if err != nil {
		t.Fatal(err)
	}
	var out []fixturePart
	for _, line := range strings.Split(strings.TrimSpace(string(parts)), "\n") {
		var start, size int64
		var label string
		if _, err := fmt.Sscan(line, &start, &size, &label); err != nil {
			t.Fatalf("ntfs.parts line %q: %v", line, err)
		}
		out = append(out, fixturePart{label, io.NewSectionReader(f, start, size)})
	}
	if len(out) == 0 {
		t.Fatal("ntfs.parts lists no partition")
	}
	return out
}
