package partition

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

// TestCorpus opens real images made by Windows, VMware, Hyper-V and qemu
// through core/image and checks their partitions against sfdisk and their
// filesystems against blkid, both run on a raw copy made by gunzip, xz or
// qemu-img (never by our code).
func TestCorpus(t *testing.T) {
	testenv.RequireTool(t, "qemu-img", "sfdisk", "blkid", "7zz", "xz", "gzip")
	cases := []struct {
		rel, format string
		unpack      func(t *testing.T, src, dir string) string // returns the image to open
		scheme      string
	}{
		{"images/dfir_ntfs_ntfs_index.raw.gz", "raw", gunzip, SchemeMBR},
		{"images/util-linux_ntfs.img.xz", "raw", unxz, SchemeNone},
		{"images/monolithicSparse.vmdk", "vmdk", asIs, SchemeMBR},
		{"images/dfvfs_windows_volume.qcow2", "qcow2", asIs, SchemeNone},
		{"images/dfvfs_ext2.vhd", "vpc", asIs, SchemeNone},
		{"images/velociraptor_test.vhdx.zip", "vhdx", unzip, SchemeGPT},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			src := testenv.CorpusFile(t, c.rel)
			if _, err := image.FormatByName(c.format); err != nil {
				t.Skipf("format %s is not in this tree yet: %v", c.format, err)
			}
			dir := t.TempDir()
			p := c.unpack(t, src, dir)
			rawCopy := filepath.Join(dir, "oracle.raw")
			run(t, "qemu-img", "convert", "-O", "raw", p, rawCopy)

			im, err := image.Open(p, disk.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer im.Close()
			if im.Format() != c.format {
				t.Fatalf("opened as %s, want %s", im.Format(), c.format)
			}
			tab, err := Read(im, im.Size())
			if err != nil {
				t.Fatal(err)
			}
			if tab.Scheme != c.scheme {
				t.Fatalf("scheme %s, want %s: %+v", tab.Scheme, c.scheme, tab)
			}
			if c.scheme != SchemeNone {
				js := filepath.Join(dir, "sfdisk.json")
				if err := os.WriteFile(js, []byte(run(t, "sfdisk", "-J", rawCopy)), 0o644); err != nil {
					t.Fatal(err)
				}
				_, want := sfdiskParts(t, js)
				comparePartitions(t, c.rel, tab.Partitions, want)
			}
			for _, part := range tab.Partitions {
				args := []string{"-p", "-o", "value", "-s", "TYPE"}
				if part.Start > 0 {
					args = append(args, "-O", strconv.FormatInt(part.Start, 10))
				}
				out, _ := exec.Command("blkid", append(args, rawCopy)...).Output()
				want := map[string]string{"ntfs": FSNTFS, "vfat": FSFAT, "ext2": FSExt, "ext3": FSExt, "ext4": FSExt, "exfat": FSExFAT, "BitLocker": FSBitLocker}[strings.TrimSpace(string(out))]
				if want == "" {
					want = FSUnknown
				}
				if part.Filesystem != want {
					t.Errorf("partition %d: filesystem %s, blkid says %q", part.Index, part.Filesystem, out)
				}
			}
		})
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out)
}

func asIs(t *testing.T, src, dir string) string { return src }

func gunzip(t *testing.T, src, dir string) string {
	p := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".gz"))
	if err := os.WriteFile(p, []byte(run(t, "gzip", "-dc", src)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func unxz(t *testing.T, src, dir string) string {
	p := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".xz"))
	if err := os.WriteFile(p, []byte(run(t, "xz", "-dc", src)), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func unzip(t *testing.T, src, dir string) string {
	run(t, "7zz", "e", "-y", "-o"+dir, src)
	ms, _ := filepath.Glob(filepath.Join(dir, "*.vhdx"))
	if len(ms) != 1 {
		t.Fatalf("%s holds %d .vhdx files, want 1", src, len(ms))
	}
	return ms[0]
}
