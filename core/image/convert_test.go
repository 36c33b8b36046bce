package image

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
)

var extOf = map[string]string{"raw": ".img", "vpc": ".vhd", "vhdx": ".vhdx", "vmdk": ".vmdk", "qcow2": ".qcow2"}

// TestConvertEveryWritableFormat converts the fixture disk (and a backing
// chain, when its format is here) into every format this tree can write, then
// lets qemu-img compare and check the result.
func TestConvertEveryWritableFormat(t *testing.T) {
	testenv := disktest.FixtureDir(t)
	sources := []string{"src.raw", "overlay-qcow2.qcow2", "monolithicSparse.vmdk", "vpc-dynamic.vhd", "dynamic.vhdx"}
	expect := map[string]string{"overlay-qcow2.qcow2": "overlay-qcow2.expect.raw"}
	for _, s := range sources {
		src := filepath.Join(testenv, s)
		im, err := Open(src, disk.Options{})
		if err != nil {
			if s == "src.raw" {
				t.Fatal(err)
			}
			continue // the format of s is not in the tree yet
		}
		if im.Format() == "raw" && s != "src.raw" {
			im.Close()
			continue
		}
		want := filepath.Join(testenv, "src.raw")
		if e, ok := expect[s]; ok {
			want = filepath.Join(testenv, e)
		}
		for _, f := range Formats() {
			if f.Create == nil {
				continue
			}
			t.Run(s+"->"+f.Name, func(t *testing.T) {
				out := filepath.Join(t.TempDir(), "out"+extOf[f.Name])
				var last, total int64
				err := Convert(context.Background(), im, out, "", func(d, tot int64) { last, total = d, tot })
				if err != nil {
					t.Fatal(err)
				}
				if last != im.Size() || total != im.Size() {
					t.Fatalf("progress ended at %d of %d, want %d", last, total, im.Size())
				}
				disktest.QemuIdentical(t, f.Name, out, want)
				disktest.QemuCheck(t, f.Name, out)
			})
		}
		im.Close()
	}
}

func TestConvertKeepsHolesAndSource(t *testing.T) {
	dir := disktest.FixtureDir(t)
	src := filepath.Join(dir, "src.raw")
	before := sha(t, src)
	im, err := Open(src, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	out := filepath.Join(t.TempDir(), "copy.raw")
	if err := Convert(context.Background(), im, out, "", nil); err != nil {
		t.Fatal(err)
	}
	if sha(t, out) != before || sha(t, src) != before {
		t.Fatal("copy differs from source, or the source changed")
	}
	_, srcAlloc := disktest.Usage(t, src)
	_, outAlloc := disktest.Usage(t, out)
	// The output may be sparser (zero blocks skipped) but never denser.
	if outAlloc > srcAlloc {
		t.Fatalf("output allocates %d bytes, source %d: holes were filled", outAlloc, srcAlloc)
	}
	if outAlloc > 16<<20 {
		t.Fatalf("output of a 64 MiB disk with ~4 MiB of data allocates %d bytes", outAlloc)
	}
}

func TestConvertCancelRemovesOutput(t *testing.T) {
	dir := disktest.FixtureDir(t)
	im, err := Open(filepath.Join(dir, "src.raw"), disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	ctx, cancel := context.WithCancel(context.Background())
	out := filepath.Join(t.TempDir(), "cancelled.img")
	err = Convert(ctx, im, out, "raw", func(d, tot int64) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled convert: %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("partial output left behind: %v", err)
	}
}

func TestConvertRefusals(t *testing.T) {
	dir := disktest.FixtureDir(t)
	src := filepath.Join(dir, "src.raw")
	im, err := Open(src, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	existing := filepath.Join(t.TempDir(), "exists.img")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Convert(context.Background(), im, existing, "", nil); err == nil {
		t.Fatal("convert overwrote an existing file")
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Fatal("existing output file was changed")
	}
	if err := Convert(context.Background(), im, filepath.Join(t.TempDir(), "x.iso"), "", nil); err == nil {
		t.Fatal("convert accepted an unknown extension")
	}
}

func sha(t *testing.T, p string) string {
	t.Helper()
	out, err := exec.Command("sha256sum", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out[:64])
}
