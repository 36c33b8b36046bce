package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/disk"
)

func TestIntervals(t *testing.T) {
	var s intervals
	s.add(10, 20)
	s.add(30, 40)
	s.add(18, 32)
	if len(s) != 1 || s[0] != [2]int64{10, 40} {
		t.Fatalf("merged set = %v, want [[10 40]]", s)
	}
	s.add(50, 60)
	got := s.missing(0, 70)
	want := [][2]int64{{0, 10}, {40, 50}, {60, 70}}
	if len(got) != len(want) {
		t.Fatalf("missing = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("missing = %v, want %v", got, want)
		}
	}
	if m := s.missing(12, 38); len(m) != 0 {
		t.Fatalf("missing inside = %v, want none", m)
	}
}

// writeJournal builds a journal file from records, numbered in order, with
// a header that says it was allocated up to its length (sealed when the
// last record is a seal).
func writeJournal(t testing.TB, path string, rs []record) []byte {
	t.Helper()
	b := make([]byte, headerSize)
	for i, r := range rs {
		r.seq = uint32(i)
		b = append(b, r.marshal()...)
	}
	h := header{alloc: int64(len(b))}
	if len(rs) > 0 && rs[len(rs)-1].kind == kindSeal {
		h = header{flags: flagSealed, alloc: int64(len(b)), count: int64(len(rs)), end: int64(len(b))}
	}
	copy(b, h.marshal())
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

func readJournalFile(t testing.TB, path string) (*journalFile, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readJournal(f, path)
}

// TestTornTailVersusDamage: an unfinished journal may end in one bad record
// (a torn append); a bad record with a valid one after it is damage, and so
// is any bad record in a sealed journal.
func TestTornTailVersusDamage(t *testing.T) {
	dir := t.TempDir()
	jp := filepath.Join(dir, "j")
	rs := []record{
		{kind: kindFile, id: 1, size: 12345, path: "/a/b.vhdx"},
		{kind: kindData, id: 1, off: 4096, data: []byte("old bytes")},
		{kind: kindCreate, id: 2, path: "/a/new.bin"},
	}
	j := writeJournal(t, jp, rs)
	got, err := readJournalFile(t, jp)
	if err != nil || len(got.entries) != 3 || got.entries[0].size != 12345 || got.entries[2].path != "/a/new.bin" || got.sealed {
		t.Fatalf("parse = %+v, %v", got, err)
	}
	// A torn last record: the two before it stand.
	last := rs[2]
	last.seq = 2
	lastLen := len(last.marshal())
	pad := lastLen - (8 + 9 + len(last.path)) // alignment zeros after the payload
	for cut := pad + 1; cut < lastLen; cut += 3 {
		torn := append([]byte(nil), j[:len(j)-cut]...)
		torn = append(torn, make([]byte, cut)...) // the preallocated zeros
		os.WriteFile(jp, torn, 0o600)
		got, err := readJournalFile(t, jp)
		if err != nil || len(got.entries) != 2 {
			t.Fatalf("cut %d bytes: %v, %v; want the 2 complete records", cut, got, err)
		}
	}
	// The second record damaged, the third valid: damage, not a torn tail.
	bad := bytes.Clone(j)
	second := headerSize + recLen(1+4+4+8+len(rs[0].path))
	bad[second+20] ^= 0x40
	os.WriteFile(jp, bad, 0o600)
	var de *DamagedError
	if _, err := readJournalFile(t, jp); !errors.As(err, &de) {
		t.Fatalf("bad record before a valid one: %v, want a DamagedError", err)
	}
	// Sealed: any bad record is damage.
	sealed := append(rs[:3:3], record{kind: kindSeal, seal: []sealFile{{id: 1, size: 12345}, {id: 2, size: 0}}})
	j = writeJournal(t, jp, sealed)
	if got, err := readJournalFile(t, jp); err != nil || !got.sealed {
		t.Fatalf("sealed journal: %+v, %v", got, err)
	}
	for _, off := range []int{0, 9, 20, headerSize + 4, len(j) - 9} {
		b := bytes.Clone(j)
		b[off] ^= 1
		os.WriteFile(jp, b, 0o600)
		if _, err := readJournalFile(t, jp); !errors.As(err, &de) {
			t.Errorf("sealed journal with byte %d flipped: %v, want a DamagedError", off, err)
		}
	}
	os.WriteFile(jp, j[:len(j)-8], 0o600)
	if _, err := readJournalFile(t, jp); !errors.As(err, &de) {
		t.Errorf("sealed journal cut short: %v, want a DamagedError", err)
	}
}

func TestBeginRefusesExistingJournal(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := Begin(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if _, err := Begin(img, nil); !errors.Is(err, ErrJournalExists) {
		t.Fatalf("second Begin: %v, want ErrJournalExists", err)
	}
	if err := Rollback(img); err != nil {
		t.Fatal(err)
	}
	if Exists(img) {
		t.Fatal("journal left after rollback")
	}
	if err := Rollback(img); !errors.Is(err, ErrNoJournal) {
		t.Fatalf("rollback without journal: %v, want ErrNoJournal", err)
	}
}

// TestRollbackSizesAndCreatedFiles grows one file, shrinks and regrows
// another, creates a third, and checks rollback restores all of it.
func TestRollbackSizesAndCreatedFiles(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	origA := bytes.Repeat([]byte("A"), 10000)
	origB := bytes.Repeat([]byte("Bb"), 50000)
	os.WriteFile(a, origA, 0o644)
	os.WriteFile(b, origB, 0o644)
	o, err := Begin(a, nil)
	if err != nil {
		t.Fatal(err)
	}
	fa, err := o.Open(a, true)
	if err != nil {
		t.Fatal(err)
	}
	fa.WriteAt([]byte("xxxx"), 9998) // grows by 2
	fa.Truncate(20000)
	fb, _ := o.Open(b, true)
	fb.Truncate(100)
	fb.Truncate(90000)
	fb.WriteAt([]byte("zz"), 50000)
	fb.WriteAt([]byte("yy"), 10)
	fc, err := o.Create(c)
	if err != nil {
		t.Fatal(err)
	}
	fc.WriteAt([]byte("new"), 0)
	for _, f := range []disk.Backing{fa, fb, fc} {
		f.Close()
	}
	o.Close()
	if err := Rollback(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(a); !bytes.Equal(got, origA) {
		t.Fatalf("a not restored (len %d)", len(got))
	}
	if got, _ := os.ReadFile(b); !bytes.Equal(got, origB) {
		t.Fatalf("b not restored (len %d)", len(got))
	}
	if _, err := os.Stat(c); !os.IsNotExist(err) {
		t.Fatalf("created file c still there: %v", err)
	}
}

func TestCommitRemovesJournal(t *testing.T) {
	img := filepath.Join(t.TempDir(), "disk.img")
	os.WriteFile(img, make([]byte, 4096), 0o644)
	o, err := Begin(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := o.Open(img, true)
	f.WriteAt([]byte{1}, 0)
	f.Close()
	if err := o.Commit(); err != nil {
		t.Fatal(err)
	}
	if Exists(img) {
		t.Fatal("journal left after commit")
	}
	if got, _ := os.ReadFile(img); got[0] != 1 {
		t.Fatal("committed write lost")
	}
}

// TestUnfinishedModifiedLater: the journal of a run that never sealed has
// no hashes; a file modified well after the run's last sign of life was
// written by someone else, so the rollback refuses (journal kept, nothing
// written) unless forced. A file deleted since is refused too, and never
// created again.
func TestUnfinishedModifiedLater(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	orig := bytes.Repeat([]byte("o"), 8192)
	os.WriteFile(img, orig, 0o644)
	o, err := Begin(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := o.Open(img, true)
	f.WriteAt([]byte("new"), 100)
	f.Close()
	o.Close()
	jst, _ := os.Stat(Path(img))
	later := jst.ModTime().Add(10 * time.Minute)
	os.Chtimes(img, later, later)
	changed, _ := os.ReadFile(img)
	var ce *ChangedError
	if _, err := RollbackWith(img, Options{}); !errors.As(err, &ce) || ce.Finished || len(ce.Changes) != 1 || !strings.Contains(ce.Changes[0].What, "modified") {
		t.Fatalf("rollback of a file modified after the run: %v, want a ChangedError", err)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, changed) || !Exists(img) {
		t.Fatal("a refused rollback wrote or removed the journal")
	}
	res, err := RollbackWith(img, Options{Force: true})
	if err != nil || len(res.Forced) != 1 {
		t.Fatalf("forced: %+v %v", res, err)
	}
	if got, _ := os.ReadFile(img); !bytes.Equal(got, orig) {
		t.Fatal("forced rollback did not restore")
	}
	// Deleted since: refused, and not created again.
	os.WriteFile(img, orig, 0o644)
	o, _ = Begin(img, nil)
	f, _ = o.Open(img, true)
	f.WriteAt([]byte("new"), 100)
	f.Close()
	o.Close()
	os.Remove(img)
	if _, err := RollbackWith(img, Options{}); !errors.As(err, &ce) || !strings.Contains(ce.Error(), "no longer exists") {
		t.Fatalf("rollback of a deleted file: %v", err)
	}
	if _, err := os.Lstat(img); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("rollback created the deleted file")
	}
}

// TestSealedRefusesChangedBytes: after Seal, a byte changed inside what the
// run wrote (or in what it appended) makes the rollback refuse and name
// the 4 KiB piece; a byte changed elsewhere is not the run's and does not.
func TestSealedRefusesChangedBytes(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	orig := bytes.Repeat([]byte("o"), 64<<10)
	run := func() {
		os.WriteFile(img, orig, 0o644)
		o, err := Begin(img, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := o.Open(img, true)
		f.WriteAt(bytes.Repeat([]byte("n"), 5000), 10000) // bytes 10000..14999
		f.WriteAt([]byte("tail"), 64<<10)                 // grows the file
		f.Close()
		if err := o.Seal(); err != nil {
			t.Fatal(err)
		}
		o.Close()
	}
	poke := func(off int64) {
		f, _ := os.OpenFile(img, os.O_WRONLY, 0)
		f.WriteAt([]byte{'X'}, off)
		f.Close()
	}
	for _, c := range []struct {
		off      int64
		refuse   bool
		from, to int64
	}{{12345, true, 12288, 15000}, {65537, true, 65536, 65540}, {100, false, 0, 0}} {
		run()
		poke(c.off)
		_, err := RollbackWith(img, Options{})
		var ce *ChangedError
		if !c.refuse {
			if err != nil {
				t.Fatalf("byte %d changed (not the run's): %v", c.off, err)
			}
			continue
		}
		if !errors.As(err, &ce) || !ce.Finished || len(ce.Changes) != 1 || ce.Changes[0].Off != c.from || ce.Changes[0].End != c.to {
			t.Fatalf("byte %d changed: %v, want a refusal naming bytes %d..%d", c.off, err, c.from, c.to)
		}
		if !Exists(img) {
			t.Fatal("journal removed by a refusal")
		}
		os.Remove(Path(img))
	}
}

// TestRollbackThroughSymlink: a run made through a symbolic link to the
// image is checked and rolled back through it (the checks follow the link
// as the writes did).
func TestRollbackThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.img")
	link := filepath.Join(dir, "link.img")
	orig := bytes.Repeat([]byte("o"), 8192)
	os.WriteFile(real, orig, 0o644)
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	for _, seal := range []bool{true, false} {
		o, err := Begin(link, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := o.Open(link, true)
		f.WriteAt([]byte("new"), 100)
		f.Close()
		if seal {
			if err := o.Seal(); err != nil {
				t.Fatal(err)
			}
		}
		o.Close()
		if err := Rollback(link); err != nil {
			t.Fatalf("sealed %v: %v", seal, err)
		}
		if got, _ := os.ReadFile(real); !bytes.Equal(got, orig) {
			t.Fatalf("sealed %v: not restored", seal)
		}
	}
}

// TestCrashInsideSeal: killed between appending the seal and marking the
// header (the header still says unsealed, zeros follow the seal), or after
// marking it but before the allocated zeros are cut: either way the journal
// reads as sealed and rolls back.
func TestCrashInsideSeal(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	orig := bytes.Repeat([]byte("o"), 8192)
	for _, markHeader := range []bool{false, true} {
		os.WriteFile(img, orig, 0o644)
		o, err := Begin(img, nil)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := o.Open(img, true)
		f.WriteAt([]byte("new"), 100)
		f.Close()
		alloc := o.alloc
		if err := o.Seal(); err != nil {
			t.Fatal(err)
		}
		end, count := o.pos, int64(o.seq)
		o.Close()
		jf, _ := os.OpenFile(Path(img), os.O_RDWR, 0)
		jf.Truncate(alloc) // the zeros the seal cut off
		h := header{alloc: alloc}
		if markHeader {
			h = header{flags: flagSealed, alloc: alloc, count: count, end: end}
		}
		jf.WriteAt(h.marshal(), 0)
		jf.Close()
		j, err := readJournalFile(t, Path(img))
		if err != nil || !j.sealed {
			t.Fatalf("header marked %v: %+v, %v; want a sealed journal", markHeader, j, err)
		}
		if err := Rollback(img); err != nil {
			t.Fatalf("header marked %v: %v", markHeader, err)
		}
		if got, _ := os.ReadFile(img); !bytes.Equal(got, orig) {
			t.Fatalf("header marked %v: not restored", markHeader)
		}
	}
}
