package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/internal/testenv"
)

// TestVersion: --version (and its spellings) prints "pvinject VERSION" and
// the hive engine in use on stdout, and nothing on stderr.
func TestVersion(t *testing.T) {
	for _, arg := range []string{"--version", "-version", "version"} {
		r := cli(t, arg)
		if r.code != exitOK || r.stdout != versionText() || !strings.HasPrefix(r.stdout, "pvinject "+Version+"\nhive engine: ") || r.stderr != "" {
			t.Errorf("pvinject %s: %v", arg, r)
		}
	}
	if Version == "" {
		t.Error("Version is empty")
	}
	// The second line names the hive engine the environment selects.
	t.Setenv(hive.EngineEnv, hive.EngineGo)
	if r := cli(t, "--version"); !strings.HasSuffix(r.stdout, "\nhive engine: pure Go (go)\n") {
		t.Errorf("with %s=go: %q", hive.EngineEnv, r.stdout)
	}
	t.Setenv(hive.EngineEnv, hive.EngineHivex)
	if r := cli(t, "--version"); !strings.HasSuffix(r.stdout, "\nhive engine: libhivex (hivex)\n") && hive.EngineName() == hive.EngineHivex {
		t.Errorf("with %s=hivex: %q", hive.EngineEnv, r.stdout)
	}
}

// TestHelp: the top-level help and every subcommand's help, in each way an
// admin asks for it, go to stdout with examples and exit 0.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := cli(t, args...)
		if r.code != exitOK || r.stderr != "" {
			t.Errorf("pvinject %v: %v", args, r)
		}
		for _, c := range []string{"inspect", "inject", "rollback", "accept", "verify", "batch", "Exit status"} {
			if !strings.Contains(r.stdout, c) {
				t.Errorf("pvinject %v: top help lacks %q:\n%s", args, c, r.stdout)
			}
		}
	}
	names := []string{"inspect", "inject", "rollback", "accept", "verify", "batch"}
	if len(commands()) != len(names) {
		t.Errorf("%d commands, this test covers %d: add the new one here", len(commands()), len(names))
	}
	for _, name := range names {
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}, {name, "IMAGE.img", "--help"}} {
			r := cli(t, args...)
			if r.code != exitOK || r.stderr != "" {
				t.Errorf("pvinject %v: %v", args, r)
				continue
			}
			if !strings.HasPrefix(r.stdout, "Usage: pvinject "+name+" ") {
				t.Errorf("pvinject %v: no usage line:\n%s", args, r.stdout)
			}
			ex := strings.Index(r.stdout, "Examples:")
			if ex < 0 || !strings.Contains(r.stdout[ex:], "pvinject "+name+" ") {
				t.Errorf("pvinject %v: no examples of %s:\n%s", args, name, r.stdout)
			}
		}
	}
	// Every flag the inject command has is documented in its help.
	r := cli(t, "inject", "--help")
	for _, f := range []string{"-drivers", "-set", "-in-place", "-output", "-format", "-mtu", "-write-cache", "-allow-unsigned", "-dry-run", "-json", "-answers"} {
		if !strings.Contains(r.stdout, f) {
			t.Errorf("inject --help does not document %s", f)
		}
	}
}

// TestUsageErrors: bad invocations exit 2 with one line on stderr naming
// the problem, and print nothing on stdout.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	answers := filepath.Join(dir, "a.json")
	if err := os.WriteFile(answers, []byte(`{"version":1,"drivers":"/nowhere","set":"auto","output":"{dir}/{name}-kvm.qcow2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, "x.img")
	cases := []struct {
		args  []string
		names []string // what the line must mention
	}{
		{[]string{"frobnicate"}, []string{`"frobnicate"`}},
		{[]string{"inspect"}, []string{"IMAGE"}},
		{[]string{"inspect", "--bogus", img}, []string{"-bogus"}},
		{[]string{"inspect", "a.img", "b.img"}, []string{"one IMAGE"}},
		{[]string{"inject", "--drivers", "/d", "--in-place"}, []string{"IMAGE"}},
		{[]string{"inject", "--drivers", "/d", img}, []string{"--in-place", "--output"}},
		{[]string{"inject", "--in-place", img}, []string{"--drivers"}},
		{[]string{"inject", "--drivers", "/d", "--in-place", "--output", "o.qcow2", img}, []string{"--in-place", "--output"}},
		{[]string{"inject", "--drivers", "/d", "--in-place", "--mtu", "100", img}, []string{"--mtu 100"}},
		{[]string{"inject", "--drivers", "/d", "--in-place", "--write-cache", "maybe", img}, []string{"--write-cache", "maybe"}},
		{[]string{"inject", "--drivers", "/d", "--in-place", "--mtu", "nine", img}, []string{"-mtu"}},
		{[]string{"inject", "--answers", filepath.Join(dir, "missing.json"), img}, []string{"missing.json"}},
		{[]string{"rollback"}, []string{"IMAGE"}},
		{[]string{"verify"}, []string{"IMAGE"}},
		{[]string{"verify", "--nope", img}, []string{"-nope"}},
		{[]string{"batch", img}, []string{"--answers"}},
		{[]string{"batch", "--answers", answers}, []string{"IMAGE"}},
		{[]string{"batch", "--answers", answers, "--jobs", "0", img}, []string{"--jobs 0"}},
	}
	for _, c := range cases {
		r := cli(t, c.args...)
		if r.code != exitUsage {
			t.Errorf("pvinject %v: want exit 2: %v", c.args, r)
			continue
		}
		if r.stdout != "" {
			t.Errorf("pvinject %v: usage error printed on stdout: %q", c.args, r.stdout)
		}
		wantOneLine(t, r, c.names...)
	}
}

// TestErrorsNameTheFile: runtime errors exit 1 with one line naming the file.
func TestErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.qcow2")
	// A qcow2 header whose L1 table runs past the end of the file.
	trunc := filepath.Join(dir, "header-only.qcow2")
	testenv.RequireTool(t, "qemu-img")
	qemuImg(t, "create", "-q", "-f", "qcow2", trunc, "64M")
	b, err := os.ReadFile(trunc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(trunc, b[:1024], 0o644); err != nil {
		t.Fatal(err)
	}
	noJournal := filepath.Join(dir, "plain.img")
	if err := os.WriteFile(noJournal, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		file string
	}{
		{[]string{"inspect", missing}, missing},
		{[]string{"inspect", "--json", trunc}, trunc},
		{[]string{"rollback", noJournal}, noJournal},
		{[]string{"verify", noJournal}, noJournal},
		{[]string{"inject", "--drivers", dir, "--output", filepath.Join(dir, "o.qcow2"), missing}, missing},
	}
	for _, c := range cases {
		r := cli(t, c.args...)
		if r.code != exitError {
			t.Errorf("pvinject %v: want exit 1: %v", c.args, r)
			continue
		}
		if r.stdout != "" {
			t.Errorf("pvinject %v: error run printed on stdout: %q", c.args, r.stdout)
		}
		wantOneLine(t, r, filepath.Base(c.file))
		if n := strings.Count(r.stderr, c.file+":"); n != 1 {
			t.Errorf("pvinject %v: the file is named %d times, want once: %s", c.args, n, r.stderr)
		}
	}
	if exists(filepath.Join(dir, "o.qcow2")) {
		t.Error("a failed inject left its output behind")
	}
}

// TestGUINoDisplay: with no arguments (or --demo, or one IMAGE) and no
// display the wizard is not started; one line says why and the status is 1.
func TestGUINoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, make([]byte, 512), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"--demo"}, {img}, {"--", img}} {
		r := cli(t, args...)
		if r.code != exitError || r.stdout != "" {
			t.Errorf("pvinject %v without a display: %v", args, r)
		}
		wantOneLine(t, r, "no graphical display", "pvinject --help")
	}
}

// TestNoLocaleNoise: the built binary, under the C.UTF-8 locale of CI
// containers and ssh sessions, prints nothing from Fyne's locale parsing:
// --version is its two clean lines, and errors stay one line.
func TestNoLocaleNoise(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "pvinject")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	missing := filepath.Join(t.TempDir(), "missing.vhdx")
	// C.UTF-8 is what CI containers and ssh sessions have; a locale that
	// is not installed (de_DE.UTF-8 and en_US.UTF-8 on minimal Debian) is what
	// ssh forwards to a bare server, and GTK warns about it.
	locales := [][]string{{"LANG=C.UTF-8"}, {"LC_ALL=C.UTF-8"}, {"LANG=C"}, {"LANG=POSIX"}, {"LANG=en_US.UTF-8"}, {"LANG=de_DE.UTF-8"}}
	for _, loc := range locales {
		for _, c := range []struct {
			args         []string
			code         int
			stdout, line string
		}{
			{[]string{"--version"}, exitOK, versionText(), ""},
			{[]string{"inspect", missing}, exitError, "", "missing.vhdx"},
			{[]string{"frobnicate"}, exitUsage, "", "frobnicate"},
			{nil, exitError, "", "no graphical display"},
		} {
			cmd := exec.Command(bin, c.args...)
			cmd.Env = cleanEnv(loc...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			r := result{code: code, stdout: out.String(), stderr: errb.String()}
			if code != c.code || r.stdout != c.stdout {
				t.Errorf("%v pvinject %v: %v", loc, c.args, r)
			}
			// The temporary path holds this test's name, "...Locale...".
			low := strings.ToLower(strings.ReplaceAll(r.stderr, missing, "IMAGE"))
			if strings.Contains(low, "fyne") || strings.Contains(low, "locale") || strings.Contains(low, "gtk") {
				t.Errorf("%v pvinject %v: locale noise on stderr: %q", loc, c.args, r.stderr)
			}
			if c.line == "" {
				if r.stderr != "" {
					t.Errorf("%v pvinject %v: stderr not empty: %q", loc, c.args, r.stderr)
				}
			} else {
				wantOneLine(t, r, c.line)
			}
		}
	}
}

// cleanEnv is the process environment without locale or display variables,
// plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "LANG", name == "LANGUAGE", strings.HasPrefix(name, "LC_"),
			name == "DISPLAY", name == "WAYLAND_DISPLAY", name == "PVINJECT_DEBUG_LOG":
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
