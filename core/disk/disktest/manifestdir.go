package disktest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// EntriesIn reads the lines of format format from the MANIFEST of another
// fixture directory dir (same layout as the disk fixture's); there must be
// at least one.
func EntriesIn(t testing.TB, dir, format string) []Entry {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) == 3 && fs[1] == format {
			out = append(out, Entry{Dir: dir, File: fs[0], Format: fs[1], Expect: fs[2]})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s line in %s/MANIFEST", format, dir)
	}
	return out
}

// Named returns the entry of es whose file is name, failing the test when
// there is none.
func Named(t testing.TB, es []Entry, name string) Entry {
	t.Helper()
	for _, e := range es {
		if e.File == name {
			return e
		}
	}
	t.Fatalf("no fixture %s", name)
	return Entry{}
}
