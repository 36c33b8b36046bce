package ntfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// The oracles below are independent NTFS readers. Every write test checks
// the volume with all of them; where one is stricter, it decides.

func tool(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

// userPath reports whether a listed path is user content (not NTFS
// metadata, streams or tool-made pseudo folders).
func userPath(p string) bool {
	p = strings.TrimPrefix(p, "/")
	return p != "" && p != "." && !strings.HasPrefix(p, "$") && !strings.HasPrefix(p, "[") && !strings.Contains(p, ":")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func wantPaths(files map[string]string, dirs []string) []string {
	all := append(sortedKeys(files), dirs...)
	sort.Strings(all)
	return all
}

func comparePathSets(t testing.TB, tool string, got, want []string) {
	t.Helper()
	sort.Strings(got)
	g, w := strings.Join(got, "\n"), strings.Join(want, "\n")
	if g == w {
		return
	}
	gs, ws := map[string]bool{}, map[string]bool{}
	for _, p := range got {
		gs[p] = true
	}
	for _, p := range want {
		ws[p] = true
	}
	n := 0
	for p := range ws {
		if !gs[p] && n < 10 {
			t.Errorf("%s: missing %q", tool, p)
			n++
		}
	}
	for p := range gs {
		if !ws[p] && n < 20 {
			t.Errorf("%s: unexpected %q", tool, p)
			n++
		}
	}
	if n == 0 {
		t.Errorf("%s: listing differs (duplicates?): %d vs %d entries", tool, len(got), len(want))
	}
}

func hashTree(t testing.TB, root string) (map[string]string, []string) {
	t.Helper()
	files := map[string]string{}
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." || !userPath(rel) {
			if d.IsDir() && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, rel)
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		files[rel] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	sort.Strings(dirs)
	return files, dirs
}

func toolOut(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/sbin:/sbin", "LC_ALL=C.UTF-8")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s\n%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

// lister lists user paths (files and directories) of an image.
type lister struct {
	name string
	list func(img string) ([]string, error)
}

var listers = []lister{
	{"ntfsls -R", func(img string) ([]string, error) {
		out, err := toolOut("ntfsls", "-R", "-p", "/", img)
		var got []string
		cur := ""
		for _, line := range strings.Split(string(out), "\n") {
			switch {
			case line == "", line == ".", line == "..":
			case strings.HasPrefix(line, "/") && strings.HasSuffix(line, ":"):
				cur = strings.TrimPrefix(strings.TrimSuffix(line, ":"), "/")
			default:
				p := line
				if cur != "" {
					p = cur + "/" + line
				}
				if userPath(p) {
					got = append(got, p)
				}
			}
		}
		return got, err
	}},
	{"fls -r", func(img string) ([]string, error) {
		out, err := toolOut("fls", "-r", "-p", img)
		var got []string
		for _, line := range strings.Split(string(out), "\n") {
			if meta, p, ok := strings.Cut(line, ":\t"); ok && !strings.Contains(meta, "*") && userPath(p) {
				got = append(got, p)
			}
		}
		return got, err
	}},
	{"fsntfsinfo -H", func(img string) ([]string, error) {
		out, err := toolOut("fsntfsinfo", "-H", img)
		var got []string
		for _, line := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(line, `\`) {
				if p := strings.ReplaceAll(strings.TrimPrefix(line, `\`), `\`, "/"); userPath(p) {
					got = append(got, p)
				}
			}
		}
		return got, err
	}},
	{"7zz l", func(img string) ([]string, error) {
		out, err := toolOut("7zz", "l", "-slt", "-ba", img)
		var got []string
		for _, line := range strings.Split(string(out), "\n") {
			if p, ok := strings.CutPrefix(line, "Path = "); ok && userPath(p) {
				got = append(got, p)
			}
		}
		return got, err
	}},
}

func sameSet(a, b []string) bool {
	a, b = append([]string(nil), a...), append([]string(nil), b...)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, "\n") == strings.Join(b, "\n")
}

// oracleCheck runs every independent reader over a bare volume image and
// requires each to see exactly files (path -> sha256) and dirs; changed
// paths are also read individually by the per-file tools. A tool that
// already misreads the untouched fixture orig (made by ntfs-3g, with the
// tree baseFiles/baseDirs) is skipped for that shape, and the test says so.
func oracleCheck(t *testing.T, img, orig string, baseFiles map[string]string, baseDirs []string,
	files map[string]string, dirs []string, changed []string) {
	t.Helper()
	testenv.RequireTool(t, "ntfsfix", "ntfsls", "ntfscat", "ntfsinfo", "ntfs-3g", "fls", "icat", "fsntfsinfo", "7zz")
	want := wantPaths(files, dirs)
	baseWant := wantPaths(baseFiles, baseDirs)
	defer keepOnFailure(t, img)

	out := tool(t, "ntfsfix", "-n", img)
	if !bytes.Contains(out, []byte("was processed successfully")) || bytes.Contains(out, []byte("FAILED")) {
		t.Errorf("ntfsfix -n reports a problem:\n%s", out)
	}
	usable := map[string]bool{}
	for _, l := range listers {
		if base, err := l.list(orig); err != nil || !sameSet(base, baseWant) {
			t.Logf("%s cannot read the untouched fixture %s either (a limit of that tool); not used for this shape", l.name, filepath.Base(orig))
			continue
		}
		usable[l.name] = true
		got, err := l.list(img)
		if err != nil {
			t.Errorf("%s: %v", l.name, err)
			continue
		}
		comparePathSets(t, l.name, got, want)
	}

	inodes := map[string]string{}
	for _, line := range strings.Split(string(tool(t, "fls", "-r", "-p", img)), "\n") {
		if meta, p, ok := strings.Cut(line, ":\t"); ok && !strings.Contains(meta, "*") {
			f := strings.Fields(meta)
			inodes[p] = strings.SplitN(f[len(f)-1], "-", 2)[0]
		}
	}
	for _, p := range changed {
		if sum, ok := files[p]; ok {
			if g := sha(tool(t, "ntfscat", img, "/"+p)); g != sum {
				t.Errorf("ntfscat %s: sha256 %s, want %s", p, g, sum)
			}
			if g := sha(tool(t, "icat", img, inodes[p])); g != sum {
				t.Errorf("icat %s (inode %s): sha256 %s, want %s", p, inodes[p], g, sum)
			}
			if g := goNTFSSum(t, img, p); g != sum {
				t.Errorf("go-ntfs %s: sha256 %s, want %s", p, g, sum)
			}
		}
		tool(t, "ntfsinfo", "-F", "/"+p, img)
	}

	// 7-Zip extracts everything; bytes must match.
	if usable["7zz l"] {
		x := t.TempDir()
		skip := map[string]bool{}
		if out, err := toolOut("7zz", "x", "-y", "-bd", "-o"+x, img); err != nil {
			// Tolerate only errors 7-Zip also makes on the untouched fixture.
			for _, line := range strings.Split(string(out)+err.Error(), "\n") {
				p, ok := strings.CutPrefix(line, "ERROR: Data Error : ")
				if !ok {
					continue
				}
				if _, berr := toolOut("7zz", "e", "-so", orig, p); berr != nil && files[p] == baseFiles[p] {
					t.Logf("7zz cannot extract unchanged %s from the untouched fixture either; not compared", p)
					skip[p] = true
				} else {
					t.Errorf("7zz x: %s", line)
				}
			}
		}
		xf, _ := hashTree(t, x)
		for p, sum := range files {
			if xf[p] != sum && !skip[p] {
				t.Errorf("7zz x %s: sha256 %s, want %s", p, xf[p], sum)
			}
		}
	}

	// A real ntfs-3g mount.
	mountCheck(t, img, files, want)
}

func mountCheck(t *testing.T, img string, files map[string]string, want []string) {
	t.Helper()
	mnt := t.TempDir()
	tool(t, "ntfs-3g", "-o", "ro", img, mnt)
	defer func() {
		if err := exec.Command("fusermount", "-u", mnt).Run(); err != nil {
			_ = exec.Command("umount", mnt).Run()
		}
	}()
	mf, md := hashTree(t, mnt)
	comparePathSets(t, "ntfs-3g mount", wantPaths(mf, md), want)
	for p, sum := range files {
		if mf[p] != sum {
			t.Errorf("ntfs-3g mount %s: sha256 %s, want %s", p, mf[p], sum)
		}
	}
}

// keepOnFailure copies a failing image to $NTFS_KEEP for inspection.
func keepOnFailure(t *testing.T, img string) {
	dir := os.Getenv("NTFS_KEEP")
	if !t.Failed() || dir == "" {
		return
	}
	b, err := os.ReadFile(img)
	if err == nil {
		dst := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+".img")
		if os.WriteFile(dst, b, 0o644) == nil {
			t.Logf("kept failing image as %s", dst)
		}
	}
}
