package inf

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Errors Parse and the accessors wrap; test with errors.Is.
var (
	ErrTooLarge  = errors.New("inf: file too large")
	ErrNotINF    = errors.New("inf: not an INF file")
	ErrTemplate  = errors.New("inf: template, not a built INF")
	ErrNoSection = errors.New("inf: section missing")
	ErrSyntax    = errors.New("inf: syntax error")
)

// Options tune Parse. The zero value is the strict default.
type Options struct {
	// LCIDs lists preferred language ids for localized [Strings.LLLL]
	// sections, best first. Empty means 0x0409 (English, United States).
	LCIDs []uint16
	// AllowTemplate parses a template (.inx or an INF with unexpanded
	// build placeholders) as far as it goes instead of refusing it.
	AllowTemplate bool
}

// File is a parsed INF.
type File struct {
	Name     string // file name, used in messages
	Encoding Encoding
	Version  Version
	// StringsSection names the section(s) %strkey% tokens were taken from,
	// e.g. "Strings.0407 over Strings".
	StringsSection string
	// Template lists the build placeholders found (only with AllowTemplate).
	Template []string
	// Warnings are non-fatal oddities: unresolved %strkey% tokens,
	// unsupported directives, malformed lines that were skipped.
	Warnings []string

	sections map[string]*Section
	order    []*Section
	strs     map[string]string
	warned   map[string]bool
}

func lineMsg(n int, msg string) string { return fmt.Sprintf("line %d: %s", n, msg) }

// maxWarnings bounds File.Warnings: a hostile INF could otherwise make one
// warning per line of a 16 MiB file.
const maxWarnings = 200

// warn records a warning once (accessors may be called repeatedly).
func (f *File) warn(msg string) {
	if f.warned == nil {
		f.warned = map[string]bool{}
	}
	if f.warned[msg] {
		return
	}
	f.warned[msg] = true
	switch {
	case len(f.Warnings) < maxWarnings:
		f.Warnings = append(f.Warnings, msg)
	case len(f.Warnings) == maxWarnings:
		f.Warnings = append(f.Warnings, "further warnings omitted")
	}
}

// Parse decodes and parses an INF. name is used in messages only.
func Parse(name string, data []byte, opts Options) (*File, error) {
	text, enc, err := decodeText(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// NUL has no meaning in INF text; tokenize uses it as a marker.
	text = strings.ReplaceAll(text, "\x00", "")
	raws, warns := lexSections(text)
	f := &File{Name: name, Encoding: enc, sections: map[string]*Section{}}
	for _, w := range warns {
		f.warn(w)
	}

	marks := templateMarkers(text)
	if strings.HasSuffix(strings.ToLower(name), ".inx") {
		marks = append([]string{".inx extension"}, marks...)
	}
	if len(marks) > 0 && !opts.AllowTemplate {
		return nil, fmt.Errorf("%s: %w: it still contains %s; build it with stampinf/the driver build, or use the INF from the built package (e.g. the virtio-win ISO)",
			name, ErrTemplate, strings.Join(marks, ", "))
	}
	f.Template = marks

	f.strs, f.StringsSection = pickStrings(raws, opts.LCIDs)
	for _, rs := range raws {
		key := strings.ToLower(rs.name)
		sec := f.sections[key]
		if sec == nil {
			sec = &Section{Name: rs.name}
			f.sections[key] = sec
			f.order = append(f.order, sec)
		}
		strSec := isStringsSection(key)
		for _, rl := range rs.lines {
			ln := Line{RawKey: rl.key, HasKey: rl.hasKey, RawFields: rl.fields, LineNo: rl.lineNo}
			if strSec {
				ln.Key, ln.Fields = rl.key, rl.fields
			} else {
				ln.Key = f.subst(rl.key, rl.lineNo)
				ln.Fields = make([]string, len(rl.fields))
				for i, v := range rl.fields {
					ln.Fields[i] = f.subst(v, rl.lineNo)
				}
			}
			sec.Lines = append(sec.Lines, ln)
		}
	}
	if f.sections["version"] == nil {
		return nil, fmt.Errorf("%s: %w: no [Version] section", name, ErrNotINF)
	}
	if err := f.parseVersion(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// Section returns the named section (case-insensitive) or nil.
func (f *File) Section(name string) *Section {
	return f.sections[strings.ToLower(name)]
}

// Sections returns the sections in file order.
func (f *File) Sections() []*Section { return f.order }

// String returns the value of a [Strings] key (case-insensitive).
func (f *File) String(key string) (string, bool) {
	v, ok := f.strs[strings.ToLower(key)]
	return v, ok
}

func isStringsSection(lower string) bool {
	return lower == "strings" || strings.HasPrefix(lower, "strings.")
}

// pickStrings builds the %strkey% table: [Strings] overlaid by the best
// localized [Strings.LLLL] section. An exact language id wins over a
// section of the same primary language (low 10 bits); keys a localized
// section lacks fall back to [Strings].
func pickStrings(raws []*rawSection, prefs []uint16) (map[string]string, string) {
	if len(prefs) == 0 {
		prefs = []uint16{0x0409}
	}
	base := map[string]string{}
	local := map[uint16][]*rawSection{}
	for _, rs := range raws {
		l := strings.ToLower(rs.name)
		switch {
		case l == "strings":
			addStrings(base, rs)
		case strings.HasPrefix(l, "strings."):
			id, err := strconv.ParseUint(l[len("strings."):], 16, 16)
			if err == nil {
				local[uint16(id)] = append(local[uint16(id)], rs)
			}
		}
	}
	chosen, ok := uint16(0), false
	for _, p := range prefs {
		if _, hit := local[p]; hit {
			chosen, ok = p, true
			break
		}
	}
	if !ok {
		ids := make([]int, 0, len(local))
		for id := range local {
			ids = append(ids, int(id))
		}
		sort.Ints(ids)
	outer:
		for _, p := range prefs {
			for _, id := range ids {
				if uint16(id)&0x3ff == p&0x3ff {
					chosen, ok = uint16(id), true
					break outer
				}
			}
		}
	}
	if !ok && len(base) == 0 && len(local) > 0 {
		// No [Strings] and no preferred language: Windows still shows
		// something; take English (US) if present, else the lowest id.
		ids := make([]int, 0, len(local))
		for id := range local {
			ids = append(ids, int(id))
		}
		sort.Ints(ids)
		chosen, ok = uint16(ids[0]), true
		if _, has := local[0x0409]; has {
			chosen = 0x0409
		}
	}
	if !ok {
		return base, "Strings"
	}
	for _, rs := range local[chosen] {
		addStrings(base, rs)
	}
	return base, fmt.Sprintf("Strings.%04x over Strings", chosen)
}

func addStrings(m map[string]string, rs *rawSection) {
	for _, rl := range rs.lines {
		if !rl.hasKey {
			continue
		}
		m[strings.ToLower(rl.key)] = strings.Join(rl.fields, ",")
	}
}

// subst expands %strkey% tokens and %% escapes. %<number>% tokens are
// directory ids and stay as written for DirPath; unknown keys stay as
// written and are reported, as Windows leaves them unexpanded.
func (f *File) subst(s string, lineNo int) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var sb strings.Builder
	for {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			sb.WriteString(s)
			break
		}
		sb.WriteString(s[:i])
		rest := s[i+1:]
		j := strings.IndexByte(rest, '%')
		if j < 0 {
			sb.WriteString(s[i:])
			break
		}
		key := rest[:j]
		s = rest[j+1:]
		switch {
		case key == "":
			sb.WriteByte('%')
		case isDirID(key):
			sb.WriteString("%" + key + "%")
		default:
			if v, ok := f.strs[strings.ToLower(key)]; ok {
				sb.WriteString(v)
			} else {
				sb.WriteString("%" + key + "%")
				f.warn(lineMsg(lineNo, fmt.Sprintf("%%%s%% is not defined in [Strings]", key)))
			}
		}
	}
	return sb.String()
}

func isDirID(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// templateMarkers finds the placeholders virtio-win's build and stampinf
// replace; their presence means the file is a template, not what Windows
// would install.
func templateMarkers(text string) []string {
	// Fast path: built INFs carry none of the marker substrings.
	up := strings.ToUpper(text)
	hit := false
	for _, tok := range []string{"$ARCH$", "VERSION$", "INX_", "STAMPINF"} {
		hit = hit || strings.Contains(up, tok)
	}
	hit = hit || atPlaceholder(text) != ""
	if !hit {
		return nil
	}
	var found []string
	add := func(m string) {
		for _, f := range found {
			if f == m {
				return
			}
		}
		found = append(found, m)
	}
	for _, ph := range splitPhysical(text) {
		body := stripComment(ph)
		up := strings.ToUpper(ph)
		if strings.Contains(up, "DRIVERVER") && strings.Contains(strings.ToLower(ph), "stampinf") {
			add(`DriverVer "replaced with stampinf"`)
		}
		for _, tok := range []string{"$ARCH$", "$KMDFVERSION$", "$UMDFVERSION$", "$KMDFCOINSTALLERVERSION$", "$WDFVERSION$"} {
			if strings.Contains(strings.ToUpper(body), tok) {
				add(tok)
			}
		}
		if m := atPlaceholder(body); m != "" {
			add(m)
		}
		if i := strings.Index(body, "INX_"); i >= 0 {
			j := i + 4
			for j < len(body) && (body[j] == '_' || body[j] >= 'A' && body[j] <= 'Z' || body[j] >= '0' && body[j] <= '9') {
				j++
			}
			start := i
			if start > 0 && body[start-1] == '_' {
				start--
			}
			add(body[start:j])
		}
	}
	return found
}

// atPlaceholder returns the first @NAME@ token in text (upper-case letters,
// digits and underscores between two at signs), "" when there is none. The
// Xen Project and XCP-ng Windows PV driver sources (win-xenbus, win-xenvbd,
// win-xennet, ...) ship INFs with such tokens (@VENDOR_NAME@,
// @MAJOR_VERSION@, @VENDOR_PREFIX@) that their build script substitutes; a
// file that still has one was never built. An e-mail address in a string
// does not match: the name must start with a letter and be all capitals.
func atPlaceholder(text string) string {
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		j := i + 1
		for j < len(text) && (text[j] == '_' || text[j] >= 'A' && text[j] <= 'Z' || text[j] >= '0' && text[j] <= '9') {
			j++
		}
		if j < len(text) && text[j] == '@' && j-i > 2 && text[i+1] >= 'A' && text[i+1] <= 'Z' {
			return text[i : j+1]
		}
		i = j - 1
	}
	return ""
}
