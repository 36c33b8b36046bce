package inspect

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

type sfdiskTable struct {
	PartitionTable struct {
		SectorSize int64 `json:"sectorsize"`
		Partitions []struct {
			Start int64  `json:"start"`
			Size  int64  `json:"size"`
			Type  string `json:"type"`
		} `json:"partitions"`
	} `json:"partitiontable"`
}

// Every container disk.sh makes with qemu-img inspects like its raw source:
// same virtual size, and partitions as sfdisk reads them from the raw file.
// Its NTFS volume has Windows\System32\config but no cmd.exe: no Windows.
func TestEveryContainer(t *testing.T) {
	testenv.RequireTool(t, "sfdisk")
	dir := testenv.Fixture(t, "disk")
	before := hashTree(t, dir)
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	oracle := map[string]sfdiskTable{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		name, format, raw := fields[0], fields[1], fields[2]
		n++
		t.Run(name, func(t *testing.T) {
			rawPath := filepath.Join(dir, raw)
			want, ok := oracle[raw]
			if !ok {
				if err := json.Unmarshal([]byte(run(t, "sfdisk", "-J", rawPath)), &want); err != nil {
					t.Fatal(err)
				}
				oracle[raw] = want
			}
			st, err := os.Stat(rawPath)
			if err != nil {
				t.Fatal(err)
			}
			r := inspectFile(t, filepath.Join(dir, name), Options{})
			// qemu-img rounds VHD sizes up to a CHS geometry.
			if r.Image.Format != format || r.Image.VirtualSize != st.Size() && !(format == "vpc" && r.Image.VirtualSize > st.Size()) {
				t.Errorf("format %s size %d, want %s %d", r.Image.Format, r.Image.VirtualSize, format, st.Size())
			}
			if r.Image.Chain[0].Path != filepath.Join(dir, name) {
				t.Errorf("chain[0] %+v", r.Image.Chain[0])
			}
			if strings.HasPrefix(name, "overlay-") && len(r.Image.Chain) != 2 || name == "top-qcow2.qcow2" && len(r.Image.Chain) != 3 {
				t.Errorf("chain of %d layers: %+v", len(r.Image.Chain), r.Image.Chain)
			}
			ps := want.PartitionTable.Partitions
			if len(r.Partitions) != len(ps) {
				t.Fatalf("%d partitions, sfdisk says %d", len(r.Partitions), len(ps))
			}
			ss := want.PartitionTable.SectorSize
			for i, p := range r.Partitions {
				if p.Start != ps[i].Start*ss || p.Size != ps[i].Size*ss || p.Type != "0x"+leftPad(ps[i].Type) {
					t.Errorf("partition %d: %d+%d type %s, sfdisk %d+%d type %s", p.Index, p.Start, p.Size, p.Type,
						ps[i].Start*ss, ps[i].Size*ss, ps[i].Type)
				}
			}
			// The overlays overwrite the NTFS boot sector at 1 MiB with 0xab.
			if raw == "src.raw" {
				if r.Partitions[0].Filesystem != "ntfs" {
					t.Errorf("partition 1 filesystem %s", r.Partitions[0].Filesystem)
				}
			}
			if r.Windows != nil || !slices.Contains(codes(r.Safety.Warnings), CodeNoWindows) {
				t.Errorf("windows %+v, warnings %v", r.Windows, codes(r.Safety.Warnings))
			}
			if r.Image.ReadOnlyFormat != slices.Contains(codes(r.Safety.Warnings), CodeReadOnlyFormat) {
				t.Errorf("read-only format %v but warnings %v", r.Image.ReadOnlyFormat, codes(r.Safety.Warnings))
			}
			if name == "streamOptimized.vmdk" && !r.Image.ReadOnlyFormat {
				t.Errorf("streamOptimized not reported as read-only")
			}
		})
	}
	if n < 15 {
		t.Errorf("MANIFEST lists %d images", n)
	}
	// base-qcow2.qcow2 (not in MANIFEST) is the parent of overlay-qcow2.qcow2.
	base := inspectFile(t, filepath.Join(dir, "base-qcow2.qcow2"), Options{})
	if !slices.Equal(base.Image.Children, []string{filepath.Join(dir, "overlay-qcow2.qcow2")}) {
		t.Errorf("children of base-qcow2.qcow2: %v", base.Image.Children)
	}
	sameTree(t, before, hashTree(t, dir))
}

func leftPad(hex string) string {
	if len(hex) < 2 {
		return "0" + hex
	}
	return hex
}

// Real images written by other software open and show their partitions;
// none holds a Windows install.
func TestCorpusImages(t *testing.T) {
	testenv.RequireTool(t, "gzip", "xz", "7zz")
	cases := []struct {
		rel, format string
		parts       int
	}{
		{"images/dfir_ntfs_ntfs_index.raw.gz", "raw", 1},
		{"images/util-linux_ntfs.img.xz", "raw", 1},
		{"images/monolithicSparse.vmdk", "vmdk", 1},
		{"images/dfvfs_windows_volume.qcow2", "qcow2", 1},
		{"images/dfvfs_ext2.vhd", "vpc", 1},
		{"images/velociraptor_test.vhdx.zip", "vhdx", 1},
	}
	for _, c := range cases {
		t.Run(filepath.Base(c.rel), func(t *testing.T) {
			src := testenv.CorpusFile(t, c.rel)
			dir := t.TempDir()
			p := src
			switch {
			case strings.HasSuffix(src, ".gz"):
				p = filepath.Join(dir, "disk.raw")
				writeFile(t, p, run(t, "gzip", "-dc", src))
			case strings.HasSuffix(src, ".xz"):
				p = filepath.Join(dir, "disk.raw")
				writeFile(t, p, run(t, "xz", "-dc", src))
			case strings.HasSuffix(src, ".zip"):
				run(t, "7zz", "e", "-y", "-o"+dir, src)
				ms, _ := filepath.Glob(filepath.Join(dir, "*.vhdx"))
				if len(ms) != 1 {
					t.Fatalf("%s holds %d .vhdx files", src, len(ms))
				}
				p = ms[0]
			}
			before := hashTree(t, filepath.Dir(p))
			r := inspectFile(t, p, Options{})
			if r.Image.Format != c.format || len(r.Partitions) < c.parts {
				t.Errorf("format %s, %d partitions: %+v", r.Image.Format, len(r.Partitions), r.Partitions)
			}
			if r.Windows != nil {
				t.Errorf("Windows found in %s: %+v", c.rel, r.Windows)
			}
			if p != src {
				sameTree(t, before, hashTree(t, filepath.Dir(p)))
			}
		})
	}
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
