package inf

import (
	"strings"
)

// Section is one [name] section; sections with the same name (compared
// case-insensitively, as Windows does) are merged in file order.
type Section struct {
	Name  string
	Lines []Line
}

// Line is one logical line (after joining continuations and dropping
// comments). Key is set when the line has an unquoted '='. Fields hold the
// comma-separated values with quotes removed and %strkey% substituted;
// RawFields keep them as written (quotes removed, no substitution).
type Line struct {
	Key       string
	RawKey    string
	HasKey    bool
	Fields    []string
	RawFields []string
	LineNo    int // 1-based physical line where the logical line starts
}

// Field returns field i or "" when absent.
func (l Line) Field(i int) string {
	if i < 0 || i >= len(l.Fields) {
		return ""
	}
	return l.Fields[i]
}

// rawLine is a tokenized line before substitution.
type rawLine struct {
	key    string
	hasKey bool
	fields []string
	lineNo int
}

type rawSection struct {
	name  string
	lines []rawLine
}

// splitPhysical splits on CRLF, LF or lone CR.
func splitPhysical(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// stripComment cuts a physical line at the first ';' outside double quotes
// and trims surrounding blanks. A quoted string never spans physical lines.
func stripComment(s string) string {
	inQ := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			inQ = !inQ
		case ';':
			if !inQ {
				s = s[:i]
				return strings.TrimSpace(s)
			}
		}
	}
	return strings.TrimSpace(s)
}

// continued reports whether s ends with a line-continuation backslash that
// is outside quotes.
func continued(s string) bool {
	if !strings.HasSuffix(s, `\`) {
		return false
	}
	return strings.Count(s, `"`)%2 == 0
}

// lexSections turns INF text into raw sections. Lines before the first
// section header are ignored, as Windows does.
func lexSections(text string) ([]*rawSection, []string) {
	var (
		secs     []*rawSection
		cur      *rawSection
		warnings []string
	)
	phys := splitPhysical(text)
	for i := 0; i < len(phys); i++ {
		start := i + 1
		s := stripComment(phys[i])
		for continued(s) && i+1 < len(phys) {
			i++
			s = strings.TrimSpace(s[:len(s)-1]) + stripComment(phys[i])
		}
		if continued(s) { // continuation on the last line: nothing follows
			s = strings.TrimSpace(s[:len(s)-1])
		}
		if s == "" {
			continue
		}
		if s[0] == '[' {
			end := strings.IndexByte(s, ']')
			if end < 0 {
				warnings = append(warnings, lineMsg(start, "section header without ']'"))
				cur = nil
				continue
			}
			name := strings.TrimSpace(s[1:end])
			cur = &rawSection{name: name}
			secs = append(secs, cur)
			continue
		}
		if cur == nil {
			continue
		}
		rl := tokenize(s)
		rl.lineNo = start
		cur.lines = append(cur.lines, rl)
	}
	return secs, warnings
}

// tokenize splits a logical line into an optional key (before the first
// unquoted '=') and comma-separated fields. Quotes are removed; "" inside a
// quoted string is a literal quote.
func tokenize(s string) rawLine {
	var (
		rl    rawLine
		field strings.Builder
		inQ   bool
		quote bool // current field had a quoted part: keep inner blanks
	)
	var fields []string
	flush := func() {
		v := field.String()
		if !quote {
			v = strings.TrimSpace(v)
		} else {
			v = trimUnquoted(v)
		}
		fields = append(fields, v)
		field.Reset()
		quote = false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"':
			if inQ && i+1 < len(s) && s[i+1] == '"' {
				field.WriteByte('"')
				i++
				continue
			}
			inQ = !inQ
			quote = true
			// Mark quoted regions so trimming does not eat quoted blanks.
			field.WriteByte(0)
		case c == ',' && !inQ:
			flush()
		case c == '=' && !inQ && !rl.hasKey && len(fields) == 0:
			rl.hasKey = true
			flush()
			rl.key = fields[0]
			fields = fields[:0]
		default:
			field.WriteByte(c)
		}
	}
	flush()
	rl.fields = fields
	return rl
}

// trimUnquoted trims blanks outside quoted regions (marked with NUL bytes
// by tokenize) and removes the markers.
func trimUnquoted(v string) string {
	first := strings.IndexByte(v, 0)
	last := strings.LastIndexByte(v, 0)
	if first < 0 {
		return strings.TrimSpace(v)
	}
	head := strings.TrimLeft(v[:first], " \t")
	tail := strings.TrimRight(v[last+1:], " \t")
	return strings.ReplaceAll(head+v[first:last+1]+tail, "\x00", "")
}
