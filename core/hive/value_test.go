package hive

import (
	"bytes"
	"errors"
	"slices"
	"testing"
)

func TestValueEncodings(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    Value
		typ  Type
		data []byte
	}{
		{"SZ", SZ("aé"), RegSZ, []byte{'a', 0, 0xe9, 0, 0, 0}},
		{"SZ empty", SZ(""), RegSZ, []byte{0, 0}},
		{"SZ surrogate pair", SZ("𝄞"), RegSZ, []byte{0x34, 0xd8, 0x1e, 0xdd, 0, 0}},
		{"ExpandSZ", ExpandSZ("%a%"), RegExpandSZ, []byte{'%', 0, 'a', 0, '%', 0, 0, 0}},
		{"MultiSZ", MultiSZ("a", "bc"), RegMultiSZ, []byte{'a', 0, 0, 0, 'b', 0, 'c', 0, 0, 0, 0, 0}},
		{"MultiSZ drops empty", MultiSZ("", "a", ""), RegMultiSZ, []byte{'a', 0, 0, 0, 0, 0}},
		{"MultiSZ none", MultiSZ(), RegMultiSZ, []byte{0, 0}},
		{"DWord", DWord(0x01020304), RegDWord, []byte{4, 3, 2, 1}},
		{"DWordBE", DWordBigEndian(0x01020304), RegDWordBigEndian, []byte{1, 2, 3, 4}},
		{"QWord", QWord(0x0102030405060708), RegQWord, []byte{8, 7, 6, 5, 4, 3, 2, 1}},
		{"Binary", Binary([]byte{1, 2}), RegBinary, []byte{1, 2}},
		{"None", None(nil), RegNone, []byte{}},
	} {
		if tc.v.Type != tc.typ || !bytes.Equal(tc.v.Data, tc.data) {
			t.Errorf("%s = %s % x, want %s % x", tc.name, tc.v.Type, tc.v.Data, tc.typ, tc.data)
		}
	}
}

func TestValueDecoding(t *testing.T) {
	str := func(v Value) string {
		s, err := v.String()
		if err != nil {
			t.Fatalf("%s: %v", v.Display(), err)
		}
		return s
	}
	for data, want := range map[string]string{
		"a\x00b\x00":            "ab",      // no terminating NUL
		"a\x00\x00\x00junk":     "a",       // garbage after the NUL
		"a\x00b":                "a",       // odd trailing byte ignored
		"\x3d\xd8a\x00\x00\x00": "\uFFFDa", // unpaired surrogate
	} {
		if got := str(Value{Type: RegSZ, Data: []byte(data)}); got != want {
			t.Errorf("String(% x) = %q, want %q", data, got, want)
		}
	}
	for data, want := range map[string][]string{
		"a\x00\x00\x00b\x00\x00\x00\x00\x00": {"a", "b"},
		"a\x00\x00\x00\x00\x00b\x00\x00\x00": {"a"}, // an empty member ends the list
		"a\x00\x00\x00b\x00":                 {"a", "b"},
		"":                                   {},
	} {
		got, err := Value{Type: RegMultiSZ, Data: []byte(data)}.Strings()
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Strings(% x) = %q, %v; want %q", data, got, err, want)
		}
	}
	if _, err := DWord(1).String(); !errors.Is(err, ErrType) {
		t.Errorf("String of a DWORD: %v", err)
	}
	if _, err := (Value{Type: RegDWord, Data: []byte{1, 2, 3}}).Uint32(); !errors.Is(err, ErrType) {
		t.Errorf("3-byte DWORD: %v", err)
	}
	if _, err := SZ("1").Uint32(); !errors.Is(err, ErrType) {
		t.Errorf("Uint32 of a string: %v", err)
	}
	if n, err := DWord(7).Uint64(); err != nil || n != 7 {
		t.Errorf("Uint64 of DWORD = %d, %v", n, err)
	}
	if _, err := (Value{Type: RegQWord, Data: []byte{1}}).Uint64(); !errors.Is(err, ErrType) {
		t.Errorf("1-byte QWORD: %v", err)
	}
	if got := (Value{Type: 0x4242, Data: []byte{1}}).Display(); got != "REG_0x4242 hex:01" {
		t.Errorf("Display of an unknown type = %q", got)
	}
}
