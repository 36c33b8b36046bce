package partition

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/internal/testenv"
)

func fixture(t *testing.T) string {
	t.Helper()
	testenv.RequireTool(t, "sfdisk", "fdisk", "mkntfs", "mkfs.fat")
	return testenv.Fixture(t, "partition")
}

func readFile(t *testing.T, p string) *Table {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	tab, err := Read(f, st.Size())
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return tab
}

type oraclePart struct {
	index       int
	start, size int64
	typ         string
}

// sfdiskParts reads `sfdisk -J` output, dropping extended containers.
func sfdiskParts(t *testing.T, p string) (string, []oraclePart) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		PT struct {
			Label      string `json:"label"`
			SectorSize int64  `json:"sectorsize"`
			Partitions []struct {
				Node        string `json:"node"`
				Start, Size int64
				Type        string
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	var out []oraclePart
	for _, q := range j.PT.Partitions {
		i := len(q.Node) - 1
		for i > 0 && q.Node[i-1] >= '0' && q.Node[i-1] <= '9' {
			i--
		}
		idx, _ := strconv.Atoi(q.Node[i:])
		typ := strings.ToUpper(q.Type)
		if j.PT.Label == "dos" {
			v, _ := strconv.ParseUint(q.Type, 16, 8)
			if isExtended(byte(v)) {
				continue
			}
			typ = fmt.Sprintf("0x%02x", v)
		}
		out = append(out, oraclePart{idx, q.Start * j.PT.SectorSize, q.Size * j.PT.SectorSize, typ})
	}
	scheme := map[string]string{"dos": SchemeMBR, "gpt": SchemeGPT}[j.PT.Label]
	return scheme, out
}

func comparePartitions(t *testing.T, name string, got []Partition, want []oraclePart) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d partitions %+v, oracle has %d %+v", name, len(got), got, len(want), want)
	}
	for i, w := range want {
		g := got[i]
		if g.Index != w.index || g.Start != w.start || g.Size != w.size || g.Type != w.typ {
			t.Errorf("%s: partition %+v, oracle says index %d start %d size %d type %s", name, g, w.index, w.start, w.size, w.typ)
		}
	}
}

// expected filesystems, from how partition.sh built each disk.
func expectFS(t *testing.T, dir string) map[string]map[int]string {
	f, err := os.Open(filepath.Join(dir, "EXPECT"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[int]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var d, fs string
		var i int
		if _, err := fmt.Sscan(sc.Text(), &d, &i, &fs); err != nil {
			t.Fatalf("EXPECT: %v", err)
		}
		if out[d] == nil {
			out[d] = map[int]string{}
		}
		out[d][i] = fs
	}
	return out
}

func TestFixturesAgainstSfdisk(t *testing.T) {
	dir := fixture(t)
	want := expectFS(t, dir)
	for _, d := range []string{"mbr-ext.raw", "xp.raw", "gpt.raw"} {
		t.Run(d, func(t *testing.T) {
			tab := readFile(t, filepath.Join(dir, d))
			scheme, parts := sfdiskParts(t, filepath.Join(dir, d+".sfdisk.json"))
			if tab.Scheme != scheme || tab.SectorSize != 512 {
				t.Fatalf("scheme %s sector %d, want %s 512", tab.Scheme, tab.SectorSize, scheme)
			}
			comparePartitions(t, d, tab.Partitions, parts)
			checkFS(t, d, tab, want[d])
		})
	}
}

func checkFS(t *testing.T, d string, tab *Table, want map[int]string) {
	t.Helper()
	if len(want) != len(tab.Partitions) {
		t.Errorf("%s: %d partitions, EXPECT lists %d", d, len(tab.Partitions), len(want))
	}
	for _, p := range tab.Partitions {
		if p.Filesystem != want[p.Index] {
			t.Errorf("%s partition %d: filesystem %q, want %q", d, p.Index, p.Filesystem, want[p.Index])
		}
	}
}

func TestFixtureDetails(t *testing.T) {
	dir := fixture(t)
	want := expectFS(t, dir)

	xp := readFile(t, filepath.Join(dir, "xp.raw"))
	if p := xp.Partitions[0]; p.Start != 63*512 || !p.Bootable {
		t.Errorf("xp.raw: first partition %+v, want a bootable one at sector 63", p)
	}
	m := readFile(t, filepath.Join(dir, "mbr-ext.raw"))
	if m.DiskID != "1234abcd" {
		t.Errorf("mbr-ext.raw: disk id %q, want 1234abcd", m.DiskID)
	}
	for _, p := range m.Partitions {
		if p.Logical != (p.Index >= 5) {
			t.Errorf("mbr-ext.raw: partition %d logical=%v", p.Index, p.Logical)
		}
	}
	g := readFile(t, filepath.Join(dir, "gpt.raw"))
	if g.DiskID != "6D8E1F0A-3C55-4C1B-9E0A-6A1F0C2B7E11" || g.Partitions[0].Name != "EFI system partition" || g.Partitions[0].TypeName != "EFI System" {
		t.Errorf("gpt.raw: disk id %q, first partition %+v", g.DiskID, g.Partitions[0])
	}

	g4 := readFile(t, filepath.Join(dir, "gpt4k.raw"))
	if g4.Scheme != SchemeGPT || g4.SectorSize != 4096 {
		t.Fatalf("gpt4k.raw: scheme %s sector %d, want gpt 4096", g4.Scheme, g4.SectorSize)
	}
	// fdisk -b 4096 listing: "gpt4k.raw1 256 8192 EBD0A0A2-..."
	lst, err := os.ReadFile(filepath.Join(dir, "gpt4k.raw.fdisk"))
	if err != nil {
		t.Fatal(err)
	}
	var oracle []oraclePart
	for _, line := range strings.Split(string(lst), "\n") {
		f := strings.Fields(line)
		if len(f) == 4 && strings.HasPrefix(f[0], "gpt4k.raw") {
			s, _ := strconv.ParseInt(f[1], 10, 64)
			n, _ := strconv.ParseInt(f[2], 10, 64)
			idx, _ := strconv.Atoi(strings.TrimPrefix(f[0], "gpt4k.raw"))
			oracle = append(oracle, oraclePart{idx, s * 4096, n * 4096, f[3]})
		}
	}
	comparePartitions(t, "gpt4k.raw", g4.Partitions, oracle)
	checkFS(t, "gpt4k.raw", g4, want["gpt4k.raw"])

	np := readFile(t, filepath.Join(dir, "nopart.raw"))
	if np.Scheme != SchemeNone || len(np.Partitions) != 1 || np.Partitions[0].Size != 40960*512 {
		t.Fatalf("nopart.raw: %+v, want one whole-disk partition", np)
	}
	checkFS(t, "nopart.raw", np, want["nopart.raw"])
}

// TestHostileGPT: a table whose entries overlap (sfdisk -V says so) and one
// with 1000 used entries are refused at once with the reason, not listed.
func TestHostileGPT(t *testing.T) {
	dir := fixture(t)
	verify, err := os.ReadFile(filepath.Join(dir, "overlap.raw.verify"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(verify), "overlaps") {
		t.Fatalf("fixture: sfdisk -V does not see the overlap: %s", verify)
	}
	for name, want := range map[string]string{"overlap.raw": "overlap", "many.raw": "1000 partitions"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		start := time.Now()
		_, err = Read(f, st.Size())
		f.Close()
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to say %q", name, err, want)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: refused after %v, want well under a second", name, d)
		}
	}
}

func TestViewBounds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "d.raw")
	if err := os.WriteFile(p, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := disk.OSOpener{}.Open(p, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	img := &fileImage{b}
	v, err := View(img, Partition{Index: 1, Start: 4096, Size: 8192})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.WriteAt([]byte("x"), 8192); !errors.Is(err, disk.ErrOutOfRange) {
		t.Fatalf("write at the end: %v, want ErrOutOfRange", err)
	}
	if _, err := v.ReadAt(make([]byte, 2), 8191); !errors.Is(err, disk.ErrOutOfRange) {
		t.Fatalf("read across the end: %v, want ErrOutOfRange", err)
	}
	if _, err := v.WriteAt([]byte("xy"), 8190); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2)
	b.ReadAt(got, 4096+8190)
	if string(got) != "xy" {
		t.Fatalf("view write landed elsewhere: %q", got)
	}
	if _, err := View(img, Partition{Start: 1 << 19, Size: 1 << 20}); err == nil {
		t.Fatal("View accepted a partition past the end of the disk")
	}
}

// fileImage is a minimal disk.Image over a host file, for the view test.
type fileImage struct{ disk.Backing }

func (f *fileImage) Size() int64  { s, _ := f.Backing.Size(); return s }
func (f *fileImage) Flush() error { return f.Sync() }
