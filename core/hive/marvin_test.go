package hive

import "testing"

// Published Marvin32 vectors (seed 0x004FB61A001BDBCC), as used by the
// .NET runtime's own tests. The real HvLE entries in the dirty-hive tests
// check the registry's seed end to end.
func TestMarvin32Vectors(t *testing.T) {
	const seed = 0x004FB61A001BDBCC
	for _, tc := range []struct {
		in   []byte
		want uint64
	}{
		{[]byte{0xAF}, 0x48E73FC77D75DDC1},
		{[]byte{0xE7, 0x0F}, 0xB5F6E1FC485DBFF8},
		{[]byte{0x37, 0xF4, 0x95}, 0xF0B07C789B8CF7E8},
	} {
		if got := marvin32(tc.in, seed); got != tc.want {
			t.Errorf("marvin32(%x) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
}
