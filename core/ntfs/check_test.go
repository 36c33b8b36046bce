package ntfs

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/safety"
)

func findingCodes(fs []safety.Finding) map[string]bool {
	out := map[string]bool{}
	for _, f := range fs {
		out[f.Code] = true
		if f.Remedy == "" {
			panic("finding without remedy: " + f.Code)
		}
	}
	return out
}

func openRaw(t *testing.T, img string, writable bool) (*Volume, error) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, _ := f.Stat()
	return Open(f, st.Size(), Options{Writable: writable})
}

func wantRefusal(t *testing.T, img, code string) {
	t.Helper()
	v, err := openRaw(t, img, false)
	if err != nil {
		t.Fatalf("read-only open must still work: %v", err)
	}
	if !findingCodes(Check(v))[code] {
		t.Fatalf("Check: want finding %s, got %+v", code, Check(v))
	}
	_, err = openRaw(t, img, true)
	var ref *safety.Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("writable open: want *safety.Refusal for %s, got %v", code, err)
	}
	t.Logf("%s: %v", code, err)
}

func TestCheckHibernation(t *testing.T) {
	wantRefusal(t, copyFixture(t, "hibr"), "ntfs.hibernated")
	wantRefusal(t, copyFixture(t, "hibshort"), "ntfs.hibernated")
	v, err := openRaw(t, copyFixture(t, "hibok"), true)
	if err != nil {
		t.Fatalf("resumed hiberfil.sys (zeroed) must not block: %v", err)
	}
	if fs := Check(v); len(fs) != 0 {
		t.Fatalf("clean volume has findings: %+v", fs)
	}
}

// restartPageBytes builds a restart page of the given version and state
// (ntfs-3g layout.h offsets), update sequence applied.
func restartPageBytes(major, minor int16, lsn uint64, clean bool) []byte {
	page := make([]byte, 4096)
	copy(page, "RSTR")
	binary.LittleEndian.PutUint16(page[4:], 0x1e)
	binary.LittleEndian.PutUint16(page[6:], 9)
	binary.LittleEndian.PutUint32(page[0x10:], 4096)
	binary.LittleEndian.PutUint32(page[0x14:], 4096)
	binary.LittleEndian.PutUint16(page[rstrAreaOffset:], 0x30)
	binary.LittleEndian.PutUint16(page[rstrMinorVer:], uint16(minor))
	binary.LittleEndian.PutUint16(page[rstrMajorVer:], uint16(major))
	binary.LittleEndian.PutUint64(page[0x30+raCurrentLSN:], lsn)
	binary.LittleEndian.PutUint16(page[0x30+raClientInUse:], 0)
	if clean {
		binary.LittleEndian.PutUint16(page[0x30+raFlags:], raVolumeIsClean)
	}
	fixup(page)
	return page
}

// writeRestartPages overwrites both $LogFile restart pages.
func writeRestartPages(t *testing.T, img string, first, second []byte) {
	t.Helper()
	v, err := openRaw(t, img, false)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := v.openFile(recLogFile)
	s, _ := f.stream(atData, "")
	fh, _ := os.OpenFile(img, os.O_RDWR, 0)
	defer fh.Close()
	for i, page := range [][]byte{first, second} {
		if _, err := fh.WriteAt(page, s.volOffset(int64(i)*4096)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestCheckLogFile(t *testing.T) {
	img := copyFixture(t, "hibok")
	writeRestartPages(t, img, restartPageBytes(2, 0, 10, true), restartPageBytes(2, 0, 9, true))
	wantRefusal(t, img, "ntfs.fast_startup")
	writeRestartPages(t, img, restartPageBytes(1, 1, 10, false), restartPageBytes(1, 1, 9, true))
	wantRefusal(t, img, "ntfs.unclean")
	// The newer copy decides: an older unclean page is history.
	writeRestartPages(t, img, restartPageBytes(1, 1, 10, false), restartPageBytes(1, 1, 11, true))
	if _, err := openRaw(t, img, true); err != nil {
		t.Fatalf("clean newest restart page must not block: %v", err)
	}
	writeRestartPages(t, img, restartPageBytes(1, 1, 12, true), restartPageBytes(1, 1, 11, true))
	if _, err := openRaw(t, img, true); err != nil {
		t.Fatalf("clean v1.1 restart pages must not block: %v", err)
	}
}

// TestDirtyAfterCrash: a writer cut off before Close leaves the dirty bit
// set, which blocks the next read-write open until chkdsk.
func TestDirtyAfterCrash(t *testing.T) {
	img := copyFixture(t, "hibok")
	v, err := openRaw(t, img, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.WriteFile("Windows/new.txt", []byte("x")); err != nil {
		t.Fatal(err)
	}
	// no Close: simulated crash
	wantRefusal(t, img, "ntfs.dirty")
	out, _ := toolOut("ntfsinfo", "-f", "-m", img)
	if !strings.Contains(string(out), "DIRTY") {
		t.Errorf("ntfsinfo does not see the dirty flag:\n%s", out)
	}
}

func TestCheckBitLockerAndVersion(t *testing.T) {
	img := copyFixture(t, "hibok")
	fh, _ := os.OpenFile(img, os.O_RDWR, 0)
	orig := make([]byte, 8)
	fh.ReadAt(orig, 3)
	fh.WriteAt([]byte("-FVE-FS-"), 3)
	_, err := openRaw(t, img, false)
	var ref *safety.Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("BitLocker: want refusal, got %v", err)
	}
	fh.WriteAt(orig, 3)
	fh.Close()

	v, err := openRaw(t, img, true)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := v.readRecord(recVolume)
	a := r.find(atVolumeInfo, "")
	a.Value[8], a.Value[9] = 3, 0
	a.dirty = true
	if err := v.writeRecord(r); err != nil {
		t.Fatal(err)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
	wantRefusal(t, img, "ntfs.version")
}

func TestRefuseCompressedDir(t *testing.T) {
	img := copyFixture(t, "hibok")
	v, err := openRaw(t, img, true)
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := v.resolve("Windows")
	if err != nil {
		t.Fatal(err)
	}
	si := f.first(atStandardInfo, "")
	binary.LittleEndian.PutUint32(si.Value[siAttrs:], AttrCompressed)
	si.dirty = true
	if err := v.writeRecord(f.base); err != nil {
		t.Fatal(err)
	}
	err = v.WriteFile("Windows/x.sys", []byte("data"))
	var ref *safety.Refusal
	if !errors.As(err, &ref) {
		t.Fatalf("want refusal for compressed directory, got %v", err)
	}
	if fi, _ := v.Stat("Windows"); !fi.Compressed() {
		t.Fatalf("Stat does not report compression: %+v", fi)
	}
}
