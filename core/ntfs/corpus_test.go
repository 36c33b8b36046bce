package ntfs

import (
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// sectionFile exposes part of a file as a volume.
type sectionFile struct {
	f   *os.File
	off int64
}

func (s sectionFile) ReadAt(b []byte, off int64) (int, error) { return s.f.ReadAt(b, off+s.off) }
func (s sectionFile) WriteAt(b []byte, off int64) (int, error) {
	return s.f.WriteAt(b, off+s.off)
}

// TestCorpusImages opens volumes formatted by Windows read-only and
// compares their trees, and the bytes of every file, with The Sleuth Kit.
func TestCorpusImages(t *testing.T) {
	testenv.RequireTool(t, "fls", "icat", "xz")
	cases := []struct {
		rel    string
		sector int64 // partition start in 512-byte sectors
	}{
		{"images/dfir_ntfs_ntfs_index.raw.gz", 128},
		{"images/util-linux_ntfs.img.xz", 0},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			src := testenv.CorpusFile(t, c.rel)
			raw := filepath.Join(t.TempDir(), "disk.raw")
			out, err := os.Create(raw)
			if err != nil {
				t.Fatal(err)
			}
			in, err := os.Open(src)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			if strings.HasSuffix(c.rel, ".gz") {
				zr, err := gzip.NewReader(in)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(out, zr); err != nil {
					t.Fatal(err)
				}
			} else {
				cmd := exec.Command("xz", "-dc")
				cmd.Stdin, cmd.Stdout = in, out
				if err := cmd.Run(); err != nil {
					t.Fatal(err)
				}
			}
			st, _ := out.Stat()
			size := st.Size() - c.sector*512
			v, err := Open(sectionFile{out, c.sector * 512}, size, Options{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			files, dirs := walkVolume(t, v)
			major, minor := v.Version()
			t.Logf("NTFS %d.%d, cluster %d, record %d: %d files, %d dirs, findings %+v",
				major, minor, v.ClusterSize(), v.RecordSize(), len(files), len(dirs), Check(v))
			if fi, err := v.Stat("$upcase"); err != nil || fi.Size != 2*upcaseLen {
				t.Fatalf("Stat $UpCase: %+v %v", fi, err)
			}
			var got []string
			inodes := map[string]string{}
			flsOut := tool(t, "fls", "-r", "-p", "-o", itoa(c.sector), raw)
			for _, line := range strings.Split(string(flsOut), "\n") {
				meta, p, ok := strings.Cut(line, ":\t")
				if !ok || strings.Contains(meta, "*") || !userPath(p) || strings.HasPrefix(p, "$OrphanFiles") {
					continue
				}
				got = append(got, p)
				f := strings.Fields(meta)
				inodes[p] = strings.SplitN(f[len(f)-1], "-", 2)[0]
			}
			comparePathSets(t, "fls -r", got, wantPaths(files, dirs))
			for p, sum := range files {
				if g := sha(tool(t, "icat", "-o", itoa(c.sector), raw, inodes[p])); g != sum {
					t.Errorf("%s: our sha256 %s, icat %s", p, sum, g)
				}
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// corpusVolume extracts a corpus image's NTFS volume into a bare file
// with independent tools (gzip, qemu-img).
func corpusVolume(t *testing.T, rel string, startSector int64) string {
	t.Helper()
	src := testenv.CorpusFile(t, rel)
	img := filepath.Join(t.TempDir(), "volume.img")
	if strings.HasSuffix(rel, ".qcow2") {
		testenv.RequireTool(t, "qemu-img")
		tool(t, "qemu-img", "convert", "-O", "raw", src, img)
		return img
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(io.Discard, zr, startSector*512); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	return img
}

// TestCorpusWrite writes into volumes made by Windows (a Windows 7 disk,
// and a Windows-formatted volume holding a Windows\System32\config tree):
// replaces an existing file, creates files and a directory, then checks
// the volume with ntfsfix, The Sleuth Kit, the other listers and a real
// ntfs-3g mount.
func TestCorpusWrite(t *testing.T) {
	testenv.RequireTool(t, "fls", "icat", "ntfsfix", "ntfs-3g")
	for _, c := range []struct {
		rel    string
		sector int64
	}{
		{"images/dfir_ntfs_ntfs_index.raw.gz", 128},
		{"images/dfvfs_windows_volume.qcow2", 0},
	} {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			corpusWrite(t, corpusVolume(t, c.rel, c.sector))
		})
	}
}

func corpusWrite(t *testing.T, img string) {
	origFix, _ := toolOut("ntfsfix", "-n", img)
	v, _ := openImage(t, img, true)
	before, dirs := walkVolume(t, v)
	usable := map[string]bool{}
	for _, l := range listers {
		if got, err := l.list(img); err == nil && sameSet(got, wantPaths(before, dirs)) {
			usable[l.name] = true
		} else {
			t.Logf("%s misreads the untouched volume; not used", l.name)
		}
	}
	if len(before) == 0 {
		t.Fatal("no files in the corpus volume")
	}
	files := map[string]string{}
	for p, s := range before {
		files[p] = s
	}
	var victim string
	for p := range before {
		if victim == "" || p < victim {
			victim = p
		}
	}
	changes := map[string][]byte{
		victim:              fill(1, 150000),
		"pvinject.txt":      []byte("written by pvinject\r\n"),
		"PVDRV/viostor.sys": fill(2, 90000),
		"PVDRV/VIOSTOR.INF": fill(3, 3000),
	}
	if err := v.Mkdir("PVDRV"); err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, "PVDRV")
	for _, p := range []string{victim, "pvinject.txt", "PVDRV/viostor.sys", "PVDRV/VIOSTOR.INF"} {
		if err := v.WriteFile(p, changes[p]); err != nil {
			t.Fatalf("WriteFile %s: %v", p, err)
		}
		files[p] = sha(changes[p])
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	// Require exactly the verdict ntfsfix gave the untouched volume (one
	// corpus image lacks its backup boot sector, which ntfsfix reports).
	out2, _ := toolOut("ntfsfix", "-n", img)
	if string(out2) != string(origFix) {
		t.Errorf("ntfsfix -n before writing:\n%s\nafter:\n%s", origFix, out2)
	}
	var got []string
	inodes := map[string]string{}
	for _, line := range strings.Split(string(tool(t, "fls", "-r", "-p", img)), "\n") {
		meta, p, ok := strings.Cut(line, ":\t")
		if !ok || strings.Contains(meta, "*") || !userPath(p) || strings.HasPrefix(p, "$OrphanFiles") {
			continue
		}
		got = append(got, p)
		f := strings.Fields(meta)
		inodes[p] = strings.SplitN(f[len(f)-1], "-", 2)[0]
	}
	comparePathSets(t, "fls -r", got, wantPaths(files, dirs))
	for _, l := range listers {
		if usable[l.name] {
			got, err := l.list(img)
			if err != nil {
				t.Errorf("%s: %v", l.name, err)
			}
			comparePathSets(t, l.name, got, wantPaths(files, dirs))
		}
	}
	for p := range changes {
		if g := sha(tool(t, "icat", img, inodes[p])); g != files[p] {
			t.Errorf("icat %s: sha256 %s, want %s", p, g, files[p])
		}
		if g := goNTFSSum(t, img, p); g != files[p] {
			t.Errorf("go-ntfs %s: sha256 %s, want %s", p, g, files[p])
		}
	}
	mountCheck(t, img, files, wantPaths(files, dirs))
	v2, _ := openImage(t, img, false)
	got2, _ := walkVolume(t, v2)
	compareSums(t, got2, files)
	t.Logf("replaced %s; created 3 files and a directory", victim)
}
