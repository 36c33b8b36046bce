package inf

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Version is the decoded [Version] section.
type Version struct {
	Signature string
	Class     string
	// ClassGUID as written (substituted) and decoded; HasClassGUID is false
	// when it is absent or malformed.
	ClassGUIDText string
	ClassGUID     GUID
	HasClassGUID  bool
	Provider      string
	// DriverVer: date (UTC midnight) and four-part version. HasDriverVer is
	// false when the directive is absent or malformed (see File.Warnings).
	DriverVerText string
	DriverDate    time.Time
	DriverVersion [4]uint16
	HasDriverVer  bool
	// CatalogFiles maps the lower-case decoration ("" for plain CatalogFile,
	// "ntamd64", "ntx86", "nt", ...) to the catalog file name.
	CatalogFiles      map[string]string
	PnpLockdown       string
	DriverPackageType string
}

// GUID is a Windows GUID in its in-memory byte order (Data1..3 little-endian).
type GUID [16]byte

// ParseGUID reads "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" (braces optional).
func ParseGUID(s string) (GUID, error) {
	var g GUID
	t := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "{"), "}")
	parts := strings.Split(t, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("%w: GUID %q", ErrSyntax, s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("%w: GUID %q: %v", ErrSyntax, s, err)
	}
	binary.LittleEndian.PutUint32(g[0:], binary.BigEndian.Uint32(raw[0:]))
	binary.LittleEndian.PutUint16(g[4:], binary.BigEndian.Uint16(raw[4:]))
	binary.LittleEndian.PutUint16(g[6:], binary.BigEndian.Uint16(raw[6:]))
	copy(g[8:], raw[8:])
	return g, nil
}

// String formats the GUID in registry form, upper case with braces.
func (g GUID) String() string {
	return fmt.Sprintf("{%08X-%04X-%04X-%X-%X}", binary.LittleEndian.Uint32(g[0:]),
		binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

var knownSignatures = map[string]bool{"$windows nt$": true, "$chicago$": true, "$windows 95$": true}

func (f *File) parseVersion() error {
	sec := f.Section("Version")
	v := Version{CatalogFiles: map[string]string{}}
	for _, ln := range sec.Lines {
		if !ln.HasKey {
			continue
		}
		val := strings.Join(ln.Fields, ",")
		k := strings.ToLower(ln.Key)
		switch {
		case k == "signature":
			v.Signature = val
		case k == "class":
			v.Class = val
		case k == "classguid":
			v.ClassGUIDText = val
			g, err := ParseGUID(val)
			if err != nil {
				f.warn(lineMsg(ln.LineNo, err.Error()))
			} else {
				v.ClassGUID, v.HasClassGUID = g, true
			}
		case k == "provider":
			v.Provider = val
		case k == "driverver":
			v.DriverVerText = val
			d, ver, err := ParseDriverVer(val)
			if err != nil {
				f.warn(lineMsg(ln.LineNo, err.Error()))
			} else {
				v.DriverDate, v.DriverVersion, v.HasDriverVer = d, ver, true
			}
		case k == "catalogfile" || strings.HasPrefix(k, "catalogfile."):
			v.CatalogFiles[strings.TrimPrefix(strings.TrimPrefix(k, "catalogfile"), ".")] = strings.TrimSpace(ln.Field(0))
		case k == "pnplockdown":
			v.PnpLockdown = val
		case k == "driverpackagetype":
			v.DriverPackageType = val
		}
	}
	if !knownSignatures[strings.ToLower(v.Signature)] {
		return fmt.Errorf("%w: [Version] Signature %q is not $Windows NT$ or $Chicago$", ErrNotINF, v.Signature)
	}
	f.Version = v
	return nil
}

// CatalogFor returns the catalog Windows uses on arch: CatalogFile.NT<arch>
// first, then CatalogFile.NT, then CatalogFile.
func (v Version) CatalogFor(arch Arch) string {
	for _, k := range []string{"nt" + string(arch), "nt", ""} {
		if c, ok := v.CatalogFiles[k]; ok && c != "" {
			return c
		}
	}
	return ""
}

// ParseDriverVer reads "mm/dd/yyyy[,w.x.y.z]" (also with '-' separators).
func ParseDriverVer(s string) (time.Time, [4]uint16, error) {
	var ver [4]uint16
	datePart, verPart, _ := strings.Cut(s, ",")
	dp := strings.FieldsFunc(strings.TrimSpace(datePart), func(r rune) bool { return r == '/' || r == '-' })
	if len(dp) != 3 {
		return time.Time{}, ver, fmt.Errorf("%w: DriverVer date %q is not mm/dd/yyyy", ErrSyntax, datePart)
	}
	var n [3]int
	for i, p := range dp {
		x, err := strconv.Atoi(p)
		if err != nil {
			return time.Time{}, ver, fmt.Errorf("%w: DriverVer date %q: %v", ErrSyntax, datePart, err)
		}
		n[i] = x
	}
	if n[0] < 1 || n[0] > 12 || n[1] < 1 || n[1] > 31 || n[2] < 1601 || n[2] > 9999 {
		return time.Time{}, ver, fmt.Errorf("%w: DriverVer date %q out of range", ErrSyntax, datePart)
	}
	d := time.Date(n[2], time.Month(n[0]), n[1], 0, 0, 0, 0, time.UTC)
	if d.Day() != n[1] {
		return time.Time{}, ver, fmt.Errorf("%w: DriverVer date %q does not exist", ErrSyntax, datePart)
	}
	verPart = strings.TrimSpace(verPart)
	if verPart != "" {
		parts := strings.Split(verPart, ".")
		if len(parts) > 4 {
			return time.Time{}, ver, fmt.Errorf("%w: DriverVer version %q has more than 4 parts", ErrSyntax, verPart)
		}
		for i, p := range parts {
			x, err := strconv.ParseUint(strings.TrimSpace(p), 10, 16)
			if err != nil {
				return time.Time{}, ver, fmt.Errorf("%w: DriverVer version %q: %v", ErrSyntax, verPart, err)
			}
			ver[i] = uint16(x)
		}
	}
	return d, ver, nil
}

// parseNumber reads a decimal or 0x-hex number (INF integer fields), with an
// optional leading '-' (two's complement, as SetupGetIntField does).
func parseNumber(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var (
		v   uint64
		err error
	)
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		v, err = strconv.ParseUint(s[2:], 16, 32)
	} else {
		v, err = strconv.ParseUint(s, 10, 32)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: number %q", ErrSyntax, s)
	}
	if neg {
		return uint32(-int64(v)), nil
	}
	return uint32(v), nil
}
