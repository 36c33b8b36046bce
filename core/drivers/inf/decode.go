package inf

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxFileSize bounds the bytes Parse accepts. The largest INFs Windows ships
// (e.g. machine.inf, net*.inf) are a few MiB; 16 MiB leaves room without
// letting a hostile file make us allocate without limit.
const MaxFileSize = 16 << 20

// Encoding names the text encoding an INF was stored in.
type Encoding string

const (
	EncUTF16LE Encoding = "utf-16le"
	EncUTF16BE Encoding = "utf-16be"
	EncUTF8BOM Encoding = "utf-8-bom"
	EncUTF8    Encoding = "utf-8"
	EncANSI    Encoding = "ansi-cp1252"
)

// decodeText turns raw INF bytes into a Go string. Windows reads INFs as
// UTF-16 when they start with a BOM (or look like BOM-less UTF-16LE, which
// IsTextUnicode accepts), otherwise in the system ANSI code page; we take
// valid UTF-8 as UTF-8 and anything else as Windows-1252.
func decodeText(b []byte) (string, Encoding, error) {
	if len(b) > MaxFileSize {
		return "", "", fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(b), MaxFileSize)
	}
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return utf16String(b[2:], binary.LittleEndian), EncUTF16LE, nil
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		return utf16String(b[2:], binary.BigEndian), EncUTF16BE, nil
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return strings.ToValidUTF8(string(b[3:]), "\uFFFD"), EncUTF8BOM, nil
	case looksUTF16LE(b):
		return utf16String(b, binary.LittleEndian), EncUTF16LE, nil
	case utf8.Valid(b):
		return string(b), EncUTF8, nil
	}
	return decodeCP1252(b), EncANSI, nil
}

// looksUTF16LE spots BOM-less UTF-16LE: ASCII text with a NUL after every
// character in the first bytes.
func looksUTF16LE(b []byte) bool {
	n := min(len(b), 64) &^ 1
	if n < 4 {
		return false
	}
	for i := 0; i < n; i += 2 {
		if b[i] == 0 || b[i+1] != 0 {
			return false
		}
	}
	return true
}

func utf16String(b []byte, order binary.ByteOrder) string {
	u := make([]uint16, len(b)/2) // an odd trailing byte cannot be a character: dropped
	for i := range u {
		u[i] = order.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// cp1252 maps bytes 0x80-0x9F; the rest of Windows-1252 equals Latin-1.
var cp1252 = [32]rune{
	0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD,
	0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
}

func decodeCP1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			sb.WriteRune(cp1252[c-0x80])
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
