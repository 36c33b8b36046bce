package ntfs

import (
	"encoding/binary"
	"fmt"
	"time"
)

// FILE_NAME namespaces.
const (
	nsPOSIX       = 0
	nsWin32       = 1
	nsDOS         = 2
	nsWin32AndDOS = 3
)

// fileName is a decoded $FILE_NAME value (also the key of $I30 entries).
type fileName struct {
	Parent    uint64
	Created   uint64
	Modified  uint64
	MFTChange uint64
	Accessed  uint64
	AllocSize int64
	DataSize  int64
	Attrs     uint32
	Reparse   uint32
	Namespace uint8
	Name      []uint16
}

const fileNameHeader = 0x42

func parseFileName(b []byte) (*fileName, error) {
	if len(b) < fileNameHeader {
		return nil, fmt.Errorf("%w: $FILE_NAME of %d bytes", ErrCorrupt, len(b))
	}
	n := int(b[0x40])
	if fileNameHeader+2*n > len(b) || n == 0 {
		return nil, fmt.Errorf("%w: $FILE_NAME name length %d in %d bytes", ErrCorrupt, n, len(b))
	}
	return &fileName{
		Parent:    binary.LittleEndian.Uint64(b),
		Created:   binary.LittleEndian.Uint64(b[0x08:]),
		Modified:  binary.LittleEndian.Uint64(b[0x10:]),
		MFTChange: binary.LittleEndian.Uint64(b[0x18:]),
		Accessed:  binary.LittleEndian.Uint64(b[0x20:]),
		AllocSize: int64(binary.LittleEndian.Uint64(b[0x28:])),
		DataSize:  int64(binary.LittleEndian.Uint64(b[0x30:])),
		Attrs:     binary.LittleEndian.Uint32(b[0x38:]),
		Reparse:   binary.LittleEndian.Uint32(b[0x3c:]),
		Namespace: b[0x41],
		Name:      decodeUTF16(b[fileNameHeader : fileNameHeader+2*n]),
	}, nil
}

func (fn *fileName) marshal() []byte {
	b := make([]byte, fileNameHeader+2*len(fn.Name))
	binary.LittleEndian.PutUint64(b, fn.Parent)
	binary.LittleEndian.PutUint64(b[0x08:], fn.Created)
	binary.LittleEndian.PutUint64(b[0x10:], fn.Modified)
	binary.LittleEndian.PutUint64(b[0x18:], fn.MFTChange)
	binary.LittleEndian.PutUint64(b[0x20:], fn.Accessed)
	binary.LittleEndian.PutUint64(b[0x28:], uint64(fn.AllocSize))
	binary.LittleEndian.PutUint64(b[0x30:], uint64(fn.DataSize))
	binary.LittleEndian.PutUint32(b[0x38:], fn.Attrs)
	binary.LittleEndian.PutUint32(b[0x3c:], fn.Reparse)
	b[0x40] = byte(len(fn.Name))
	b[0x41] = fn.Namespace
	copy(b[fileNameHeader:], encodeUTF16(fn.Name))
	return b
}

// $STANDARD_INFORMATION field offsets (NTFS 3.x layout, 0x48 bytes).
const (
	siCreated    = 0x00
	siModified   = 0x08
	siMFTChange  = 0x10
	siAccessed   = 0x18
	siAttrs      = 0x20
	siSecurityID = 0x34
	siLen        = 0x48
)

// ntTime converts to Windows FILETIME (100 ns since 1601).
func ntTime(t time.Time) uint64 {
	const epochDiff = 116444736000000000
	return uint64(t.UnixNano()/100 + epochDiff)
}

func fromNTTime(v uint64) time.Time {
	const epochDiff = 116444736000000000
	if v < epochDiff {
		return time.Unix(0, 0).UTC()
	}
	return time.Unix(0, int64(v-epochDiff)*100).UTC()
}

// is83 reports whether a name is already a valid DOS 8.3 name in upper case,
// which lets one $FILE_NAME serve both Win32 and DOS namespaces.
func is83(name string) bool {
	if name == "." || name == ".." || len(name) == 0 {
		return false
	}
	base, ext, dot := name, "", false
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			if dot {
				return false
			}
			dot = true
			base, ext = name[:i], name[i+1:]
		}
	}
	if len(base) == 0 || len(base) > 8 || len(ext) > 3 || (dot && len(ext) == 0) {
		return false
	}
	for _, c := range base + ext {
		switch {
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c < 0x80 && containsRune("!#$%&'()-@^_`{}~", c):
		default:
			return false
		}
	}
	return true
}

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

// validName rejects names Windows cannot create.
func validName(name string) error {
	u := toUTF16(name)
	if len(u) == 0 || len(u) > 255 || name == "." || name == ".." {
		return fmt.Errorf("ntfs: invalid file name %q", name)
	}
	for _, c := range name {
		if c < 0x20 || containsRune(`"*/:<>?\|`, c) {
			return fmt.Errorf("ntfs: file name %q contains %q, not allowed by Windows", name, c)
		}
	}
	return nil
}
