package journal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

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

func TestRecordRoundTripAndTornTail(t *testing.T) {
	rs := []record{
		{kind: kindFile, id: 1, size: 12345, path: "/a/b.vhdx"},
		{kind: kindData, id: 1, off: 4096, data: []byte("old bytes")},
		{kind: kindCreate, id: 2, path: "/a/new.bin"},
	}
	j := []byte(magic)
	for _, r := range rs {
		j = append(j, r.marshal()...)
	}
	got, err := parseJournal(j)
	if err != nil || len(got) != 3 || got[0].size != 12345 || string(got[1].data) != "old bytes" || got[2].path != "/a/new.bin" {
		t.Fatalf("parse = %+v, %v", got, err)
	}
	last := rs[2].marshal()
	for cut := 1; cut < len(last); cut++ {
		got, err := parseJournal(j[:len(j)-cut])
		if err != nil || len(got) != 2 {
			t.Fatalf("cut %d bytes: %d records, %v; want the 2 complete ones", cut, len(got), err)
		}
	}
	bad := bytes.Clone(j)
	bad[len(bad)-1] ^= 0xff // checksum mismatch in the last record
	if got, _ := parseJournal(bad); len(got) != 2 {
		t.Fatalf("corrupt last record: %d records, want 2", len(got))
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
