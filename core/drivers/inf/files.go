package inf

import (
	"fmt"
	"strconv"
	"strings"
)

// DestDir is a DestinationDirs entry: a directory id and optional subdir.
type DestDir struct {
	DirID  int // -1 when the entry is not a number (e.g. an undefined %strkey%)
	Subdir string
	Raw    string
}

// dirIDs maps the directory ids driver INFs use to paths relative to the
// system drive root. 13 (the DriverStore run-from directory) has no fixed
// path: it is the package's own FileRepository folder.
var dirIDs = map[int]string{
	10:    `Windows`,
	11:    `Windows\System32`,
	12:    `Windows\System32\drivers`,
	17:    `Windows\INF`,
	18:    `Windows\Help`,
	20:    `Windows\Fonts`,
	24:    ``,
	25:    `Windows`,
	30:    ``,
	50:    `Windows\System`,
	16422: `Program Files`,
	16425: `Windows\SysWOW64`,
	16427: `Program Files\Common Files`,
}

// DirIDDriverStore is the run-from-DriverStore directory id (Windows 10 1709+).
const DirIDDriverStore = 13

// Path returns the directory relative to the system drive root.
func (d DestDir) Path() (string, bool) {
	base, ok := dirIDs[d.DirID]
	if !ok {
		return "", false
	}
	return joinWin(base, d.Subdir), true
}

func joinWin(a, b string) string {
	b = strings.Trim(b, `\`)
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + `\` + b
}

// ResolveDirPath turns "%12%\viostor.sys" into a path relative to the
// system drive root ("Windows\System32\drivers\viostor.sys").
func ResolveDirPath(s string) (string, bool) {
	if !strings.HasPrefix(s, "%") {
		return s, !strings.Contains(s, "%")
	}
	end := strings.IndexByte(s[1:], '%')
	if end < 0 {
		return s, false
	}
	id, err := strconv.Atoi(s[1 : 1+end])
	if err != nil {
		return s, false
	}
	base, ok := dirIDs[id]
	if !ok {
		return s, false
	}
	return joinWin(base, s[end+2:]), true
}

// DestinationDir returns the destination of a file-list section: its own
// DestinationDirs entry, else DefaultDestDir, else Windows' default (11).
func (f *File) DestinationDir(fileList string) DestDir {
	sec := f.Section("DestinationDirs")
	var def *DestDir
	if sec != nil {
		for _, ln := range sec.Lines {
			if !ln.HasKey {
				continue
			}
			d := DestDir{DirID: -1, Subdir: ln.Field(1), Raw: strings.Join(ln.Fields, ",")}
			if n, err := parseNumber(ln.Field(0)); err == nil && n < 1<<20 {
				d.DirID = int(n)
			}
			if strings.EqualFold(ln.Key, fileList) {
				return d
			}
			if strings.EqualFold(ln.Key, "DefaultDestDir") {
				dd := d
				def = &dd
			}
		}
	}
	if def != nil {
		return *def
	}
	return DestDir{DirID: 11, Raw: "11 (default)"}
}

// FileCopy is one file a CopyFiles directive installs.
type FileCopy struct {
	Name     string // destination file name
	Source   string // source file name (same as Name unless renamed)
	FileList string // the file-list section, or "@" for CopyFiles=@file
	Dest     DestDir
	Flags    uint32
	// SourcePath is the file's path relative to the INF's folder, from
	// [SourceDisksFiles] and [SourceDisksNames]; "" when not listed.
	SourcePath string
}

func (f *File) copyFiles(entries []string, arch Arch) ([]FileCopy, error) {
	var out []FileCopy
	for _, e := range entries {
		if name, ok := strings.CutPrefix(e, "@"); ok {
			fc := FileCopy{Name: name, Source: name, FileList: "@", Dest: f.DestinationDir("DefaultDestDir")}
			fc.SourcePath, _ = f.SourceFile(name, arch)
			out = append(out, fc)
			continue
		}
		sec := f.Section(e)
		if sec == nil {
			return nil, fmt.Errorf("%s: %w: CopyFiles section [%s]", f.Name, ErrNoSection, e)
		}
		dest := f.DestinationDir(sec.Name)
		for _, ln := range sec.Lines {
			dst := ln.Field(0)
			if ln.HasKey || dst == "" {
				continue
			}
			fc := FileCopy{Name: dst, Source: dst, FileList: sec.Name, Dest: dest}
			if s := ln.Field(1); s != "" {
				fc.Source = s
			}
			if v := ln.Field(3); v != "" {
				if n, err := parseNumber(v); err == nil {
					fc.Flags = n
				}
			}
			fc.SourcePath, _ = f.SourceFile(fc.Source, arch)
			out = append(out, fc)
		}
	}
	return out, nil
}

// SourceFile returns where a source file lives relative to the INF folder,
// from [SourceDisksFiles.<arch>] (then [SourceDisksFiles]) and the matching
// [SourceDisksNames.<arch>] (then [SourceDisksNames]) entry.
func (f *File) SourceFile(name string, arch Arch) (string, bool) {
	for _, sn := range []string{"SourceDisksFiles." + string(arch), "SourceDisksFiles"} {
		sec := f.Section(sn)
		if sec == nil {
			continue
		}
		for _, ln := range sec.Lines {
			if !ln.HasKey || !strings.EqualFold(ln.Key, name) {
				continue
			}
			disk := strings.TrimSpace(ln.Field(0))
			rel := joinWin(f.diskPath(disk, arch), ln.Field(1))
			return strings.ReplaceAll(joinWin(rel, name), `\`, "/"), true
		}
	}
	return "", false
}

func (f *File) diskPath(disk string, arch Arch) string {
	for _, sn := range []string{"SourceDisksNames." + string(arch), "SourceDisksNames"} {
		sec := f.Section(sn)
		if sec == nil {
			continue
		}
		for _, ln := range sec.Lines {
			if ln.HasKey && strings.TrimSpace(ln.Key) == disk {
				return strings.TrimPrefix(ln.Field(3), `\`)
			}
		}
	}
	return ""
}

// SourceFiles lists every file name in any [SourceDisksFiles*] section.
func (f *File) SourceFiles() []string {
	seen := map[string]bool{}
	var out []string
	for _, sec := range f.order {
		l := strings.ToLower(sec.Name)
		if l != "sourcedisksfiles" && !strings.HasPrefix(l, "sourcedisksfiles.") {
			continue
		}
		for _, ln := range sec.Lines {
			if ln.HasKey && ln.Key != "" && !seen[strings.ToLower(ln.Key)] {
				seen[strings.ToLower(ln.Key)] = true
				out = append(out, ln.Key)
			}
		}
	}
	return out
}
