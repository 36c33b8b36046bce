package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Independent oracles: qemu-img, ntfs-3g, ntfscat, ntfsfix and hivexregedit
// read what pvinject wrote; none shares code with it.

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// volumeOf extracts the NTFS partition (at 1 MiB, as inject.sh builds the
// disks) of any container into a bare volume file, through qemu-img.
func volumeOf(t testing.TB, img string) string {
	t.Helper()
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	run(t, "qemu-img", "convert", "-O", "raw", img, raw)
	in, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	vol := filepath.Join(dir, "vol")
	out, err := os.Create(vol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Seek(1<<20, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	out.Close()
	os.Remove(raw)
	return vol
}

// tree mounts the volume read-only with ntfs-3g and lists every file with
// its SHA-256 (directories as "dir"), keyed by upper-case backslash path.
func tree(t testing.TB, vol string) map[string]string {
	t.Helper()
	mnt := t.TempDir()
	run(t, "ntfs-3g", "-o", "ro", vol, mnt)
	defer func() {
		if err := exec.Command("fusermount", "-u", mnt).Run(); err != nil {
			exec.Command("umount", mnt).Run()
		}
	}()
	m := map[string]string{}
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(mnt, p)
		if rel == "." {
			return nil
		}
		key := strings.ToUpper(strings.ReplaceAll(rel, "/", `\`))
		if d.IsDir() {
			m[key] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := sha256.Sum256(b)
		m[key] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// regVal is one exported value: its type and raw bytes.
type regVal = testenv.RegValue

// export reads a hive out of the volume with ntfscat and exports it with
// hivexregedit: key (upper case, no leading backslash) -> value name
// (upper case) -> value. Keys without values are present with an empty map.
func export(t testing.TB, vol, hivePath string) map[string]map[string]regVal {
	t.Helper()
	f := filepath.Join(t.TempDir(), "hive")
	data := run(t, "ntfscat", vol, strings.ReplaceAll(hivePath, `\`, "/"))
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("hivexregedit", "--export", f, `\`).Output()
	if err != nil {
		t.Fatalf("hivexregedit --export %s: %v", hivePath, err)
	}
	return parseExport(t, out)
}

func parseExport(t testing.TB, out []byte) map[string]map[string]regVal {
	m, err := testenv.ParseRegExport(out)
	if err != nil {
		t.Fatalf("hivexregedit --export output: %v", err)
	}
	return m
}
