package ntfs

import (
	"encoding/binary"
	"unicode/utf16"
)

// upcase is the volume's $UpCase table: Windows compares names by mapping
// every UTF-16 code unit through it, so two names collide exactly when their
// upcased forms are equal.
type upcase []uint16

const upcaseLen = 1 << 16

func parseUpcase(b []byte) upcase {
	u := make(upcase, upcaseLen)
	for i := range u {
		if 2*i+1 < len(b) {
			u[i] = binary.LittleEndian.Uint16(b[2*i:])
		} else {
			u[i] = uint16(i)
		}
	}
	return u
}

// defaultUpcase is used only when $UpCase cannot be read (read-only opens of
// damaged volumes); it folds ASCII and Latin-1 like Windows.
func defaultUpcase() upcase {
	u := make(upcase, upcaseLen)
	for i := range u {
		u[i] = uint16(i)
	}
	for c := 'a'; c <= 'z'; c++ {
		u[c] = uint16(c - 32)
	}
	for c := 0xe0; c <= 0xfe; c++ {
		if c != 0xf7 {
			u[c] = uint16(c - 32)
		}
	}
	return u
}

// compare orders two UTF-16 names as COLLATION_FILE_NAME does: upcased
// comparison first, then the raw code units to break ties.
func (u upcase) compare(a, b []uint16) int {
	if c := u.compareFold(a, b); c != 0 {
		return c
	}
	return compareRaw(a, b)
}

func (u upcase) compareFold(a, b []uint16) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		x, y := u[a[i]], u[b[i]]
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return cmpInt(len(a), len(b))
}

func compareRaw(a, b []uint16) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return cmpInt(len(a), len(b))
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func toUTF16(s string) []uint16 { return utf16.Encode([]rune(s)) }

func fromUTF16(u []uint16) string { return string(utf16.Decode(u)) }

func decodeUTF16(b []byte) []uint16 {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return u
}

func encodeUTF16(u []uint16) []byte {
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}
