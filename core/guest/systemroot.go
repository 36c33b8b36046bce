package guest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

// systemRootNames are the %SystemRoot% directory names tried, in order
// (libguestfs daemon/inspect_fs_windows.ml:28).
var systemRootNames = []string{"Windows", "WINNT", "WIN32", "WIN", "REACTOS"}

const maxBootINI = 64 << 10 // boot.ini is a few hundred bytes

// bootINIEntry matches an ARC path line of boot.ini's [operating systems]:
// multi(0)disk(0)rdisk(0)partition(1)\WINDOWS="Microsoft Windows XP" /fastdetect
var bootINIEntry = regexp.MustCompile(`(?i)^\s*(?:multi|scsi|signature)\([^)]*\)disk\(\d+\)rdisk\(\d+\)partition\(\d+\)\\([^=]+)=`)

// parseBootINI returns the %SystemRoot% paths listed in boot.ini, slash
// separated and relative to the volume root, in file order, without duplicates.
func parseBootINI(b []byte) []string {
	var out []string
	seen := map[string]bool{}
	inOS := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxBootINI)
	for sc.Scan() {
		line := strings.TrimSpace(strings.TrimPrefix(sc.Text(), "\ufeff"))
		if strings.HasPrefix(line, "[") {
			inOS = strings.EqualFold(line, "[operating systems]")
			continue
		}
		if !inOS {
			continue
		}
		m := bootINIEntry.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		p := strings.Trim(strings.ReplaceAll(strings.TrimSpace(m[1]), `\`, "/"), "/")
		if p == "" || !fs.ValidPath(p) || seen[strings.ToLower(p)] {
			continue
		}
		seen[strings.ToLower(p)] = true
		out = append(out, p)
	}
	return out
}

// candidate is a %SystemRoot% that passed the libguestfs test, with the
// on-disk case of each path detection reads later.
type candidate struct {
	root     string // e.g. "Windows"
	system32 string // e.g. "Windows/System32"
	config   string // e.g. "Windows/System32/config"
	cmd      string // e.g. "Windows/System32/cmd.exe"
}

// findSystemRoots lists every %SystemRoot% on the volume. All named
// candidates are checked (a volume can hold several installs); boot.ini is
// read only when none matched, as libguestfs does.
func findSystemRoots(v FS) ([]candidate, error) {
	var out []candidate
	seen := map[string]bool{}
	try := func(dir string) error {
		c, ok, err := checkSystemRoot(v, dir)
		if err != nil || !ok || seen[strings.ToLower(c.root)] {
			return err
		}
		seen[strings.ToLower(c.root)] = true
		out = append(out, c)
		return nil
	}
	ents, err := v.ReadDir(".")
	if err != nil {
		return nil, fmt.Errorf("guest: listing the volume root: %w", err)
	}
	for _, name := range systemRootNames {
		for _, e := range ents {
			if e.IsDir() && strings.EqualFold(e.Name(), name) {
				if err := try(e.Name()); err != nil {
					return out, err
				}
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	for _, e := range ents {
		if e.IsDir() || !strings.EqualFold(e.Name(), "boot.ini") {
			continue
		}
		b, err := readBounded(v, e.Name(), maxBootINI)
		if err != nil {
			return nil, fmt.Errorf("guest: reading boot.ini: %w", err)
		}
		for _, p := range parseBootINI(b) {
			r, fi, err := resolvePath(v, "", p)
			if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
				continue
			}
			if err != nil {
				return out, err
			}
			if err := try(r); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// checkSystemRoot applies the libguestfs is_systemroot test: System32 and
// System32/config are directories and System32/cmd.exe is a file. It stops
// data disks that merely have a "Windows" folder from counting (RHBZ#674130).
func checkSystemRoot(v FS, dir string) (candidate, bool, error) {
	c := candidate{root: dir}
	var fi fs.FileInfo
	var err error
	steps := []struct {
		parent *string
		name   string
		dst    *string
		dir    bool
	}{
		{&c.root, "System32", &c.system32, true},
		{&c.system32, "config", &c.config, true},
		{&c.system32, "cmd.exe", &c.cmd, false},
	}
	for _, s := range steps {
		*s.dst, fi, err = resolve(v, *s.parent, s.name)
		if errors.Is(err, fs.ErrNotExist) {
			return c, false, nil
		}
		if err != nil {
			return c, false, fmt.Errorf("guest: checking %s: %w", join(*s.parent, s.name), err)
		}
		if fi.IsDir() != s.dir {
			return c, false, nil
		}
	}
	return c, true, nil
}

// readBounded reads a whole file after checking its size against max, so a
// corrupt size cannot make us allocate gigabytes.
func readBounded(v FS, name string, max int64) ([]byte, error) {
	fi, err := v.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d this file can have: %w", name, fi.Size(), max, errTooBig)
	}
	return v.ReadFile(name)
}

var errTooBig = errors.New("guest: file too large")
