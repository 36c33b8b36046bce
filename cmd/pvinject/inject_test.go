package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
)

// The guest most tests inject into: Windows 10 x64 with viostor already
// there, as a small qcow2 made by qemu-img from the fixture's raw disk.
const win10 = "10-x64-virtio.qcow2"

func virtioTree(fx string) string { return filepath.Join(fx, "drivers", "virtio-tree") }

// noTrace fails if anything pvinject writes beside an image exists.
func noTrace(t *testing.T, img string) {
	t.Helper()
	for _, p := range []string{journal.Path(img), img + inject.ReportSuffix, img + inject.ReportHTMLSuffix} {
		if exists(p) {
			t.Errorf("%s exists after a run that must write nothing", p)
		}
	}
}

// TestInjectDryRun: --dry-run prints the plan, every file and registry
// change, and writes nothing (no target, journal or report), in text and
// JSON, with and without --output.
func TestInjectDryRun(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, "win10.qcow2"))
	sum := testenv.FileSHA256(t, img)
	out := filepath.Join(dir, "new.qcow2")

	r := cli(t, "inject", "--drivers", virtioTree(fx), "--dry-run", img)
	if r.code != exitOK {
		t.Fatalf("dry run: %v", r)
	}
	for _, want := range []string{"nothing has been written", "Windows 10 Pro", `drivers\viostor.sys`, `drivers\vioscsi.sys`, `Services\viostor`, "ControlSet001", "ControlSet002"} {
		if !strings.Contains(strings.ReplaceAll(r.stdout, "/", `\`), want) {
			t.Errorf("dry-run plan does not mention %q:\n%s", want, r.stdout)
		}
	}

	rj := cli(t, "inject", "--drivers", virtioTree(fx), "--dry-run", "--json", "--output", out, img)
	if rj.code != exitOK {
		t.Fatalf("dry run --json: %v", rj)
	}
	var plan struct {
		Files []struct {
			Path string `json:"path"`
		} `json:"files"`
		Registry []json.RawMessage `json:"registry"`
	}
	decodeJSON(t, rj.stdout, &plan)
	if len(plan.Files) == 0 || len(plan.Registry) == 0 {
		t.Errorf("JSON plan has %d files and %d registry changes", len(plan.Files), len(plan.Registry))
	}
	found := false
	for _, f := range plan.Files {
		found = found || strings.EqualFold(filepath.Base(strings.ReplaceAll(f.Path, `\`, "/")), "viostor.sys")
	}
	if !found {
		t.Errorf("JSON plan does not write viostor.sys: %+v", plan.Files)
	}

	// An answer file gives the choices; the plan targets its {name} output.
	answers := filepath.Join(dir, "lab.json")
	if err := os.WriteFile(answers, []byte(fmt.Sprintf(`{"version": 1, "drivers": %q, "set": "virtio-win", "output": "{dir}/{name}-kvm.qcow2"}`, virtioTree(fx))), 0o644); err != nil {
		t.Fatal(err)
	}
	ra := cli(t, "inject", "--answers", answers, "--dry-run", "--json", img)
	var ap struct {
		Target string `json:"target"`
	}
	if ra.code != exitOK {
		t.Errorf("inject --answers --dry-run: %v", ra)
	} else if decodeJSON(t, ra.stdout, &ap); ap.Target != filepath.Join(dir, "win10-kvm.qcow2") {
		t.Errorf("plan from the answer file targets %q, want %s", ap.Target, filepath.Join(dir, "win10-kvm.qcow2"))
	}

	if testenv.FileSHA256(t, img) != sum {
		t.Error("--dry-run changed the image")
	}
	noTrace(t, img)
	if exists(out) {
		t.Error("--dry-run --output created the output")
	}
	noTrace(t, out)
}

// TestInjectOutputVerify: --output leaves the source byte-identical and
// writes a new image that qemu-img finds clean, that sleuthkit sees the
// driver files in, with its report beside it; verify accepts it and rejects
// an image that does not match the report.
func TestInjectOutputVerify(t *testing.T) {
	fx := injectFixture(t)
	testenv.RequireTool(t, "fls")
	dir := t.TempDir()
	src := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, "win10.qcow2"))
	sum := testenv.FileSHA256(t, src)
	out := filepath.Join(dir, "win10-kvm.qcow2")

	r := cli(t, "inject", "--drivers", virtioTree(fx), "--output", out, src)
	if r.code != exitOK {
		t.Fatalf("inject --output: %v", r)
	}
	if !strings.Contains(r.stdout, out) {
		t.Errorf("report on stdout does not name %s:\n%s", out, r.stdout)
	}
	if testenv.FileSHA256(t, src) != sum {
		t.Error("inject --output changed the source image")
	}
	noTrace(t, src)
	qemuCheckClean(t, out)
	for _, rep := range []string{out + inject.ReportSuffix, out + inject.ReportHTMLSuffix} {
		if st, err := os.Stat(rep); err != nil || st.Size() == 0 {
			t.Errorf("report %s: %v", rep, err)
		}
	}

	// Independent look at the result: sleuthkit lists the new driver files.
	raw := filepath.Join(dir, "out.raw")
	qemuImg(t, "convert", "-q", "-O", "raw", out, raw)
	ls, err := exec.Command("fls", "-r", "-p", "-o", "2048", raw).Output()
	if err != nil {
		t.Fatalf("fls: %v", err)
	}
	for _, f := range []string{"Windows/System32/drivers/viostor.sys", "Windows/System32/drivers/vioscsi.sys"} {
		if !strings.Contains(string(ls), f) {
			t.Errorf("fls does not list %s in the output image", f)
		}
	}

	v := cli(t, "verify", out)
	if v.code != exitOK || !strings.Contains(v.stdout, "verified") || v.stderr != "" {
		t.Errorf("verify %s: %v", out, v)
	}
	vj := cli(t, "verify", "--json", out)
	var res struct {
		OK bool `json:"ok"`
	}
	if vj.code != exitOK {
		t.Errorf("verify --json: %v", vj)
	} else if decodeJSON(t, vj.stdout, &res); !res.OK {
		t.Errorf("verify --json says not ok: %s", vj.stdout)
	}

	// The untouched source with the result's report must not verify.
	liar := testenv.CopyFile(t, src, filepath.Join(dir, "liar.qcow2"))
	testenv.CopyFile(t, out+inject.ReportSuffix, filepath.Join(dir, "liar.qcow2"+inject.ReportSuffix))
	bad := cli(t, "verify", liar)
	if bad.code != exitError {
		t.Errorf("verify of an image that lacks the report's changes: %v", bad)
	}
	wantOneLine(t, bad, "liar.qcow2", "verification failed")

	// Without its report an image cannot be verified, and the one line says
	// so in words; a damaged report is named as damaged.
	bare := testenv.CopyFile(t, src, filepath.Join(dir, "bare.qcow2"))
	none := cli(t, "verify", bare)
	if none.code != exitError {
		t.Errorf("verify without a report: %v", none)
	}
	wantOneLine(t, none, "bare.qcow2: no pvinject report beside the image (bare.qcow2.pvinject-report.json)")
	must(t, os.WriteFile(bare+inject.ReportSuffix, []byte(`{"plan":`), 0o644))
	damaged := cli(t, "verify", bare)
	if damaged.code != exitError {
		t.Errorf("verify with a damaged report: %v", damaged)
	}
	wantOneLine(t, damaged, "bare.qcow2.pvinject-report.json is damaged and cannot be read")

	// pvinject never overwrites: a second run to the same output is refused.
	again := cli(t, "inject", "--drivers", virtioTree(fx), "--output", out, src)
	if again.code != exitRefused {
		t.Errorf("inject to an existing output: %v", again)
	}
	wantOneLine(t, again, "already exists")
}

// TestInjectInPlaceRollback: --in-place changes the image and keeps a
// journal; verify accepts it; rollback restores the original sha256.
func TestInjectInPlaceRollback(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, "win10.qcow2"))
	sum := testenv.FileSHA256(t, img)

	r := cli(t, "inject", "--drivers", virtioTree(fx), "--in-place", "--mtu", "9000", "--write-cache", "off", "--json", img)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("inject --in-place --json: %v", r)
	}
	var rep struct {
		Applied bool `json:"applied"`
		Verify  struct {
			OK    bool `json:"ok"`
			Files int  `json:"files"`
		} `json:"verify"`
		Plan struct {
			Target string `json:"target"`
		} `json:"plan"`
		Rollback string `json:"rollback"`
	}
	decodeJSON(t, r.stdout, &rep)
	if !rep.Applied || !rep.Verify.OK || rep.Verify.Files == 0 || rep.Plan.Target != img || !strings.Contains(rep.Rollback, "pvinject rollback") {
		t.Errorf("--json report: %+v", rep)
	}
	if testenv.FileSHA256(t, img) == sum {
		t.Fatal("inject --in-place left the image unchanged")
	}
	if !journal.Exists(img) {
		t.Error("no journal after an in-place injection")
	}
	qemuCheckClean(t, img)
	if v := cli(t, "verify", img); v.code != exitOK {
		t.Errorf("verify after in-place: %v", v)
	}

	rb := cli(t, "rollback", img)
	if rb.code != exitOK || !strings.Contains(rb.stdout, "restored") || rb.stderr != "" {
		t.Fatalf("rollback: %v", rb)
	}
	if got := testenv.FileSHA256(t, img); got != sum {
		t.Errorf("after rollback sha256 %s, want the original %s", got, sum)
	}
	if journal.Exists(img) {
		t.Error("journal left after rollback")
	}
	for _, suffix := range []string{".pvinject-report.json", ".pvinject-report.html"} {
		if _, err := os.Stat(img + suffix); err == nil {
			t.Errorf("rollback left %s behind", suffix)
		}
	}
	again := cli(t, "rollback", img)
	if again.code != exitError {
		t.Errorf("second rollback: %v", again)
	}
	wantOneLine(t, again, "win10.qcow2", "nothing to roll back")
}

// TestInjectAccept: while the rollback journal of an in-place injection is
// there, a second injection is refused; accept removes it and the next
// injection is allowed.
func TestInjectAccept(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, "win10.qcow2"))
	if r := cli(t, "inject", "--drivers", virtioTree(fx), "--in-place", img); r.code != exitOK {
		t.Fatalf("first inject: %v", r)
	}
	if r := cli(t, "inject", "--drivers", virtioTree(fx), "--in-place", img); r.code != exitRefused {
		t.Fatalf("second inject with the journal still there: want status 3: %v", r)
	}
	if r := cli(t, "accept", img); r.code != exitOK || !strings.Contains(r.stdout, "accepted") {
		t.Fatalf("accept: %v", r)
	}
	if journal.Exists(img) {
		t.Fatal("journal left after accept")
	}
	if r := cli(t, "verify", img); r.code != exitOK {
		t.Errorf("verify after accept: %v", r)
	}
	if r := cli(t, "accept", img); r.code != exitError {
		t.Errorf("second accept: %v", r)
	}
}

// TestInjectRefusals: each unsafe case exits 3 with one line naming the
// image and the reason, prints nothing on stdout, and leaves the image
// byte-identical with nothing written beside it.
func TestInjectRefusals(t *testing.T) {
	fx := injectFixture(t)
	cases := []struct {
		name, disk, drivers string
		inPlace             bool
		child               bool // create child.qcow2 backed by the image
		want                []string
	}{
		{"unsigned on x64", win10, "folder/nocat", false, false, []string{"not signed", "--allow-unsigned"}},
		{"hibernated guest", "hiber-2k22.raw", "virtio-tree", true, false, []string{"hibernated"}},
		{"parent of a differencing child", win10, "virtio-tree", true, true, []string{"child.qcow2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			img := testenv.CopyFile(t, filepath.Join(fx, "disks", c.disk), filepath.Join(dir, "guest"+filepath.Ext(c.disk)))
			var childSum [32]byte
			if c.child {
				child := filepath.Join(dir, "child.qcow2")
				qemuImg(t, "create", "-q", "-f", "qcow2", "-b", filepath.Base(img), "-F", "qcow2", child)
				childSum = testenv.FileSHA256(t, child)
				defer func() {
					if testenv.FileSHA256(t, child) != childSum {
						t.Error("the child image changed")
					}
				}()
			}
			sum := testenv.FileSHA256(t, img)
			out := filepath.Join(dir, "out.qcow2")
			args := []string{"inject", "--drivers", filepath.Join(fx, "drivers", c.drivers)}
			if c.inPlace {
				args = append(args, "--in-place")
			} else {
				args = append(args, "--output", out)
			}
			r := cli(t, append(args, img)...)
			if r.code != exitRefused {
				t.Fatalf("want exit 3: %v", r)
			}
			if r.stdout != "" {
				t.Errorf("refusal printed on stdout: %q", r.stdout)
			}
			wantOneLine(t, r, append([]string{filepath.Base(img), "refused"}, c.want...)...)
			if testenv.FileSHA256(t, img) != sum {
				t.Error("a refused injection changed the image")
			}
			noTrace(t, img)
			if exists(out) {
				t.Error("a refused injection created its output")
			}
		})
	}

	// The same unsigned package passes with --allow-unsigned: the refusal
	// above was about the signature, not something else.
	dir := t.TempDir()
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", win10), filepath.Join(dir, "guest.qcow2"))
	nocat := filepath.Join(fx, "drivers", "folder", "nocat")
	if r := cli(t, "inject", "--drivers", nocat, "--dry-run", img); !strings.Contains(r.stdout, "BLOCKER") || r.code != exitRefused {
		t.Errorf("--dry-run of an unsigned package: want the plan with its BLOCKER and status 3: %v", r)
	}
	if r := cli(t, "inject", "--drivers", nocat, "--allow-unsigned", "--dry-run", img); r.code != exitOK || strings.Contains(r.stdout, "BLOCKER") {
		t.Errorf("--allow-unsigned --dry-run: %v", r)
	}
}
