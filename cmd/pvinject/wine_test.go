//go:build wine

// The Windows build under Wine: scripts/test.sh runs these in their own gate
// (go test -tags wine -run TestWine ./cmd/pvinject), since they cross-compile
// pvinject.exe first. docs/windows-macos.md says what Wine stands in for.

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/inject"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/internal/testenv"
)

var (
	exeOnce sync.Once
	exePath string
	exeOut  []byte
	exeErr  error
)

// wineEnv is a cross-compiled pvinject.exe and the Wine prefix it runs in.
type wineEnv struct {
	exe, prefix string
}

// setupWine prepares the test prefix with its stand-in
// bcryptprimitives.dll and, when withExe, builds pvinject.exe (wizard and
// CLI, with mingw-w64), both through scripts/windows.sh, unless
// PVINJECT_WINE_EXE names a Windows build to test instead; it starts the
// prefix's wineserver for the test.
func setupWine(t *testing.T, withExe bool) wineEnv {
	t.Helper()
	testenv.RequireTool(t, "wine", "wineserver", "x86_64-w64-mingw32-gcc", "qemu-img", "ntfscat", "ntfsfix", "hivexregedit", "hivexget")
	root := testenv.RepoRoot()
	script := filepath.Join(root, "scripts", "windows.sh")
	w := wineEnv{prefix: filepath.Join(root, "testdata", "gen", "wine")}
	start := time.Now()
	if exe := os.Getenv("PVINJECT_WINE_EXE"); withExe && exe != "" {
		w.exe = exe // e.g. the packaged build
	} else if withExe {
		// Built once for all the tests of this run.
		exeOnce.Do(func() {
			exeDir := filepath.Join(root, "testdata", "gen", "windows")
			exeOut, exeErr = exec.Command(script, "build", exeDir).CombinedOutput()
			exePath = filepath.Join(exeDir, "pvinject.exe")
		})
		if exeErr != nil {
			t.Fatalf("cross-compiling pvinject.exe: %v\n%s", exeErr, exeOut)
		}
		w.exe = exePath
		t.Logf("pvinject.exe cross-compiled (once per run) in %s", time.Since(start).Round(time.Second))
		start = time.Now()
	}
	if out, err := exec.Command(script, "prefix", w.prefix).CombinedOutput(); err != nil {
		t.Fatalf("Wine prefix: %v\n%s", err, out)
	}
	t.Logf("Wine prefix ready in %s", time.Since(start).Round(time.Second))
	// One wineserver for the whole test, started with no pipes of ours: a
	// wineserver spawned by `wine` inherits the output pipes and outlives it.
	srv := exec.Command("wineserver", "-p")
	srv.Env = w.env()
	if err := srv.Run(); err != nil {
		t.Fatalf("wineserver: %v", err)
	}
	t.Cleanup(func() {
		k := exec.Command("wineserver", "-k")
		k.Env = w.env()
		k.Run()
	})
	return w
}

func (w wineEnv) env() []string {
	return append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// run runs a Windows program under Wine and returns its exit code and output.
func (w wineEnv) run(t *testing.T, exe string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", append([]string{exe}, args...)...)
	cmd.Env = w.env()
	// Files, not pipes: Wine's own background processes (services.exe and
	// the like) inherit the handles and outlive the program.
	dir := t.TempDir()
	outF, errF := createFile(t, filepath.Join(dir, "stdout")), createFile(t, filepath.Join(dir, "stderr"))
	cmd.Stdout, cmd.Stderr = outF, errF
	start := time.Now()
	err := cmd.Run()
	outF.Close()
	errF.Close()
	out, _ := os.ReadFile(outF.Name())
	errb, _ := os.ReadFile(errF.Name())
	t.Logf("wine %s %s: %s", filepath.Base(exe), strings.Join(args, " "), time.Since(start).Round(10*time.Millisecond))
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("wine %s: %v", exe, err)
	}
	return result{code: code, stdout: string(out), stderr: string(errb)}
}

func createFile(t *testing.T, p string) *os.File {
	t.Helper()
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// winPath is how a Windows program under Wine names a host path: Wine maps
// the host's / to drive Z:.
func winPath(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return `Z:` + strings.ReplaceAll(abs, "/", `\`)
}

// unWinPaths turns every Z:\ path in decoded JSON back into the host path,
// so the Windows build's output can be compared with the Linux build's.
func unWinPaths(v any) any {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, `Z:\`) {
			return strings.ReplaceAll(x[2:], `\`, "/")
		}
		return x
	case []any:
		for i := range x {
			x[i] = unWinPaths(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = unWinPaths(x[k])
		}
	}
	return v
}

// TestWineInjectFormats: the Windows build, under Wine, given drive-letter
// paths with backslashes, inspects a Windows 10 guest in a raw, a qcow2 and
// a VHDX container exactly as the Linux build does, injects virtio-win in
// place, verifies it and rolls it back to the original bytes. What it wrote
// is checked with tools we did not write: qemu-img check, ntfsfix -n,
// ntfscat for every file's bytes, hivexregedit and hivexget for every
// planned registry change.
func TestWineInjectFormats(t *testing.T) {
	w := setupWine(t, true)
	fx := injectFixture(t)
	drivers := virtioTree(fx)
	for _, ext := range []string{"raw", "qcow2", "vhdx"} {
		t.Run(ext, func(t *testing.T) {
			img := testenv.CopyFile(t, filepath.Join(fx, "disks", "10-x64-virtio."+ext), filepath.Join(t.TempDir(), "win10."+ext))
			orig := testenv.FileSHA256(t, img)

			lin := cli(t, "inspect", "--json", img)
			win := w.run(t, w.exe, "inspect", "--json", winPath(t, img))
			if lin.code != exitOK || win.code != exitOK {
				t.Fatalf("inspect --json: Linux %v\nWindows %v", lin, win)
			}
			var lj, wj map[string]any
			decodeJSON(t, lin.stdout, &lj)
			decodeJSON(t, win.stdout, &wj)
			if !reflect.DeepEqual(lj, unWinPaths(wj)) {
				t.Fatalf("inspect --json differs between the Linux and the Windows build (paths aside):\nLinux:\n%s\nWindows:\n%s", lin.stdout, win.stdout)
			}

			r := w.run(t, w.exe, "inject", "--drivers", winPath(t, drivers), "--in-place", winPath(t, img))
			if r.code != exitOK {
				t.Fatalf("inject --in-place under Wine: %v", r)
			}
			// The undo command pastes into cmd.exe: no POSIX single quotes.
			if !strings.Contains(r.stdout, "To undo: pvinject rollback "+winPath(t, img)+"\n") {
				t.Errorf("the report's undo command is not the plain Windows path %s:\n%s", winPath(t, img), r.stdout)
			}
			base := filepath.Base(img)
			if got, want := dirNames(t, filepath.Dir(img)), strings.Join([]string{base, base + journal.Suffix, base + inject.ReportHTMLSuffix, base + inject.ReportSuffix}, " "); got != want {
				t.Errorf("the image's folder after inject holds %q, want %q", got, want)
			}
			if ext != "raw" {
				qemuCheckClean(t, img)
			}
			checkInjected(t, img, drivers, lj)

			if r := w.run(t, w.exe, "verify", winPath(t, img)); r.code != exitOK || !strings.Contains(r.stdout, "verified") {
				t.Errorf("verify under Wine: %v", r)
			}
			if r := w.run(t, w.exe, "rollback", winPath(t, img)); r.code != exitOK {
				t.Fatalf("rollback under Wine: %v", r)
			}
			if testenv.FileSHA256(t, img) != orig {
				t.Error("rollback under Wine did not restore the original bytes")
			}
			if got := dirNames(t, filepath.Dir(img)); got != base {
				t.Errorf("the image's folder after rollback holds %q, want only %s", got, base)
			}
		})
	}
}

// wineReport is what checkInjected reads of the JSON report.
type wineReport struct {
	Plan struct {
		Files []struct {
			Path   string `json:"path"`
			Size   int64  `json:"size"`
			SHA256 string `json:"sha256"`
			Source string `json:"source"`
		} `json:"files"`
		Registry []struct {
			Hive string `json:"hive"`
			Key  string `json:"key"`
			Name string `json:"name"`
			Op   string `json:"op"`
			New  struct {
				Type uint32 `json:"type"`
				Data []byte `json:"data"`
			} `json:"new"`
		} `json:"registry"`
	} `json:"plan"`
}

// checkInjected checks the injected image against the plan in its report
// with independent tools.
func checkInjected(t *testing.T, img, drivers string, inspected map[string]any) {
	t.Helper()
	body, err := os.ReadFile(img + inject.ReportSuffix)
	if err != nil {
		t.Fatalf("the report beside the image: %v", err)
	}
	var rep wineReport
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatalf("report: %v", err)
	}
	if len(rep.Plan.Files) == 0 || len(rep.Plan.Registry) == 0 {
		t.Fatalf("the report plans %d files and %d registry changes", len(rep.Plan.Files), len(rep.Plan.Registry))
	}
	vol := ntfsVolume(t, img, inspected)
	if out, err := exec.Command("ntfsfix", "-n", vol).CombinedOutput(); err != nil {
		t.Errorf("ntfsfix -n: %v\n%s", err, out)
	}
	for _, f := range rep.Plan.Files {
		got := ntfscat(t, vol, f.Path)
		sum := sha256.Sum256(got)
		if int64(len(got)) != f.Size || hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s: ntfscat reads %d bytes sha256 %x, the plan says %d bytes %s", f.Path, len(got), sum, f.Size, f.SHA256)
		}
		if strings.HasPrefix(f.Source, "generated:") {
			continue
		}
		want, err := os.ReadFile(filepath.Join(drivers, filepath.FromSlash(f.Source)))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s differs from its source %s (%v)", f.Path, f.Source, err)
		}
	}
	hives := map[string]string{}
	exports := map[string]map[string]map[string]testenv.RegValue{}
	for _, hv := range []string{"SYSTEM", "SOFTWARE"} {
		hives[hv] = filepath.Join(t.TempDir(), hv)
		if err := os.WriteFile(hives[hv], ntfscat(t, vol, `Windows\System32\config\`+hv), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("hivexregedit", "--export", hives[hv], `\`).Output()
		if err != nil {
			t.Fatalf("hivexregedit --export %s: %v", hv, err)
		}
		if exports[hv], err = testenv.ParseRegExport(out); err != nil {
			t.Fatalf("hivexregedit --export %s: %v", hv, err)
		}
	}
	for _, c := range rep.Plan.Registry {
		key := strings.ToUpper(c.Key)
		got, ok := exports[c.Hive][key][strings.ToUpper(c.Name)]
		switch c.Op {
		case "set":
			if !ok || got.Type != c.New.Type || !bytes.Equal(got.Data, c.New.Data) {
				t.Errorf(`%s\%s [%s]: hivexregedit reads %v (found %v), the plan sets type %d %x`, c.Hive, c.Key, c.Name, got, ok, c.New.Type, c.New.Data)
			}
		case "delete-key":
			if _, there := exports[c.Hive][key]; there {
				t.Errorf(`%s\%s: the plan deletes the key, hivexregedit still lists it`, c.Hive, c.Key)
			}
		default:
			t.Errorf("registry change %q: this test does not know how to check it", c.Op)
		}
	}
	// A second reader of the boot-critical value: libhivex's hivexget.
	out, err := exec.Command("hivexget", hives["SYSTEM"], `ControlSet001\Services\viostor`, "Start").Output()
	if err != nil || strings.TrimSpace(string(out)) != "0" {
		t.Errorf("hivexget viostor Start: %q, %v; want 0 (boot start)", out, err)
	}
}

// ntfsVolume extracts the first partition of img (at the offset inspect
// reported) into a file the ntfs-3g tools can open, through qemu-img.
func ntfsVolume(t *testing.T, img string, inspected map[string]any) string {
	t.Helper()
	parts, _ := inspected["partitions"].([]any)
	if len(parts) == 0 {
		t.Fatal("inspect reported no partition")
	}
	p, _ := parts[0].(map[string]any)
	n1, _ := p["start"].(json.Number)
	n2, _ := p["size"].(json.Number)
	start, err1 := n1.Int64()
	size, err2 := n2.Int64()
	if err1 != nil || err2 != nil || start <= 0 || size <= 0 {
		t.Fatalf("partition %v has no start and size", p)
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "disk.raw")
	if out, err := exec.Command("qemu-img", "convert", "-O", "raw", img, raw).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img convert: %v\n%s", err, out)
	}
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
	defer out.Close()
	if _, err := io.Copy(out, io.NewSectionReader(in, start, size)); err != nil {
		t.Fatal(err)
	}
	return vol
}

func ntfscat(t *testing.T, vol, winPath string) []byte {
	t.Helper()
	out, err := exec.Command("ntfscat", vol, strings.ReplaceAll(winPath, `\`, "/")).Output()
	if err != nil {
		t.Fatalf("ntfscat %s: %v", winPath, err)
	}
	return out
}

// TestWineShareModes runs core/disk's Windows-only tests (sharing modes
// against another program's handles, whole-sector raw-disk access) in a
// Windows test binary under Wine, whose wineserver enforces sharing modes
// as Windows does; then, with that binary playing a running VM that has
// the image open for writing, pvinject.exe refuses inject --in-place and
// leaves the image and its folder as they were.
func TestWineShareModes(t *testing.T) {
	w := setupWine(t, true)
	bin := filepath.Join(t.TempDir(), "disk.test.exe")
	build := exec.Command("go", "test", "-c", "-o", bin, "./core/disk")
	build.Dir = testenv.RepoRoot()
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building core/disk's tests for Windows: %v\n%s", err, out)
	}
	r := w.run(t, bin, "-test.run", "^(TestShareModes|TestSectorIO)$", "-test.v")
	if r.code != 0 || !strings.Contains(r.stdout, "--- PASS: TestShareModes") || !strings.Contains(r.stdout, "--- PASS: TestSectorIO") {
		t.Fatalf("core/disk's Windows tests under Wine: %v", r)
	}

	fx := injectFixture(t)
	dir := t.TempDir()
	img := testenv.CopyFile(t, filepath.Join(fx, "disks", "10-x64-virtio.raw"), filepath.Join(dir, "win10.raw"))
	orig := testenv.FileSHA256(t, img)
	holdLog := filepath.Join(t.TempDir(), "hold.log")
	holder := exec.Command("wine", bin, "-test.run", "^TestHoldOpen$", "-test.v")
	holder.Env = append(w.env(), "PVINJECT_HOLD_OPEN="+winPath(t, img))
	holder.Stdout = createFile(t, holdLog)
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- holder.Wait() }()
	t.Cleanup(func() {
		os.WriteFile(img+".release", nil, 0o644)
		<-done
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if b, _ := os.ReadFile(holdLog); bytes.Contains(b, []byte("holding")) {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(holdLog)
			t.Fatalf("the other program did not open the image within 60 s:\n%s", b)
		}
	}
	r = w.run(t, w.exe, "inject", "--drivers", winPath(t, virtioTree(fx)), "--in-place", winPath(t, img))
	if r.code != exitRefused || !strings.Contains(r.stderr, "another program has the image open") {
		t.Errorf("inject --in-place on an image another program writes: want a refusal (status 3) naming the other program, got %v", r)
	}
	if testenv.FileSHA256(t, img) != orig {
		t.Error("the refused inject changed the image")
	}
	if got := dirNames(t, dir); got != "win10.raw" {
		t.Errorf("the refused inject left %q in the image's folder, want only win10.raw", got)
	}
}

// TestWineWizard: the Windows build's wizard opens under Wine on a private
// Xvfb display (OpenGL through Mesa), with a window titled pvinject whose
// screenshot is not one flat colour (kept in artifacts/gui/wine-step1.png),
// and its Open image button shows the native Windows file dialog.
func TestWineWizard(t *testing.T) {
	testenv.RequireTool(t, "Xvfb", "xdotool", "import", "identify")
	w := setupWine(t, true)
	disp := 90
	for ; disp < 200; disp++ {
		if _, err := os.Stat("/tmp/.X" + strconv.Itoa(disp) + "-lock"); err != nil {
			break
		}
	}
	display := ":" + strconv.Itoa(disp)
	xvfb := exec.Command("Xvfb", display, "-screen", "0", "1280x900x24", "-nolisten", "tcp")
	if err := xvfb.Start(); err != nil {
		t.Fatalf("Xvfb: %v", err)
	}
	t.Cleanup(func() { xvfb.Process.Kill(); xvfb.Wait() })

	log := createFile(t, filepath.Join(t.TempDir(), "wizard.log"))
	app := exec.Command("wine", w.exe)
	app.Env = append(w.env(), "DISPLAY="+display)
	app.Stdout, app.Stderr = log, log
	start := time.Now()
	if err := app.Start(); err != nil {
		t.Fatalf("wine pvinject.exe: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	t.Cleanup(func() {
		app.Process.Kill()
		<-exited
	})
	xdo := func(args ...string) string {
		c := exec.Command("xdotool", args...)
		c.Env = append(os.Environ(), "DISPLAY="+display)
		out, _ := c.Output()
		return strings.TrimSpace(string(out))
	}
	var wid string
	for deadline := time.Now().Add(90 * time.Second); wid == "" && time.Now().Before(deadline); {
		select {
		case err := <-exited:
			exited <- err
			out, _ := os.ReadFile(log.Name())
			t.Fatalf("the wizard exited before its window showed: %v\n%s", err, out)
		case <-time.After(200 * time.Millisecond):
		}
		wid, _, _ = strings.Cut(xdo("search", "--onlyvisible", "--name", "^pvinject"), "\n")
	}
	if wid == "" {
		out, _ := os.ReadFile(log.Name())
		t.Fatalf("no window titled pvinject within 90 s\n%s", out)
	}
	t.Logf("wizard window under Wine after %s", time.Since(start).Round(100*time.Millisecond))
	time.Sleep(2 * time.Second) // the first frame
	shot := filepath.Join(testenv.RepoRoot(), "artifacts", "gui", "wine-step1.png")
	if err := os.MkdirAll(filepath.Dir(shot), 0o755); err != nil {
		t.Fatal(err)
	}
	imp := exec.Command("import", "-window", "root", shot)
	imp.Env = append(os.Environ(), "DISPLAY="+display)
	if out, err := imp.CombinedOutput(); err != nil {
		t.Fatalf("screenshot: %v\n%s", err, out)
	}
	sd, err := exec.Command("identify", "-format", "%[fx:standard_deviation]", shot).Output()
	if err != nil {
		t.Fatalf("identify: %v", err)
	}
	if v, err := strconv.ParseFloat(strings.TrimSpace(string(sd)), 64); err != nil || v < 0.02 {
		t.Errorf("the wizard's screenshot %s is one flat colour (standard deviation %s)", shot, sd)
	}

	// "Open image..." (the first control: Tab, then Space) must bring up
	// Windows' own file dialog through sqweek/dialog: a top-level window of
	// its own with the picker's title, where Fyne's dialog would be drawn
	// inside the wizard's window.
	xdo("windowfocus", "--sync", wid)
	xdo("key", "Tab")
	time.Sleep(300 * time.Millisecond)
	xdo("key", "space")
	var dlg string
	for deadline := time.Now().Add(30 * time.Second); dlg == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		dlg = xdo("search", "--onlyvisible", "--name", "^Open a Windows disk image")
	}
	if dlg == "" {
		t.Error("Open image did not bring up the Windows file dialog within 30 s")
	}
}
