package inf

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Registry value types (winnt.h REG_*).
const (
	RegNone     uint32 = 0
	RegSZ       uint32 = 1
	RegExpandSZ uint32 = 2
	RegBinary   uint32 = 3
	RegDWORD    uint32 = 4
	RegMultiSZ  uint32 = 7
	RegQWORD    uint32 = 11
)

// AddReg/DelReg flags (setupapi.h FLG_ADDREG_*).
const (
	FlagBinValueType   uint32 = 0x00000001
	FlagNoClobber      uint32 = 0x00000002
	FlagDelVal         uint32 = 0x00000004
	FlagAppend         uint32 = 0x00000008
	FlagKeyOnly        uint32 = 0x00000010
	FlagOverwriteOnly  uint32 = 0x00000020
	Flag64BitKey       uint32 = 0x00001000
	FlagKeyOnlyCommon  uint32 = 0x00002000
	Flag32BitKey       uint32 = 0x00004000
	FlagTypeMultiSZ    uint32 = 0x00010000
	FlagTypeExpandSZ   uint32 = 0x00020000
	FlagTypeDWORD      uint32 = 0x00010001
	FlagTypeNone       uint32 = 0x00020001
	FlagDelRegMultiDel uint32 = 0x00018002 // FLG_DELREG_MULTI_SZ_DELSTRING
)

// maxRegData bounds one value's data; real INF values are far smaller.
const maxRegData = 1 << 20

// RegOp is one AddReg or DelReg line.
type RegOp struct {
	Delete       bool   // from a DelReg section
	Root         string // HKR, HKLM, HKCR, HKCU, HKU (upper case)
	Subkey       string
	ValueName    string // "" is the key's default value
	HasValueName bool
	KeyOnly      bool // create (or delete) the key, no value
	Flags        uint32
	Value        RegValue
	Section      string
	LineNo       int
}

// RegValue is typed registry data.
type RegValue struct {
	Type    uint32
	Str     string   // RegSZ, RegExpandSZ
	Strs    []string // RegMultiSZ
	DWORD   uint32   // RegDWORD
	Data    []byte   // RegBinary and other binary types
	Missing bool     // no data given: Windows writes an empty value
}

// Bytes encodes the value as the registry stores it (UTF-16LE strings with
// terminators, little-endian DWORD).
func (v RegValue) Bytes() []byte {
	switch v.Type {
	case RegSZ, RegExpandSZ:
		return utf16z(v.Str)
	case RegMultiSZ:
		var out []byte
		for _, s := range v.Strs {
			out = append(out, utf16z(s)...)
		}
		return append(out, 0, 0)
	case RegDWORD:
		if v.Data != nil {
			return v.Data
		}
		return binary.LittleEndian.AppendUint32(nil, v.DWORD)
	}
	return v.Data
}

func utf16z(s string) []byte {
	u := utf16.Encode([]rune(s))
	out := make([]byte, 0, 2*len(u)+2)
	for _, c := range u {
		out = binary.LittleEndian.AppendUint16(out, c)
	}
	return append(out, 0, 0)
}

var regRoots = map[string]bool{"HKR": true, "HKLM": true, "HKCR": true, "HKCU": true, "HKU": true}

// RegSection decodes the lines of an AddReg (del=false) or DelReg section.
func (f *File) RegSection(name string, del bool) ([]RegOp, error) {
	sec := f.Section(name)
	if sec == nil {
		return nil, fmt.Errorf("%s: %w: registry section [%s]", f.Name, ErrNoSection, name)
	}
	var ops []RegOp
	for _, ln := range sec.Lines {
		op, err := parseRegLine(ln, del)
		if err != nil && len(f.Template) > 0 {
			// A template parsed on request: placeholders stand where
			// numbers belong; keep going and say what was skipped.
			f.warn(lineMsg(ln.LineNo, fmt.Sprintf("[%s] skipped: %v", sec.Name, err)))
			continue
		}
		if err != nil {
			return ops, fmt.Errorf("%s: [%s] line %d: %w", f.Name, sec.Name, ln.LineNo, err)
		}
		op.Section = sec.Name
		ops = append(ops, op)
	}
	return ops, nil
}

func parseRegLine(ln Line, del bool) (RegOp, error) {
	fields := ln.Fields
	if ln.HasKey { // "HKR = ..." is not a registry line
		return RegOp{}, fmt.Errorf("%w: registry line with '='", ErrSyntax)
	}
	op := RegOp{Delete: del, LineNo: ln.LineNo, Root: strings.ToUpper(strings.TrimSpace(ln.Field(0)))}
	if !regRoots[op.Root] {
		return op, fmt.Errorf("%w: unknown registry root %q", ErrSyntax, ln.Field(0))
	}
	op.Subkey = ln.Field(1)
	op.ValueName, op.HasValueName = ln.Field(2), len(fields) > 2
	if len(fields) > 3 && strings.TrimSpace(fields[3]) != "" {
		fl, err := parseNumber(fields[3])
		if err != nil {
			return op, fmt.Errorf("flags: %w", err)
		}
		op.Flags = fl
	}
	if del {
		op.KeyOnly = !op.HasValueName || op.Flags&FlagKeyOnlyCommon != 0
		if op.Flags == FlagDelRegMultiDel && len(fields) > 4 {
			op.Value = RegValue{Type: RegMultiSZ, Strs: []string{fields[4]}}
		}
		return op, nil
	}
	data := []string(nil)
	if len(fields) > 4 {
		data = fields[4:]
	}
	if op.Flags&FlagKeyOnly != 0 || (len(fields) <= 2) {
		op.KeyOnly = true
		return op, nil
	}
	v, err := decodeRegValue(op.Flags, data)
	if err != nil {
		return op, err
	}
	op.Value = v
	return op, nil
}

func decodeRegValue(flags uint32, data []string) (RegValue, error) {
	v := RegValue{Missing: len(data) == 0}
	if flags&FlagBinValueType != 0 {
		switch {
		case flags&0xFFFF0001 == FlagTypeDWORD:
			v.Type = RegDWORD
			if len(data) == 1 {
				n, err := parseNumber(data[0])
				if err != nil {
					return v, fmt.Errorf("REG_DWORD value: %w", err)
				}
				v.DWORD = n
				return v, nil
			}
			if len(data) == 0 {
				return v, nil
			}
		case flags&0xFFFF0001 == FlagTypeNone:
			v.Type = RegNone
		case flags>>16 == 0:
			v.Type = RegBinary
		default:
			v.Type = flags >> 16
		}
		b, err := hexBytes(data)
		if err != nil {
			return v, err
		}
		v.Data = b
		if v.Type == RegDWORD {
			if len(b) != 4 {
				return v, fmt.Errorf("%w: REG_DWORD given as %d bytes", ErrSyntax, len(b))
			}
			v.DWORD = binary.LittleEndian.Uint32(b)
		}
		return v, nil
	}
	switch flags & 0xFFFF0000 {
	case FlagTypeMultiSZ:
		v.Type = RegMultiSZ
		for _, s := range data {
			if s != "" { // REG_MULTI_SZ cannot hold empty members
				v.Strs = append(v.Strs, s)
			}
		}
	case FlagTypeExpandSZ:
		v.Type = RegExpandSZ
		v.Str = strings.Join(data, ",")
	case 0:
		v.Type = RegSZ
		v.Str = strings.Join(data, ",")
	default:
		return v, fmt.Errorf("%w: unknown AddReg type flags %#x", ErrSyntax, flags)
	}
	return v, nil
}

// hexBytes decodes a binary value list ("01,ff,0x2a"): each field one byte.
func hexBytes(fields []string) ([]byte, error) {
	if len(fields) > maxRegData {
		return nil, fmt.Errorf("%w: binary value of %d bytes exceeds %d", ErrSyntax, len(fields), maxRegData)
	}
	out := make([]byte, 0, len(fields))
	for _, s := range fields {
		s = strings.TrimSpace(s)
		s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
		if s == "" {
			continue
		}
		if len(s) == 1 {
			s = "0" + s
		}
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != 1 {
			return nil, fmt.Errorf("%w: binary byte %q", ErrSyntax, s)
		}
		out = append(out, b[0])
	}
	return out, nil
}
