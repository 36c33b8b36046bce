package hive

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Type is a registry value type (REG_*), as stored in a key value record.
type Type uint32

// Registry value types. Others are legal on disk and kept as raw bytes.
const (
	RegNone                     Type = 0  // REG_NONE
	RegSZ                       Type = 1  // REG_SZ
	RegExpandSZ                 Type = 2  // REG_EXPAND_SZ
	RegBinary                   Type = 3  // REG_BINARY
	RegDWord                    Type = 4  // REG_DWORD (little endian)
	RegDWordBigEndian           Type = 5  // REG_DWORD_BIG_ENDIAN
	RegLink                     Type = 6  // REG_LINK
	RegMultiSZ                  Type = 7  // REG_MULTI_SZ
	RegResourceList             Type = 8  // REG_RESOURCE_LIST
	RegFullResourceDescriptor   Type = 9  // REG_FULL_RESOURCE_DESCRIPTOR
	RegResourceRequirementsList Type = 10 // REG_RESOURCE_REQUIREMENTS_LIST
	RegQWord                    Type = 11 // REG_QWORD (little endian)
)

var typeNames = map[Type]string{
	RegNone: "REG_NONE", RegSZ: "REG_SZ", RegExpandSZ: "REG_EXPAND_SZ", RegBinary: "REG_BINARY",
	RegDWord: "REG_DWORD", RegDWordBigEndian: "REG_DWORD_BIG_ENDIAN", RegLink: "REG_LINK",
	RegMultiSZ: "REG_MULTI_SZ", RegResourceList: "REG_RESOURCE_LIST",
	RegFullResourceDescriptor: "REG_FULL_RESOURCE_DESCRIPTOR", RegResourceRequirementsList: "REG_RESOURCE_REQUIREMENTS_LIST",
	RegQWord: "REG_QWORD",
}

func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("REG_0x%x", uint32(t))
}

// Value is one registry value's type and raw data exactly as stored. Data
// is never reinterpreted on write, so values of types we do not understand
// survive an edit of their key byte for byte.
type Value struct {
	Type Type
	Data []byte
}

// NamedValue is a value with its name ("" is the key's default value).
type NamedValue struct {
	Name string
	Value
}

// SZ returns a REG_SZ value: UTF-16LE with a terminating NUL.
func SZ(s string) Value { return Value{Type: RegSZ, Data: encodeUTF16Z(s)} }

// ExpandSZ returns a REG_EXPAND_SZ value (%VAR% expanded by the reader).
func ExpandSZ(s string) Value { return Value{Type: RegExpandSZ, Data: encodeUTF16Z(s)} }

// MultiSZ returns a REG_MULTI_SZ value: each string UTF-16LE+NUL, then a
// final NUL. Windows stops reading at the first empty member, so callers
// must not pass empty strings; MultiSZ drops them rather than truncate the
// list silently at read time.
func MultiSZ(ss ...string) Value {
	var u []uint16
	for _, s := range ss {
		if s == "" {
			continue
		}
		u = append(u, utf16.Encode([]rune(s))...)
		u = append(u, 0)
	}
	u = append(u, 0)
	return Value{Type: RegMultiSZ, Data: u16bytes(u)}
}

// DWord returns a REG_DWORD value.
func DWord(v uint32) Value {
	return Value{Type: RegDWord, Data: binary.LittleEndian.AppendUint32(nil, v)}
}

// DWordBigEndian returns a REG_DWORD_BIG_ENDIAN value.
func DWordBigEndian(v uint32) Value {
	return Value{Type: RegDWordBigEndian, Data: binary.BigEndian.AppendUint32(nil, v)}
}

// QWord returns a REG_QWORD value.
func QWord(v uint64) Value {
	return Value{Type: RegQWord, Data: binary.LittleEndian.AppendUint64(nil, v)}
}

// Binary returns a REG_BINARY value (the slice is copied).
func Binary(b []byte) Value { return Value{Type: RegBinary, Data: append([]byte{}, b...)} }

// None returns a REG_NONE value carrying data (often empty).
func None(b []byte) Value { return Value{Type: RegNone, Data: append([]byte{}, b...)} }

// String decodes REG_SZ, REG_EXPAND_SZ or REG_LINK data. Data written by
// careless tools may lack the NUL or carry garbage after it: the string
// ends at the first NUL, and an odd trailing byte is ignored.
func (v Value) String() (string, error) {
	switch v.Type {
	case RegSZ, RegExpandSZ, RegLink:
	default:
		return "", fmt.Errorf("%w: want a string, have %s", ErrType, v.Type)
	}
	return decodeUTF16Z(v.Data), nil
}

// Strings decodes REG_MULTI_SZ data (also accepts REG_SZ as one string).
// The list ends at the first empty string or at the end of data, whichever
// comes first, as Windows reads it.
func (v Value) Strings() ([]string, error) {
	switch v.Type {
	case RegMultiSZ:
	case RegSZ, RegExpandSZ:
		return []string{decodeUTF16Z(v.Data)}, nil
	default:
		return nil, fmt.Errorf("%w: want REG_MULTI_SZ, have %s", ErrType, v.Type)
	}
	u := bytesU16(v.Data)
	out := []string{}
	start := 0
	for i := 0; i <= len(u); i++ {
		if i < len(u) && u[i] != 0 {
			continue
		}
		if i == start { // empty member or end: list is over
			break
		}
		out = append(out, string(utf16.Decode(u[start:i])))
		start = i + 1
	}
	return out, nil
}

// Fields is Strings with each member trimmed of spaces and blank members
// dropped: how a list of addresses, servers or service names is read, as
// people and tools pad them.
func (v Value) Fields() ([]string, error) {
	ss, err := v.Strings()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Uint32 decodes REG_DWORD or REG_DWORD_BIG_ENDIAN data (exactly 4 bytes;
// Windows writes DWORDs of other sizes only by mistake and we refuse them).
func (v Value) Uint32() (uint32, error) {
	if len(v.Data) != 4 {
		return 0, fmt.Errorf("%w: %s has %d bytes, want 4", ErrType, v.Type, len(v.Data))
	}
	switch v.Type {
	case RegDWord:
		return binary.LittleEndian.Uint32(v.Data), nil
	case RegDWordBigEndian:
		return binary.BigEndian.Uint32(v.Data), nil
	}
	return 0, fmt.Errorf("%w: want REG_DWORD, have %s", ErrType, v.Type)
}

// Uint64 decodes REG_QWORD data, and REG_DWORD widened.
func (v Value) Uint64() (uint64, error) {
	if v.Type == RegQWord {
		if len(v.Data) != 8 {
			return 0, fmt.Errorf("%w: REG_QWORD has %d bytes, want 8", ErrType, len(v.Data))
		}
		return binary.LittleEndian.Uint64(v.Data), nil
	}
	d, err := v.Uint32()
	return uint64(d), err
}

// Equal reports whether two values have the same type and bytes.
func (v Value) Equal(w Value) bool { return v.Type == w.Type && string(v.Data) == string(w.Data) }

// Display renders the value for people and logs, whatever its type.
func (v Value) Display() string {
	switch v.Type {
	case RegSZ, RegExpandSZ, RegLink:
		s, _ := v.String()
		return fmt.Sprintf("%s %q", v.Type, s)
	case RegMultiSZ:
		ss, _ := v.Strings()
		return fmt.Sprintf("%s %q", v.Type, strings.Join(ss, `\0`))
	case RegDWord, RegDWordBigEndian:
		if d, err := v.Uint32(); err == nil {
			return fmt.Sprintf("%s 0x%08x (%d)", v.Type, d, d)
		}
	case RegQWord:
		if d, err := v.Uint64(); err == nil {
			return fmt.Sprintf("%s 0x%016x (%d)", v.Type, d, d)
		}
	}
	return fmt.Sprintf("%s hex:%x", v.Type, v.Data)
}

func encodeUTF16Z(s string) []byte {
	u := utf16.Encode([]rune(s))
	return u16bytes(append(u, 0))
}

func u16bytes(u []uint16) []byte {
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func bytesU16(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}

func decodeUTF16Z(b []byte) string {
	u := bytesU16(b)
	for i, c := range u {
		if c == 0 {
			u = u[:i]
			break
		}
	}
	return string(utf16.Decode(u))
}
