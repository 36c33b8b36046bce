package ntfs

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

var fixtureShapes = []string{"c4k", "c512", "c64k", "s4k", "full", "frag"}

func fixtureDir(t testing.TB) string {
	t.Helper()
	testenv.RequireTool(t, "mkntfs", "ntfs-3g")
	return testenv.Fixture(t, "ntfs")
}

// copyFixture copies a fixture volume into a temp dir so tests can write it.
func copyFixture(t testing.TB, name string) string {
	t.Helper()
	return testenv.CopyInto(t, filepath.Join(fixtureDir(t), name+".img"), t.TempDir())
}

func openImage(t testing.TB, path string, writable bool) (*Volume, *os.File) {
	t.Helper()
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	v, err := Open(f, st.Size(), Options{Writable: writable})
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	return v, f
}

// readSums parses "sha256  ./path" lines written by the fixture script.
func readSums(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, p, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad sums line %q", sc.Text())
		}
		out[strings.TrimPrefix(p, "./")] = sum
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// walkVolume lists every regular file (with its sha256) and directory the
// volume shows, skipping NTFS metadata files in the root.
func walkVolume(t testing.TB, v *Volume) (files map[string]string, dirs []string) {
	t.Helper()
	files = map[string]string{}
	var rec func(dir string)
	rec = func(dir string) {
		ents, err := v.ReadDir(dir)
		if err != nil {
			t.Fatalf("ReadDir %q: %v", dir, err)
		}
		for _, e := range ents {
			if dir == "" && (strings.HasPrefix(e.Name, "$") || e.Record < firstUser && e.Record != recRoot) {
				continue
			}
			p := e.Name
			if dir != "" {
				p = dir + "/" + e.Name
			}
			if e.IsDir {
				dirs = append(dirs, p)
				checkIndexSizes(t, v, p)
				rec(p)
				continue
			}
			b, err := v.ReadFile(p)
			if err != nil {
				t.Fatalf("ReadFile %q: %v", p, err)
			}
			if int64(len(b)) != e.Size {
				t.Fatalf("%q: read %d bytes, Stat size %d", p, len(b), e.Size)
			}
			files[p] = sha(b)
		}
	}
	checkIndexSizes(t, v, "")
	rec("")
	sort.Strings(dirs)
	return files, dirs
}

func compareSums(t testing.TB, got, want map[string]string) {
	t.Helper()
	bad := 0
	for p, w := range want {
		if g, ok := got[p]; !ok {
			t.Errorf("missing %q", p)
			bad++
		} else if g != w {
			t.Errorf("%q: sha256 %s, want %s", p, g, w)
			bad++
		}
		if bad > 10 {
			t.FailNow()
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("unexpected %q", p)
		}
	}
}

// checkIndexSizes requires every index entry of a directory to carry the
// sizes of its file's $DATA, as chkdsk expects (Windows tolerates stale
// sizes, chkdsk reports them).
func checkIndexSizes(t testing.TB, v *Volume, dir string) {
	t.Helper()
	f, _, err := v.resolve(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := v.openIndex(f)
	if err != nil {
		t.Fatal(err)
	}
	err = d.walk(func(e *indexEntry, fn *fileName) error {
		c, err := v.openFile(refNum(e.Ref))
		if err != nil {
			return err
		}
		// Windows itself leaves metadata files' index sizes stale.
		if c.base.Flags&rfDirectory != 0 || c.base.Num < firstUser {
			return nil
		}
		alloc, size := dataSizes(c)
		if fn.DataSize != size || fn.AllocSize != alloc {
			t.Errorf("%s/%s: index entry sizes %d/%d, $DATA %d/%d", dir, fromUTF16(fn.Name), fn.DataSize, fn.AllocSize, size, alloc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
