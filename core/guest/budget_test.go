//go:build cgo

package guest

import (
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/safety"
)

// countingFS records every file read and the bytes it returned.
type countingFS struct {
	FS
	mu    sync.Mutex
	files []string
	bytes int64
}

func (c *countingFS) ReadFile(name string) ([]byte, error) {
	b, err := c.FS.ReadFile(name)
	c.mu.Lock()
	c.files = append(c.files, name)
	c.bytes += int64(len(b))
	c.mu.Unlock()
	return b, err
}

// TestReadsOnlyWhatItNeeds keeps detection cheap on big images: it may read
// cmd.exe, the two hives with their logs and the PV driver files, nothing else.
func TestReadsOnlyWhatItNeeds(t *testing.T) {
	root := copyTree(t, filepath.Join(testenv.Fixture(t, "guests"), "trees", "10-x64-virtio"), false)
	// Clutter that must not be read: a big file beside the hives and other hives.
	cfg := filepath.Join(root, "Windows", "System32", "config")
	for _, n := range []string{"SAM", "SECURITY", "DEFAULT", "COMPONENTS"} {
		if err := os.WriteFile(filepath.Join(cfg, n), make([]byte, 1<<20), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"SYSTEM.LOG1", "SYSTEM.LOG2"} {
		if err := os.WriteFile(filepath.Join(cfg, n), []byte("log "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var gotLogs []string
	inner := hivexOpener(t)
	open := func(name string, data []byte, logs ...LogFile) (Hive, error) {
		for _, l := range logs {
			gotLogs = append(gotLogs, name+":"+l.Name+"="+string(l.Data))
		}
		return inner(name, data, logs...)
	}
	c := &countingFS{FS: DirFS(root)}
	ws, err := Detect(c, open)
	if err != nil || len(ws) != 1 {
		t.Fatalf("%v (%d installs)", err, len(ws))
	}
	sort.Strings(c.files)
	want := []string{
		"Windows/System32/cmd.exe", "Windows/System32/config/SOFTWARE", "Windows/System32/config/SYSTEM",
		"Windows/System32/config/SYSTEM.LOG1", "Windows/System32/config/SYSTEM.LOG2", "Windows/System32/drivers/viostor.sys",
	}
	if !slices.Equal(c.files, want) {
		t.Errorf("read %v\nwant %v", c.files, want)
	}
	if !slices.Equal(gotLogs, []string{"SYSTEM:SYSTEM.LOG1=log SYSTEM.LOG1", "SYSTEM:SYSTEM.LOG2=log SYSTEM.LOG2"}) {
		t.Errorf("logs given to the opener: %v", gotLogs)
	}
}

// copyTree copies a fixture tree so a test can change it; lower turns every
// name to lower case, as some NT 5 volumes have them.
func copyTree(t *testing.T, src string, lower bool) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if lower {
			rel = strings.ToLower(rel)
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestCaseInsensitiveNames detects a tree whose names are all lower case on
// a case-sensitive file system.
func TestCaseInsensitiveNames(t *testing.T) {
	dst := copyTree(t, filepath.Join(testenv.Fixture(t, "guests"), "trees", "8-x64"), true)
	ws, err := Detect(DirFS(dst), hivexOpener(t))
	if err != nil || len(ws) != 1 || ws[0].OSID != "win8" || ws[0].SystemRoot != `\windows` || len(ws[0].Safety.Blockers) > 0 {
		t.Fatalf("lower-case tree: %v %+v", err, ws)
	}
}

func BenchmarkDetect(b *testing.B) {
	root := filepath.Join(testenv.Fixture(b, "guests"), "trees", "10-x64-virtio")
	open := hivexOpener(b)
	var read int64
	for b.Loop() {
		c := &countingFS{FS: DirFS(root)}
		if _, err := Detect(c, open); err != nil {
			b.Fatal(err)
		}
		read = c.bytes
	}
	b.ReportMetric(float64(read), "bytes-read/op")
}

// TestDirtyHiveFindings makes SYSTEM dirty (header sequence numbers differ)
// with no logs beside it: core/hive's finding about it must reach the
// install's safety findings.
func TestDirtyHiveFindings(t *testing.T) {
	root := copyTree(t, filepath.Join(testenv.Fixture(t, "guests"), "trees", "2k22"), false)
	p := filepath.Join(root, "Windows", "System32", "config", "SYSTEM")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	// regf base block: sequence1 at 4, sequence2 at 8, checksum of the
	// first 508 bytes at 0x1FC.
	binary.LittleEndian.PutUint32(b[4:], binary.LittleEndian.Uint32(b[8:])+1)
	var sum uint32
	for i := 0; i < 0x1FC; i += 4 {
		sum ^= binary.LittleEndian.Uint32(b[i:])
	}
	binary.LittleEndian.PutUint32(b[0x1FC:], sum)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := Detect(DirFS(root), OpenHive)
	if err != nil || len(ws) != 1 {
		t.Fatalf("%v %d", err, len(ws))
	}
	all := append(append([]safety.Finding(nil), ws[0].Safety.Blockers...), ws[0].Safety.Warnings...)
	found := false
	for _, f := range all {
		if strings.HasPrefix(f.Code, "hive.dirty") {
			found = true
		}
	}
	if !found {
		t.Errorf("dirty SYSTEM without logs gave no finding: %+v", all)
	}
	if ws[0].OSID != "win2k22" || ws[0].ControlSet != "ControlSet001" {
		t.Errorf("a dirty hive must still be read: %+v", ws[0])
	}
}

// BenchmarkDetectRealWin10 detects the real 10.9 MiB Windows 10 SYSTEM hive
// (with a stand-in SOFTWARE) through core/hive.
func BenchmarkDetectRealWin10(b *testing.B) {
	testenv.Corpus(b)
	root := filepath.Join(testenv.Fixture(b, "guests"), "real", "win10-19041-x64")
	var read int64
	for b.Loop() {
		c := &countingFS{FS: DirFS(root)}
		if _, err := Detect(c, OpenHive); err != nil {
			b.Fatal(err)
		}
		read = c.bytes
	}
	b.ReportMetric(float64(read)/(1<<20), "MiB-read/op")
}

// BenchmarkDetectNTFS detects the two installs of the fixture disk's first
// partition through core/ntfs and core/hive, as inspect does.
func BenchmarkDetectNTFS(b *testing.B) {
	dir := testenv.Fixture(b, "guests")
	f, err := os.Open(filepath.Join(dir, "ntfs.raw"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	const start, size = 1 << 20, 57344 * 512 // first line of ntfs.parts
	for b.Loop() {
		vol, err := ntfs.Open(io.NewSectionReader(f, start, size), size, ntfs.Options{})
		if err != nil {
			b.Fatal(err)
		}
		ws, err := Detect(FromNTFS(vol), OpenHive)
		if err != nil || len(ws) != 2 {
			b.Fatalf("%v %d", err, len(ws))
		}
		vol.Close()
	}
}
