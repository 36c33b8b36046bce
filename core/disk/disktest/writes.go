package disktest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// Write is one guest write of a random sequence.
type Write struct {
	Off  int64
	Data []byte
}

// boundaries are the block and cluster sizes of the formats under test
// (512 B sectors, 4 KiB and 64 KiB clusters, 1, 2 and 32 MiB blocks, 2 GiB
// extents): writes are placed across them on purpose.
var boundaries = []int64{512, 4096, 64 << 10, 1 << 20, 2 << 20, 32 << 20, 2 << 30}

// Writes returns the same n writes for the same seed and disk size: small,
// unaligned, sector- and cluster-aligned, straddling block boundaries, large
// (up to 3 MiB), at the very end of the disk, and about a quarter of them
// all zeros (over data and over holes). About half land in a few "hot"
// regions so that later writes overwrite earlier ones.
func Writes(seed uint64, size int64, n int) []Write {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	bytesrc := rand.NewChaCha8(key) // fast deterministic filler for the data
	hot := make([]int64, 4)
	for i := range hot {
		hot[i] = rng.Int64N(max(size-(4<<20), 1))
	}
	out := make([]Write, 0, n)
	for len(out) < n {
		var off, l int64
		switch rng.IntN(8) {
		case 0: // tiny and unaligned
			l = 1 + rng.Int64N(700)
			off = rng.Int64N(size)
		case 1: // one sector
			l = 512
			off = rng.Int64N(size/512) * 512
		case 2: // 4 KiB aligned
			l = 4096
			off = rng.Int64N(size/4096) * 4096
		case 3, 4: // straddle a boundary
			b := boundaries[rng.IntN(len(boundaries))]
			if b >= size {
				b = 512
			}
			l = []int64{3000, 4096, 65536 + 512, 1<<20 + 3}[rng.IntN(4)]
			k := 1 + rng.Int64N(max(size/b-1, 1))
			off = k*b - 1 - rng.Int64N(l-1)
		case 5: // large
			l = 1 + rng.Int64N(3<<20)
			off = rng.Int64N(size/512) * 512
		case 6: // hot region, overwrite
			l = 1 + rng.Int64N(256<<10)
			off = hot[rng.IntN(len(hot))] + rng.Int64N(4<<20)
		case 7: // the end of the disk
			l = 1 + rng.Int64N(70000)
			off = size - l
		}
		l = min(l, size)
		off = max(0, min(off, size-l))
		data := make([]byte, l)
		switch rng.IntN(8) {
		case 0, 1: // zeros
		case 2: // a repeated byte
			b := byte(1 + rng.IntN(255))
			for i := range data {
				data[i] = b
			}
		default:
			bytesrc.Read(data)
		}
		out = append(out, Write{Off: off, Data: data})
	}
	return out
}

// Case is one starting image for RandomWrites.
type Case struct {
	Name string
	// Setup prepares, inside dir, an image and a raw file with the same
	// guest bytes, and returns their paths.
	Setup func(t *testing.T, dir string) (image, raw string)
}

// FromManifest returns one Case per MANIFEST entry of format (accepted by
// filter): the image files are copied (parents stay shared, read-only, via
// symlinks) and the expected raw file is copied as the reference.
func FromManifest(t *testing.T, format string, filter func(Entry) bool) []Case {
	t.Helper()
	var cs []Case
	for _, e := range Entries(t, format, filter) {
		cs = append(cs, Case{Name: e.File, Setup: func(t *testing.T, dir string) (string, string) {
			return CopyEntry(t, e, dir)
		}})
	}
	return cs
}

// CopyEntry copies e's image (and its extent files, named "<stem>-*") into
// dir, links every other fixture file there so backing files resolve, and
// copies the expected raw to dir/reference.raw. Copies keep holes.
func CopyEntry(t testing.TB, e Entry, dir string) (image, raw string) {
	t.Helper()
	names, err := os.ReadDir(e.Dir)
	if err != nil {
		t.Fatal(err)
	}
	stem := strings.TrimSuffix(e.File, filepath.Ext(e.File))
	for _, de := range names {
		n := de.Name()
		if strings.HasPrefix(n, ".") || n == "MANIFEST" {
			continue
		}
		src, dst := filepath.Join(e.Dir, n), filepath.Join(dir, n)
		if n == e.File || strings.HasPrefix(n, stem+"-") && n != e.Expect {
			sparseCopy(t, src, dst)
		} else if err := os.Symlink(src, dst); err != nil {
			t.Fatal(err)
		}
	}
	raw = filepath.Join(dir, "reference.raw")
	sparseCopy(t, e.ExpectPath(), raw)
	return filepath.Join(dir, e.File), raw
}

func sparseCopy(t testing.TB, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "--sparse=always", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp %s %s: %v\n%s", src, dst, err, out)
	}
}

// Created returns a Case starting from a new empty image made by f.Create
// with the given subformat, against an all-zero sparse raw file.
func Created(f disk.Format, subformat string, size int64) Case {
	name := "created"
	if subformat != "" {
		name += "-" + subformat
	}
	return Case{Name: name, Setup: func(t *testing.T, dir string) (string, string) {
		if f.Create == nil {
			t.Fatalf("disktest: format %s has no Create", f.Name)
		}
		p := filepath.Join(dir, "new."+f.Name)
		img, err := f.Create(p, size, disk.CreateOptions{Subformat: subformat})
		if err != nil {
			t.Fatalf("%s create %s: %v", f.Name, p, err)
		}
		if err := img.Close(); err != nil {
			t.Fatalf("%s close new %s: %v", f.Name, p, err)
		}
		raw := filepath.Join(dir, "reference.raw")
		if err := os.WriteFile(raw, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(raw, size); err != nil {
			t.Fatal(err)
		}
		return p, raw
	}}
}

// Seed returns the seed for random tests: $PVINJECT_SEED, or def.
func Seed(def uint64) uint64 {
	if s, err := strconv.ParseUint(os.Getenv("PVINJECT_SEED"), 10, 64); err == nil {
		return s
	}
	return def
}

// RandomWrites applies the same seeded writes (see Writes) to a raw copy and
// through f to each case's image, reading back as it goes, then closes and
// checks with qemu-img that the two are identical and the image is clean,
// and re-reads the whole image through f.
func RandomWrites(t *testing.T, f disk.Format, cases ...Case) {
	t.Helper()
	testenv.RequireTool(t, "qemu-img")
	if len(cases) == 0 {
		t.Fatalf("disktest: RandomWrites for %s with no case", f.Name)
	}
	seed := Seed(1)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Logf("seed %d (set PVINJECT_SEED to replay)", seed)
			dir := t.TempDir()
			imgPath, rawPath := c.Setup(t, dir)
			if err := ApplyWrites(f, imgPath, rawPath, seed, 150); err != nil {
				t.Fatalf("%s: %v", imgPath, err)
			}
			QemuIdentical(t, f.Name, imgPath, rawPath)
			QemuCheck(t, f.Name, imgPath)
			img := Open(t, f, imgPath, disk.Options{})
			if err := CompareWithRaw(img, rawPath, seed); err != nil {
				t.Fatalf("%s re-opened: %v", imgPath, err)
			}
		})
	}
}

// ApplyWrites opens imgPath writable with f and applies n writes of Writes
// (seed) to it and to the raw file, checking reads after writes, then
// closes. It is also the workload of the journal's crash test.
func ApplyWrites(f disk.Format, imgPath, rawPath string, seed uint64, n int) error {
	return ApplyWritesWith(f, imgPath, rawPath, seed, n, disk.Options{Writable: true})
}

// ApplyWritesWith is ApplyWrites with explicit open options (an Opener for
// journaling or fault injection).
func ApplyWritesWith(f disk.Format, imgPath, rawPath string, seed uint64, n int, opts disk.Options) (err error) {
	opts.Writable = true
	img, err := OpenImage(f, imgPath, opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := img.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close: %w", cerr)
		}
	}()
	var raw *os.File
	if rawPath != "" {
		if raw, err = os.OpenFile(rawPath, os.O_RDWR, 0); err != nil {
			return err
		}
		defer raw.Close()
	}
	ws := Writes(seed, img.Size(), n)
	for i, w := range ws {
		if _, err := img.WriteAt(w.Data, w.Off); err != nil {
			return fmt.Errorf("write %d (off %d len %d): %w", i, w.Off, len(w.Data), err)
		}
		if raw != nil {
			if _, err := raw.WriteAt(w.Data, w.Off); err != nil {
				return err
			}
		}
		if i == n/2 {
			if err := img.Flush(); err != nil {
				return fmt.Errorf("flush after write %d: %w", i, err)
			}
		}
		// Read back this write and an earlier one: catches lost or stale caches.
		for _, j := range []int{i, i / 2} {
			r := ws[j]
			got := make([]byte, len(r.Data))
			if err := readFull(img, got, r.Off); err != nil {
				return fmt.Errorf("read back write %d after write %d: %w", j, i, err)
			}
			want := r.Data
			if raw != nil {
				want = make([]byte, len(r.Data))
				if _, err := raw.ReadAt(want, r.Off); err != nil {
					return fmt.Errorf("reference %s: %w", rawPath, err)
				}
			} else if j != i {
				continue // without a reference only the latest write is known
			}
			if !bytes.Equal(got, want) {
				return fmt.Errorf("read back write %d after write %d: %w", j, i, firstDiff(got, want, r.Off))
			}
		}
	}
	return nil
}

// QemuIdentical fails the test unless `qemu-img compare` finds the image
// (format qemuFormat) and the raw file identical.
func QemuIdentical(t testing.TB, qemuFormat, image, raw string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "compare", "-f", qemuFormat, "-F", "raw", image, raw).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img compare %s %s: %v\n%s", image, raw, err, out)
	}
}

// QemuCheck fails the test when `qemu-img check` reports errors or leaks.
// Formats qemu cannot check (exit status 63) pass.
func QemuCheck(t testing.TB, qemuFormat, image string) {
	t.Helper()
	out, err := exec.Command("qemu-img", "check", "-f", qemuFormat, image).CombinedOutput()
	if err == nil {
		return
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 63 {
		return
	}
	t.Fatalf("qemu-img check %s: %v\n%s", image, err, out)
}
