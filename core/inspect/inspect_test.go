package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/safety"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

func inspectFile(t *testing.T, path string, opts Options) *Report {
	t.Helper()
	if opts.Opener == nil {
		opts.Opener = newCountingOpener(t)
	}
	r, err := Inspect(context.Background(), path, opts)
	if err != nil {
		t.Fatalf("Inspect(%s): %v", path, err)
	}
	return r
}

func codes(fs []safety.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Code)
	}
	return out
}

func verdict(r *Report, set string) string {
	for _, v := range r.Matrix {
		if v.DriverSet == set {
			return v.Verdict
		}
	}
	return ""
}

// guests.sh's ntfs.raw holds three installs: Server 2022 in \Windows and
// Server 2003 R2 in \WINNT on partition 1, XP in \XPROOT (found through
// boot.ini) on partition 2. All are reported; the first is chosen unless
// Options.Install says otherwise, and the matrix follows the choice.
func TestSeveralInstalls(t *testing.T) {
	dir := testenv.Fixture(t, "guests")
	img := filepath.Join(dir, "ntfs.raw")
	before := hashTree(t, dir)

	r := inspectFile(t, img, Options{})
	type got struct {
		part       int
		root, name string
	}
	var installs []got
	for _, in := range r.Installs {
		installs = append(installs, got{in.Partition, in.SystemRoot, in.ProductName})
	}
	want := []got{
		{1, `\Windows`, "Windows Server 2022 Standard"},
		{1, `\WINNT`, "Microsoft Windows Server 2003 R2"},
		{2, `\XPROOT`, "Microsoft Windows XP"},
	}
	if !slices.Equal(installs, want) {
		t.Fatalf("installs %+v\nwant %+v", installs, want)
	}
	if r.Selected != 0 || r.Windows == nil || r.Windows.Build != 20348 || r.Windows.Arch != "amd64" {
		t.Fatalf("default choice %d: %+v", r.Selected, r.Windows)
	}
	if verdict(r, "virtio-win") != matrix.Supported {
		t.Errorf("virtio-win for Server 2022: %s", verdict(r, "virtio-win"))
	}

	xp := inspectFile(t, img, Options{Install: 2})
	if xp.Selected != 2 || xp.Windows.SystemRoot != `\XPROOT` || xp.Windows.Partition != 2 || xp.Windows.Arch != "x86" {
		t.Fatalf("install 2: %+v", xp.Windows)
	}
	if verdict(xp, "virtio-win") == verdict(r, "virtio-win") && slices.EqualFunc(xp.Matrix, r.Matrix, func(a, b matrix.Verdict) bool {
		return a.Verdict == b.Verdict && len(a.Reasons) == len(b.Reasons)
	}) {
		t.Errorf("the matrix did not follow the chosen install")
	}

	if _, err := Inspect(context.Background(), img, Options{Install: 3}); !errors.Is(err, ErrNoSuchInstall) {
		t.Errorf("install 3 of 3: %v, want ErrNoSuchInstall", err)
	}
	sameTree(t, before, hashTree(t, dir))
}

// The JSON contract of issues 2 and 4: every documented key is there and no
// array is null, for a guest with Windows and for a disk without.
func TestJSONContract(t *testing.T) {
	cases := map[string]string{
		"windows":    filepath.Join(testenv.Fixture(t, "guests"), "ntfs.raw"),
		"no-windows": filepath.Join(testenv.Fixture(t, "disk"), "src.raw"),
	}
	for name, img := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := json.Marshal(inspectFile(t, img, Options{}))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte(":null")) && !(name == "no-windows" && bytes.Count(b, []byte(":null")) == 1) {
				t.Errorf("null in JSON: %s", b)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"image.path", "image.format", "image.subformat", "image.virtual_size", "image.chain",
				"image.children", "partitions", "installs", "safety.blockers", "safety.warnings", "matrix"} {
				if !hasKey(m, k) {
					t.Errorf("missing %s", k)
				}
			}
			chain := m["image"].(map[string]any)["chain"].([]any)
			for _, k := range []string{"path", "format", "virtual_size"} {
				if _, ok := chain[0].(map[string]any)[k]; !ok {
					t.Errorf("chain[0] lacks %s", k)
				}
			}
			parts := m["partitions"].([]any)
			for _, k := range []string{"index", "start", "size", "type", "type_name", "filesystem"} {
				if _, ok := parts[0].(map[string]any)[k]; !ok {
					t.Errorf("partitions[0] lacks %s", k)
				}
			}
			if name == "no-windows" {
				if m["windows"] != nil {
					t.Errorf("windows = %v, want null", m["windows"])
				}
				return
			}
			for _, k := range []string{"systemroot", "product_name", "major", "minor", "build", "service_pack", "edition",
				"installation_type", "arch", "control_set"} {
				if !hasKey(m, "windows."+k) {
					t.Errorf("missing windows.%s", k)
				}
			}
			for _, k := range []string{"driver_set", "verdict", "reasons"} {
				if _, ok := m["matrix"].([]any)[0].(map[string]any)[k]; !ok {
					t.Errorf("matrix[0] lacks %s", k)
				}
			}
		})
	}
}

func hasKey(m map[string]any, dotted string) bool {
	var cur any = m
	for _, k := range strings.Split(dotted, ".") {
		mm, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = mm[k]; !ok {
			return false
		}
	}
	return true
}

// The golden JSON of guests.sh's three-install disk. Run with -update after
// an intended change and review the diff.
func TestGoldenJSON(t *testing.T) {
	img := filepath.Join(testenv.Fixture(t, "guests"), "ntfs.raw")
	r := inspectFile(t, img, Options{})
	r.Image.DiskID = "RANDOM" // guests.sh lets sfdisk pick the MBR signature
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte(img), []byte("GUESTS/ntfs.raw"))
	b = append(b, '\n')
	golden := filepath.Join("testdata", "guests-ntfs.golden.json")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenJSON -update)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("JSON differs from %s (rerun with -update after checking):\n%s", golden, b)
	}
}

// No Windows is a report, not an error: windows null, one warning.
func TestNoWindows(t *testing.T) {
	r := inspectFile(t, filepath.Join(testenv.Fixture(t, "partition"), "xp.raw"), Options{})
	if r.Windows != nil || len(r.Installs) != 0 || len(r.Matrix) != 0 || r.Selected != -1 {
		t.Errorf("windows %+v installs %d matrix %d", r.Windows, len(r.Installs), len(r.Matrix))
	}
	if !slices.Contains(codes(r.Safety.Warnings), CodeNoWindows) || len(r.Safety.Blockers) != 0 {
		t.Errorf("findings %+v", r.Safety)
	}
	if _, err := Inspect(context.Background(), filepath.Join(testenv.Fixture(t, "partition"), "xp.raw"), Options{Install: 1}); !errors.Is(err, ErrNoSuchInstall) {
		t.Errorf("choosing an install on a disk without Windows: %v", err)
	}
}

// BitLocker and dynamic-disk partitions: blockers when no Windows could be
// read (the system volume is probably inside them), warnings beside a
// readable Windows.
func TestEncryptedAndDynamic(t *testing.T) {
	pdir := testenv.Fixture(t, "partition")
	gpt := inspectFile(t, filepath.Join(pdir, "gpt.raw"), Options{})
	if b := codes(gpt.Safety.Blockers); !slices.Contains(b, CodeBitLocker) || !slices.Contains(b, CodeLDM) {
		t.Errorf("gpt.raw blockers %v, want BitLocker and LDM", b)
	}
	for _, f := range gpt.Safety.Blockers {
		if f.Remedy == "" {
			t.Errorf("blocker %s without a remedy", f.Code)
		}
	}
	mbr := inspectFile(t, filepath.Join(pdir, "mbr-ext.raw"), Options{})
	if b := codes(mbr.Safety.Blockers); !slices.Contains(b, CodeLDM) || slices.Contains(b, CodeBitLocker) {
		t.Errorf("mbr-ext.raw blockers %v, want LDM only", b)
	}
	if len(mbr.Partitions) != 5 {
		t.Errorf("mbr-ext.raw: %d partitions, want 5", len(mbr.Partitions))
	}

	bl := inspectFile(t, filepath.Join(testenv.Fixture(t, "inspect"), "winbl.raw"), Options{})
	if bl.Windows == nil || bl.Windows.Partition != 1 {
		t.Fatalf("winbl.raw: Windows %+v", bl.Windows)
	}
	if len(bl.Safety.Blockers) != 0 || !slices.Contains(codes(bl.Safety.Warnings), CodeBitLocker) {
		t.Errorf("winbl.raw findings %+v, want a BitLocker warning only", bl.Safety)
	}
	if bl.Partitions[1].Filesystem != "bitlocker" {
		t.Errorf("partition 2 filesystem %q", bl.Partitions[1].Filesystem)
	}
}

// A parent with a child beside it is reported with the child, and the child
// shows its chain.
func TestParentAndChild(t *testing.T) {
	dir := filepath.Join(testenv.Fixture(t, "inspect"), "chain")
	before := hashTree(t, dir)
	base := inspectFile(t, filepath.Join(dir, "base.qcow2"), Options{})
	if !slices.Equal(base.Image.Children, []string{filepath.Join(dir, "child.qcow2")}) {
		t.Errorf("children %v", base.Image.Children)
	}
	if !slices.Contains(codes(base.Safety.Warnings), CodeHasChildren) {
		t.Errorf("parent warnings %v", codes(base.Safety.Warnings))
	}
	child := inspectFile(t, filepath.Join(dir, "child.qcow2"), Options{})
	if len(child.Image.Chain) != 2 || child.Image.Chain[1].Path != filepath.Join(dir, "base.qcow2") || child.Image.Chain[1].Format != "qcow2" {
		t.Errorf("chain %+v", child.Image.Chain)
	}
	if child.Windows == nil || child.Windows.ProductName != "Windows 10 Pro" || len(child.Image.Children) != 0 {
		t.Errorf("child: %+v children %v", child.Windows, child.Image.Children)
	}
	sameTree(t, before, hashTree(t, dir))
}

// A VHDX with a non-empty log (built from [MS-VHDX] by vhdx_fixture.py) is
// read through the replayed log in memory and reported, file untouched.
func TestVHDXLog(t *testing.T) {
	src := filepath.Join(testenv.Fixture(t, "vhd"), "log.vhdx")
	dir := t.TempDir()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "log.vhdx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := inspectFile(t, p, Options{})
	if !slices.Contains(codes(r.Safety.Warnings), CodeVHDXLog) {
		t.Errorf("warnings %v, want %s", codes(r.Safety.Warnings), CodeVHDXLog)
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(after, b) {
		t.Errorf("inspection changed %s", p)
	}
	clean := inspectFile(t, filepath.Join(testenv.Fixture(t, "disk"), "dynamic.vhdx"), Options{})
	if slices.Contains(codes(clean.Safety.Warnings), CodeVHDXLog) {
		t.Errorf("a clean VHDX reported a log")
	}
}

func TestWriteText(t *testing.T) {
	r := inspectFile(t, filepath.Join(testenv.Fixture(t, "partition"), "gpt.raw"), Options{})
	var buf bytes.Buffer
	if err := WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"Partitions (7)", "Windows: none found", "Blockers (", "what to do: In Windows, turn BitLocker off",
		"bitlocker", "No Windows installation found"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
	r = inspectFile(t, filepath.Join(testenv.Fixture(t, "guests"), "ntfs.raw"), Options{})
	buf.Reset()
	if err := WriteText(&buf, r); err != nil {
		t.Fatal(err)
	}
	out = buf.String()
	for _, want := range []string{"Windows Server 2022 Standard", "10.0 build 20348", "also found [install 2]", "--install 2",
		"virtio-win", "Blockers: none"} {
		if !strings.Contains(out, want) {
			t.Errorf("text lacks %q:\n%s", want, out)
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Inspect(ctx, filepath.Join(testenv.Fixture(t, "guests"), "ntfs.raw"), Options{Opener: newCountingOpener(t)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled inspection: %v", err)
	}
}

// TestDamagedSystemHive: a SYSTEM hive that hivexsh and regfinfo refuse,
// damaged only in a hive bin detection does not need, is a blocker at
// inspection (SYSTEM is the hive an injection rewrites, so it is read and
// walked whole), not a clean report that fails later at inject.
func TestDamagedSystemHive(t *testing.T) {
	dir := testenv.Fixture(t, "inspect")
	oracle, err := os.ReadFile(filepath.Join(dir, "badsystem.oracle"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(oracle), " 0\n") {
		t.Fatalf("fixture: an independent reader accepts the damaged hive:\n%s", oracle)
	}
	r := inspectFile(t, filepath.Join(dir, "badsystem.raw"), Options{})
	if !slices.Contains(codes(r.Safety.Blockers), "guest.system_hive_unreadable") {
		t.Errorf("damaged SYSTEM hive: blockers %v, want guest.system_hive_unreadable", codes(r.Safety.Blockers))
	}
}

// TestPendingJournal: an image with an unfinished journal beside it (an
// interrupted or not yet accepted in-place run) is a blocker at inspection,
// and the blocker goes once the journal is gone.
func TestPendingJournal(t *testing.T) {
	dir := testenv.Fixture(t, "inspect")
	img := testenv.CopyInto(t, filepath.Join(dir, "winbl.raw"), t.TempDir())
	if slices.Contains(codes(inspectFile(t, img, Options{}).Safety.Blockers), CodePendingJournal) {
		t.Fatal("pending-journal blocker without a journal")
	}
	j, err := journal.Begin(img, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	r := inspectFile(t, img, Options{})
	if !slices.Contains(codes(r.Safety.Blockers), CodePendingJournal) {
		t.Errorf("journal beside the image: blockers %v, want %s", codes(r.Safety.Blockers), CodePendingJournal)
	}
	var b bytes.Buffer
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "earlier pvinject run") {
		t.Errorf("the text report does not say it:\n%s", b.String())
	}
	if err := journal.Rollback(img); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(codes(inspectFile(t, img, Options{}).Safety.Blockers), CodePendingJournal) {
		t.Error("blocker still there after the rollback removed the journal")
	}
}

func TestNotAnImage(t *testing.T) {
	p := filepath.Join(t.TempDir(), "empty.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Inspect(context.Background(), p, Options{})
	if err == nil && (r.Windows != nil || len(r.Partitions) != 0) {
		t.Errorf("empty file: %+v", r)
	}
	if _, err := Inspect(context.Background(), filepath.Join(t.TempDir(), "missing.img"), Options{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
