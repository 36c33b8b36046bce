package vmdk

import (
	"fmt"
	"strconv"
	"strings"
)

const (
	maxDescriptor = 1 << 20
	maxExtents    = 10000
	// noParentCID marks a disk without a parent.
	noParentCID = 0xffffffff
)

// extentLine is one line of the extent description.
type extentLine struct {
	access  string // RW, RDONLY, NOACCESS
	sectors int64
	typ     string // SPARSE, FLAT, ZERO, VMFS, VMFSSPARSE, ...
	file    string
	offset  int64 // sectors, FLAT and VMFS only
}

// descriptor is a parsed disk descriptor.
type descriptor struct {
	text       string
	cid        uint32
	parentCID  uint32
	createType string
	parentHint string
	extents    []extentLine
}

// parseDescriptor decodes descriptor text. It accepts what VMware and QEMU
// write: "key = value" pairs (values optionally quoted) and extent lines.
func parseDescriptor(text string) (*descriptor, error) {
	if len(text) > maxDescriptor {
		return nil, fmt.Errorf("descriptor of %d bytes is larger than %d", len(text), maxDescriptor)
	}
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i] // the embedded descriptor area is zero padded
	}
	d := &descriptor{text: text, cid: noParentCID, parentCID: noParentCID}
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		if f := strings.Fields(line); len(f) > 0 && (f[0] == "RW" || f[0] == "RDONLY" || f[0] == "NOACCESS") {
			e, err := parseExtentLine(line)
			if err != nil {
				return nil, fmt.Errorf("descriptor line %d: %w", n+1, err)
			}
			if len(d.extents) >= maxExtents {
				return nil, fmt.Errorf("descriptor has more than %d extents", maxExtents)
			}
			d.extents = append(d.extents, e)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue // unknown lines are ignored, as VMware does
		}
		k, v = strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.ToLower(k) {
		case "cid":
			c, err := strconv.ParseUint(v, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("descriptor line %d: bad CID %q", n+1, v)
			}
			d.cid = uint32(c)
		case "parentcid":
			c, err := strconv.ParseUint(v, 16, 32)
			if err != nil {
				return nil, fmt.Errorf("descriptor line %d: bad parentCID %q", n+1, v)
			}
			d.parentCID = uint32(c)
		case "createtype":
			d.createType = v
		case "parentfilenamehint":
			d.parentHint = v
		}
	}
	if len(d.extents) == 0 {
		return nil, fmt.Errorf("descriptor has no extent lines")
	}
	return d, nil
}

// parseExtentLine reads `ACCESS SECTORS TYPE ["FILE" [OFFSET]]`.
func parseExtentLine(line string) (extentLine, error) {
	var e extentLine
	head, rest, _ := strings.Cut(line, `"`)
	f := strings.Fields(head)
	if len(f) < 3 {
		return e, fmt.Errorf("extent line %q: want ACCESS SECTORS TYPE", line)
	}
	e.access, e.typ = f[0], strings.ToUpper(f[2])
	n, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || n < 0 || n > maxSectors {
		return e, fmt.Errorf("extent line %q: bad sector count", line)
	}
	e.sectors = n
	if rest != "" {
		name, tail, ok := strings.Cut(rest, `"`)
		if !ok || name == "" {
			return e, fmt.Errorf("extent line %q: unterminated file name", line)
		}
		e.file = name
		if t := strings.Fields(tail); len(t) > 0 {
			o, err := strconv.ParseInt(t[0], 10, 64)
			if err != nil || o < 0 || o > maxSectors {
				return e, fmt.Errorf("extent line %q: bad offset", line)
			}
			e.offset = o
		}
	} else if e.typ != "ZERO" {
		return e, fmt.Errorf("extent line %q: no file name", line)
	}
	return e, nil
}

// withCID returns the descriptor text with its CID line replaced.
func (d *descriptor) withCID(cid uint32) string {
	lines := strings.Split(d.text, "\n")
	for i, l := range lines {
		if k, _, ok := strings.Cut(l, "="); ok && strings.EqualFold(strings.TrimSpace(k), "CID") {
			lines[i] = fmt.Sprintf("CID=%08x", cid)
		}
	}
	return strings.Join(lines, "\n")
}
