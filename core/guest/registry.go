package guest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode/utf16"
)

// Hive is the read-only view of one registry hive that detection needs.
// Paths are relative to the hive root, backslash-separated, and MUST be
// matched case-insensitively; "" is the root key.
//
// When the key does not exist, both methods MUST return an error wrapping
// fs.ErrNotExist, so a missing key is told apart from a damaged hive.
type Hive interface {
	// Subkeys returns the names of the key's direct children.
	Subkeys(path string) ([]string, error)
	// Values returns all values of the key, with their raw data.
	Values(path string) ([]Value, error)
}

// HiveOpener opens a hive from its bytes. name is the hive's file name
// (e.g. "SYSTEM") for error messages; logs are the transaction logs found
// beside it (SYSTEM.LOG1, SYSTEM.LOG2 or the single SYSTEM.LOG of NT 5), in
// that order, which the opener should replay. OpenHive is the one over
// core/hive. If the returned Hive has a Findings() []safety.Finding method
// (a dirty hive opened without logs, say), those findings are reported
// with the install; if it is an io.Closer, Detect closes it.
type HiveOpener func(name string, data []byte, logs ...LogFile) (Hive, error)

// Registry value types, as stored in the hive (winnt.h).
const (
	RegNone      uint32 = 0
	RegSz        uint32 = 1
	RegExpandSz  uint32 = 2
	RegBinary    uint32 = 3
	RegDword     uint32 = 4
	RegDwordBE   uint32 = 5
	RegMultiSz   uint32 = 7
	RegQword     uint32 = 11
	maxValueData        = 1 << 20 // no value detection reads is anywhere near this
)

// Value is one registry value with its undecoded data.
type Value struct {
	Name string
	Type uint32
	Data []byte
}

// errWrongType marks a value whose type or size does not fit how it is read.
var errWrongType = errors.New("guest: registry value has an unexpected type")

// String decodes REG_SZ / REG_EXPAND_SZ (UTF-16LE, NUL-terminated or not).
// Some writers store strings as REG_BINARY or REG_NONE; those decode too.
func (v Value) String() (string, error) {
	switch v.Type {
	case RegSz, RegExpandSz, RegBinary, RegNone, RegMultiSz:
	default:
		return "", fmt.Errorf("value %q (type %d): %w", v.Name, v.Type, errWrongType)
	}
	s := decodeUTF16(v.Data)
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return s, nil
}

// Strings decodes REG_MULTI_SZ; an REG_SZ reads as one string.
func (v Value) Strings() ([]string, error) {
	switch v.Type {
	case RegMultiSz, RegSz, RegExpandSz:
	default:
		return nil, fmt.Errorf("value %q (type %d): %w", v.Name, v.Type, errWrongType)
	}
	var out []string
	for _, s := range strings.Split(decodeUTF16(v.Data), "\x00") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// Uint decodes REG_DWORD, REG_DWORD_BIG_ENDIAN and REG_QWORD.
func (v Value) Uint() (uint64, error) {
	switch {
	case v.Type == RegDword && len(v.Data) >= 4:
		return uint64(binary.LittleEndian.Uint32(v.Data)), nil
	case v.Type == RegDwordBE && len(v.Data) >= 4:
		return uint64(binary.BigEndian.Uint32(v.Data)), nil
	case v.Type == RegQword && len(v.Data) >= 8:
		return binary.LittleEndian.Uint64(v.Data), nil
	}
	return 0, fmt.Errorf("value %q (type %d, %d bytes): %w", v.Name, v.Type, len(v.Data), errWrongType)
}

func decodeUTF16(b []byte) string {
	if len(b) > maxValueData {
		b = b[:maxValueData]
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// key is a decoded view of one key's values, looked up case-insensitively.
type key map[string]Value

// readKey returns the key's values; found is false when the key is absent.
func readKey(h Hive, path string) (k key, found bool, err error) {
	vals, err := h.Values(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	k = make(key, len(vals))
	for _, v := range vals {
		k[strings.ToLower(v.Name)] = v
	}
	return k, true, nil
}

func (k key) str(name string) string {
	v, ok := k[strings.ToLower(name)]
	if !ok {
		return ""
	}
	s, err := v.String()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func (k key) uint(name string) (uint64, bool) {
	v, ok := k[strings.ToLower(name)]
	if !ok {
		return 0, false
	}
	n, err := v.Uint()
	return n, err == nil
}

// subkeys lists a key's children; a missing key is an empty list.
func subkeys(h Hive, path string) ([]string, error) {
	names, err := h.Subkeys(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return names, err
}
