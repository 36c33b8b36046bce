package firstboot

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// winePrefix is one Wine installation shared by the scenarios, with a
// stand-in pnputil.exe in System32. Wine's cmd, reg and sc are real
// implementations of the Windows tools the runner uses.
type winePrefix struct {
	t      *testing.T
	dir    string
	env    []string
	drive  string // drive_c
	pnputl string
}

func newWinePrefix(t *testing.T) *winePrefix {
	t.Helper()
	testenv.RequireTool(t, "wine", "wineserver", "x86_64-w64-mingw32-gcc")
	dir := filepath.Join(t.TempDir(), "prefix")
	w := &winePrefix{t: t, dir: dir, drive: filepath.Join(dir, "drive_c")}
	// The stand-in netsh must run instead of Wine's builtin one.
	w.env = append(os.Environ(), "WINEPREFIX="+dir, "WINEDEBUG=-all", "DISPLAY=", "WINEDLLOVERRIDES=netsh.exe,getmac.exe=n")
	// A persistent wineserver turns each wine call from seconds into a
	// fraction of one. It starts first and without our pipes, so that no
	// long-lived process holds a test's output open.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command("wineserver", "-p")
	srv.Env = w.env
	if err := srv.Run(); err != nil {
		t.Fatalf("wineserver -p: %v", err)
	}
	w.run(3*time.Minute, "wineboot", "-i")
	w.pnputl = filepath.Join(w.drive, "windows", "system32", "pnputil.exe")
	build := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", w.pnputl, "testdata/pnputil.c")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building stand-in pnputil: %v\n%s", err, out)
	}
	netsh := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", filepath.Join(w.drive, "windows", "system32", "netsh.exe"), "testdata/netsh.c")
	if out, err := netsh.CombinedOutput(); err != nil {
		t.Fatalf("building stand-in netsh: %v\n%s", err, out)
	}
	getmac := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-o", filepath.Join(w.drive, "windows", "system32", "getmac.exe"), "testdata/getmac.c")
	if out, err := getmac.CombinedOutput(); err != nil {
		t.Fatalf("building stand-in getmac: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		k := exec.Command("wineserver", "-k")
		k.Env = w.env
		_ = k.Run()
	})
	return w
}

func (w *winePrefix) run(timeout time.Duration, args ...string) (string, int) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "wine", args...)
	cmd.Env = w.env
	// A file, not a pipe: Wine helpers that outlive the command must not
	// keep the test waiting for EOF.
	outFile, err := os.CreateTemp(w.t.TempDir(), "wine-out")
	if err != nil {
		w.t.Fatal(err)
	}
	defer outFile.Close()
	cmd.Stdout, cmd.Stderr = outFile, outFile
	err = cmd.Run()
	outBytes, _ := os.ReadFile(outFile.Name())
	out := bytes.NewBuffer(outBytes)
	if ctx.Err() != nil {
		w.t.Fatalf("wine %v timed out\n%s", args, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		w.t.Fatalf("wine %v: %v", args, err)
	}
	return out.String(), code
}

func (w *winePrefix) reg(args ...string) (string, int) {
	return w.run(time.Minute, append([]string{"reg"}, args...)...)
}

func (w *winePrefix) file(rel string) string {
	return filepath.Join(w.drive, filepath.FromSlash(rel))
}

func (w *winePrefix) read(rel string) string {
	b, _ := os.ReadFile(w.file(rel))
	return string(b)
}

const (
	svcKey  = `HKLM\SYSTEM\CurrentControlSet\Services\` + ServiceName
	nicKey  = `HKLM\SYSTEM\CurrentControlSet\Control\Class\{4d36e972-e325-11ce-bfc1-08002be10318}\0007`
	diskKey = `HKLM\SYSTEM\CurrentControlSet\Enum\SCSI\Disk&Ven_Red_Hat&Prod_VirtIO\4&1a2b3c&0&000000`
)

// stage lays out a fresh runner, its packages and the registry state a guest
// has at first boot: the service key, one virtio NIC and one virtio disk.
func (w *winePrefix) stage(c Config, behaviour string) {
	w.t.Helper()
	pv := w.file("windows/pvinject")
	if err := os.RemoveAll(pv); err != nil {
		w.t.Fatal(err)
	}
	for _, p := range c.Packages {
		inf := filepath.Join(pv, filepath.FromSlash(strings.ReplaceAll(p.INF, `\`, "/")))
		if err := os.MkdirAll(filepath.Dir(inf), 0o755); err != nil {
			w.t.Fatal(err)
		}
		if err := os.WriteFile(inf, []byte("[Version]\r\n"), 0o644); err != nil {
			w.t.Fatal(err)
		}
	}
	script, err := Script(c)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(pv, "firstboot.cmd"), []byte(script), 0o644); err != nil {
		w.t.Fatal(err)
	}
	for _, f := range []string{"pnputil-calls.txt", "pnputil-behavior.txt"} {
		os.Remove(w.file(f))
	}
	if err := os.WriteFile(w.file("pnputil-behavior.txt"), []byte(behaviour), 0o644); err != nil {
		w.t.Fatal(err)
	}
	w.reg("delete", nicKey, "/f")
	w.reg("delete", `HKLM\SYSTEM\CurrentControlSet\Enum\SCSI`, "/f")
	w.reg("delete", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`, "/f")
	w.mustReg("add", svcKey, "/v", "Start", "/t", "REG_DWORD", "/d", "2", "/f")
	w.mustReg("add", nicKey, "/v", "MatchingDeviceId", "/t", "REG_SZ", "/d", `pci\ven_1af4&dev_1000&subsys_00011af4&rev_00`, "/f")
	w.mustReg("add", diskKey, "/v", "DeviceDesc", "/t", "REG_SZ", "/d", "VirtIO disk", "/f")
}

func (w *winePrefix) mustReg(args ...string) {
	w.t.Helper()
	if out, code := w.reg(args...); code != 0 {
		w.t.Fatalf("reg %v: exit %d\n%s", args, code, out)
	}
}

// boot runs the runner as the service would, and returns its exit status.
func (w *winePrefix) boot() int {
	w.t.Helper()
	_, code := w.run(5*time.Minute, "cmd", "/c", `C:\windows\pvinject\firstboot.cmd`)
	return code
}

func (w *winePrefix) serviceExists() bool {
	_, code := w.reg("query", svcKey)
	return code == 0
}

func (w *winePrefix) value(key, name string) string {
	out, code := w.reg("query", key, "/v", name)
	if code != 0 {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && strings.EqualFold(f[0], name) {
			return f[len(f)-1]
		}
	}
	return ""
}

func testConfig() Config {
	return Config{
		Packages: []Package{
			{Name: "viostor", INF: `drivers\viostor\viostor.inf`, Required: true},
			{Name: "netkvm", INF: `drivers\netkvm\netkvm.inf`},
			{Name: "balloon", INF: `drivers\balloon\balloon.inf`},
		},
		JumboPacket:    9014,
		NICMatch:       []string{`ven_1af4&dev_1000`, `ven_1af4&dev_1041`},
		WriteCache:     CacheOff,
		DiskMatch:      []string{`ven_red_hat&prod_virtio`},
		MaxBoots:       3,
		PnPWaitSeconds: 10,
	}
}

func TestRunnerUnderWine(t *testing.T) {
	w := newWinePrefix(t)

	t.Run("all succeed, 259 counts as success, options applied, runner removed", func(t *testing.T) {
		w.stage(testConfig(), "balloon.inf 259\n")
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d; log:\n%s", code, w.read("windows/pvinject/firstboot.log"))
		}
		calls := w.read("pnputil-calls.txt")
		for _, inf := range []string{"viostor.inf", "netkvm.inf", "balloon.inf"} {
			if !strings.Contains(calls, inf) || !strings.Contains(calls, "-i -a") {
				t.Errorf("pnputil not called with -i -a for %s; calls:\n%s", inf, calls)
			}
		}
		if got := w.value(nicKey, "*JumboPacket"); got != "9014" {
			t.Errorf("*JumboPacket = %q, want 9014", got)
		}
		if got := w.value(diskKey+`\Device Parameters\Disk`, "UserWriteCacheSetting"); got != "0x0" && got != "0" {
			t.Errorf("UserWriteCacheSetting = %q, want 0", got)
		}
		if w.serviceExists() {
			t.Error("runner service still registered after success")
		}
		log := w.read("windows/pvinject/firstboot.log")
		for _, want := range []string{"viostor: installed", "balloon: installed", "finished"} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %q:\n%s", want, log)
			}
		}
	})

	// Wine's cmd reports a child's exit code 259 (STILL_ACTIVE) as 0, so the
	// literal 259 cannot be observed here; what matters, and what this
	// asserts, is that a required package answering 259 is not retried.
	t.Run("required package answering 259 is success", func(t *testing.T) {
		w.stage(testConfig(), "viostor.inf 259\n")
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d; log:\n%s", code, w.read("windows/pvinject/firstboot.log"))
		}
		if w.serviceExists() {
			t.Error("runner kept for a retry after 259")
		}
	})

	t.Run("optional failure is not fatal", func(t *testing.T) {
		w.stage(testConfig(), "netkvm.inf 5\n")
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d", code)
		}
		if w.serviceExists() {
			t.Error("service kept although only an optional package failed")
		}
		if log := w.read("windows/pvinject/firstboot.log"); !strings.Contains(log, "netkvm: pnputil failed with 5 (optional; continuing)") {
			t.Errorf("log:\n%s", log)
		}
	})

	t.Run("required failure retries on the next boot, then succeeds once", func(t *testing.T) {
		w.stage(testConfig(), "viostor.inf 1\n")
		if code := w.boot(); code == 0 {
			t.Fatal("runner succeeded although viostor failed")
		}
		if !w.serviceExists() {
			t.Fatal("service removed although a required package failed")
		}
		if err := os.WriteFile(w.file("pnputil-behavior.txt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if code := w.boot(); code != 0 {
			t.Fatalf("second boot exit %d", code)
		}
		calls := w.read("pnputil-calls.txt")
		if n := strings.Count(calls, "netkvm.inf"); n != 1 {
			t.Errorf("netkvm installed %d times across boots, want once:\n%s", n, calls)
		}
		if w.serviceExists() {
			t.Error("service still registered after the retry succeeded")
		}
	})

	t.Run("retries are bounded: gives up after MaxBoots and removes itself", func(t *testing.T) {
		w.stage(testConfig(), "viostor.inf 1\n")
		for boot := 1; boot <= 3; boot++ {
			if code := w.boot(); code == 0 {
				t.Fatalf("boot %d succeeded although viostor always fails", boot)
			}
		}
		if code := w.boot(); code != 0 {
			t.Fatalf("boot 4 exit %d, want 0 (gave up)", code)
		}
		if w.serviceExists() {
			t.Error("service still registered after giving up: reboot loop risk")
		}
		// The runner's log says what it tried on each boot; the stand-in's
		// record proves those calls reached pnputil. A launch that Wine
		// itself fails on a loaded host shows in the log as another exit
		// code and is not counted against the stand-in's record, so only a
		// runner that skips a boot or calls pnputil unlogged fails here.
		log, calls := w.read("windows/pvinject/firstboot.log"), w.read("pnputil-calls.txt")
		tried := strings.Count(log, "viostor: pnputil failed with")
		answered := strings.Count(log, "viostor: pnputil failed with 1 ")
		recorded := strings.Count(calls, "viostor.inf")
		if tried != 3 || recorded != answered || recorded == 0 {
			t.Errorf("viostor tried %d times by the log (want 3), answered by the stand-in %d times, recorded by it %d times\nlog:\n%s\ncalls:\n%s", tried, answered, recorded, log, calls)
		}
		if !strings.Contains(log, "GIVING UP") {
			t.Errorf("log does not say it gave up:\n%s", log)
		}
	})

	t.Run("pending reboot defers installation", func(t *testing.T) {
		w.stage(testConfig(), "")
		w.mustReg("add", `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`, "/f")
		if code := w.boot(); code == 0 {
			t.Fatal("runner ran although a reboot is pending")
		}
		if calls := w.read("pnputil-calls.txt"); calls != "" {
			t.Errorf("pnputil called despite pending reboot: %s", calls)
		}
	})

	t.Run("no pnputil (XP) is not an error", func(t *testing.T) {
		c := testConfig()
		c.JumboPacket, c.WriteCache = 0, CacheKeep
		w.stage(c, "")
		saved := w.pnputl + ".saved"
		if err := os.Rename(w.pnputl, saved); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(saved, w.pnputl)
		if code := w.boot(); code != 0 {
			t.Fatalf("runner exit %d without pnputil", code)
		}
		if log := w.read("windows/pvinject/firstboot.log"); !strings.Contains(log, "no pnputil on this Windows") {
			t.Errorf("log:\n%s", log)
		}
		if w.serviceExists() {
			t.Error("service not removed")
		}
	})

	t.Run("network identity", func(t *testing.T) { runNetIdentity(t, w) })

	for _, listed := range []bool{true, false} {
		name := "VMware vSockets provider listed: Winsock reset"
		if !listed {
			name = "no VMware vSockets provider: no Winsock reset"
		}
		t.Run(name, func(t *testing.T) {
			c := testConfig()
			c.JumboPacket, c.WriteCache = 0, CacheKeep
			c.ResetVSockWinsock = true
			w.stage(c, "")
			catalog := "Winsock Catalog Provider Entry\r\n---\r\nEntry Type:  Base Service Provider\r\nDescription: Hyper-V RAW\r\nProvider Path: %SystemRoot%\\system32\\mswsock.dll\r\n"
			if listed {
				catalog += "Description: VMware vSockets DGRAM\r\nProvider ID: {570ADC4B-67B2-42CE-92B2-ACD33D88D842}\r\nProvider Path: %SystemRoot%\\system32\\vsocklib.dll\r\n"
			}
			os.Remove(w.file("netsh-calls.txt"))
			if err := os.WriteFile(w.file("netsh-catalog.txt"), []byte(catalog), 0o644); err != nil {
				t.Fatal(err)
			}
			if code := w.boot(); code != 0 {
				t.Fatalf("runner exit %d; log:\n%s", code, w.read("windows/pvinject/firstboot.log"))
			}
			calls := strings.ReplaceAll(w.read("netsh-calls.txt"), "\r", "")
			want := "winsock show catalog\n"
			if listed {
				want += "winsock reset\n"
			}
			if calls != want {
				t.Errorf("netsh calls %q, want %q", calls, want)
			}
			log := w.read("windows/pvinject/firstboot.log")
			wantLog := "no VMware vSockets Winsock provider listed"
			if listed {
				wantLog = "netsh winsock reset exited with 0"
			}
			if !strings.Contains(log, wantLog) {
				t.Errorf("log lacks %q:\n%s", wantLog, log)
			}
			if w.serviceExists() {
				t.Error("service not removed")
			}
		})
	}
}
