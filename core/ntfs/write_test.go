package ntfs

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func readDirs(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p := strings.TrimPrefix(sc.Text(), "./"); p != "." {
			out = append(out, p)
		}
	}
	return out
}

// fill returns n deterministic pseudo-random bytes.
func fill(seed int64, n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(seed)).Read(b)
	return b
}

// TestWriteShapes replaces and creates files and directories on every
// fixture shape, then has every independent reader check the result.
func TestWriteShapes(t *testing.T) {
	for _, name := range fixtureShapes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := fixtureDir(t)
			baseFiles := readSums(t, filepath.Join(dir, name+".sums"))
			baseDirs := readDirs(t, filepath.Join(dir, name+".dirs"))
			files := readSums(t, filepath.Join(dir, name+".sums"))
			dirs := readDirs(t, filepath.Join(dir, name+".dirs"))
			img := copyFixture(t, name)
			v, _ := openImage(t, img, true)
			var changed []string
			write := func(p string, b []byte) {
				t.Helper()
				if err := v.WriteFile(p, b); err != nil {
					t.Fatalf("WriteFile %s (%d bytes): %v", p, len(b), err)
				}
				files[p] = sha(b)
				changed = append(changed, p)
			}
			mkdir := func(p string) {
				t.Helper()
				if err := v.Mkdir(p); err != nil {
					t.Fatalf("Mkdir %s: %v", p, err)
				}
				dirs = append(dirs, p)
				changed = append(changed, p)
			}
			grow := 200000
			if name == "full" {
				grow = 60000
			}
			write("small.txt", fill(1, grow))                       // resident -> non-resident
			write("big.bin", []byte("shrunk\n"))                    // non-resident shrink
			write("sparse.bin", fill(2, 9000))                      // sparse -> plain
			write("Windows/System32/config/SYSTEM", fill(3, 90000)) // hive grows
			write("empty/first.txt", []byte("in an empty directory"))
			mkdir("Windows/System32/drivers")
			write("Windows/System32/drivers/viostor.sys", fill(4, 50000))
			mkdir("NewTop")
			mkdir("NewTop/Sub")
			write("NewTop/Sub/deep.txt", fill(5, 100))
			// Enough names to promote the root of d20 and split blocks of d300.
			for i := 0; i < 120; i++ {
				write(fmt.Sprintf("d20/added_%03d_with_a_long_name.txt", i), fill(int64(10+i), i*37))
			}
			for i := 0; i < 60; i++ {
				write(fmt.Sprintf("d300/Entry_%d_new.dat", i), fill(int64(200+i), 10))
			}
			if err := v.Close(); err != nil {
				t.Fatal(err)
			}
			sort.Strings(dirs)
			v2, _ := openImage(t, img, false)
			got, gotDirs := walkVolume(t, v2)
			compareSums(t, got, files)
			comparePathSets(t, "ReadDir", gotDirs, dirs)
			oracleCheck(t, img, filepath.Join(dir, name+".img"), baseFiles, baseDirs, files, dirs, changed)
		})
	}
}

func TestReplaceRoundTrip(t *testing.T) {
	img := copyFixture(t, "c4k")
	v, _ := openImage(t, img, true)
	sizes := []int{0, 1, 500, 4095, 4096, 4097, 100000, 3, 1 << 20, 12345, 0, 700}
	for i, n := range sizes {
		b := fill(int64(i), n)
		if err := v.WriteFile("d20/file7.txt", b); err != nil {
			t.Fatalf("size %d: %v", n, err)
		}
		got, err := v.ReadFile("d20/file7.txt")
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("size %d: read back %d bytes, %v", n, len(got), err)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestNtfs3gDeletesCreatedFiles: files and folders that core/ntfs creates
// can be renamed and deleted through a real ntfs-3g mount (what an admin
// or libguestfs does later), and ntfsinfo shows the namespaces chosen in
// docs/NTFS-NAMES.md: POSIX for a long name, Win32-and-DOS for an 8.3 one.
// With Win32-only long names, ntfs-3g's unlink failed with ENOENT.
func TestNtfs3gDeletesCreatedFiles(t *testing.T) {
	img := copyFixture(t, "c4k")
	v, _ := openImage(t, img, true)
	for _, d := range []string{"Windows/System32/drivers", "pvinject", "pvinject/viostor"} {
		if err := v.Mkdir(d); err != nil {
			t.Fatalf("Mkdir %s: %v", d, err)
		}
	}
	for _, f := range []string{"Windows/System32/drivers/viostor.sys", "pvinject/SETUP.CMD", "pvinject/viostor/viostor.inf"} {
		if err := v.WriteFile(f, fill(7, 3000)); err != nil {
			t.Fatalf("WriteFile %s: %v", f, err)
		}
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"/Windows/System32/drivers/viostor.sys": "POSIX", "/pvinject/SETUP.CMD": "Win32 & DOS"} {
		if out := string(tool(t, "ntfsinfo", "-F", p, img)); !strings.Contains(out, "Namespace:\t\t "+want) {
			t.Errorf("ntfsinfo %s: namespace is not %q:\n%s", p, want, out)
		}
	}
	mnt := t.TempDir()
	tool(t, "ntfs-3g", img, mnt)
	mounted := true
	unmount := func() {
		if mounted {
			if err := exec.Command("fusermount", "-u", mnt).Run(); err != nil {
				_ = exec.Command("umount", mnt).Run()
			}
			mounted = false
		}
	}
	defer unmount()
	steps := []func() error{
		func() error { return os.Remove(filepath.Join(mnt, "Windows/System32/drivers/viostor.sys")) },
		func() error { return os.Remove(filepath.Join(mnt, "pvinject/SETUP.CMD")) },
		func() error {
			return os.Rename(filepath.Join(mnt, "pvinject/viostor/viostor.inf"), filepath.Join(mnt, "pvinject/viostor/renamed.inf"))
		},
		func() error { return os.RemoveAll(filepath.Join(mnt, "pvinject")) },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Errorf("step %d through the ntfs-3g mount: %v", i, err)
		}
	}
	unmount()
	if out := string(tool(t, "ntfsls", "-R", img)); strings.Contains(out, "viostor") || strings.Contains(out, "pvinject") {
		t.Errorf("ntfsls still lists the deleted files:\n%s", out)
	}
	tool(t, "ntfsfix", "-n", img)
}
