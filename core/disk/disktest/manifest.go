package disktest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Entry is one line of the disk fixture's MANIFEST.
type Entry struct {
	Dir    string // fixture directory
	File   string // image file name, relative to Dir
	Format string // qemu-img format name
	Expect string // raw file holding the bytes any reader must return
}

// Path is the image's absolute path.
func (e Entry) Path() string { return filepath.Join(e.Dir, e.File) }

// ExpectPath is the expected raw file's absolute path.
func (e Entry) ExpectPath() string { return filepath.Join(e.Dir, e.Expect) }

// FixtureDir builds (once) and returns the `disk` fixture directory.
func FixtureDir(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "qemu-img", "qemu-io", "sfdisk", "mkntfs", "ntfs-3g")
	return testenv.Fixture(t, "disk")
}

// Entries returns the MANIFEST entries of the disk fixture whose format is
// format ("" for all) and that filter accepts (nil accepts all).
func Entries(t testing.TB, format string, filter func(Entry) bool) []Entry {
	t.Helper()
	dir := FixtureDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatalf("disktest: %v", err)
	}
	defer f.Close()
	var out []Entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		e := Entry{Dir: dir, File: fields[0], Format: fields[1], Expect: fields[2]}
		if format != "" && e.Format != format {
			continue
		}
		if filter != nil && !filter(e) {
			continue
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("disktest: MANIFEST: %v", err)
	}
	return out
}

// Small is a filter that leaves out the 4.5 GiB multi-extent fixtures, for
// tests that must stay quick (they are still read by ReadAll with nil).
func Small(e Entry) bool { return !strings.Contains(e.File, "big") }

// Not returns a filter accepting the entries whose file name is none of names.
func Not(names ...string) func(Entry) bool {
	return func(e Entry) bool {
		for _, n := range names {
			if e.File == n {
				return false
			}
		}
		return true
	}
}
