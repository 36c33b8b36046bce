package hive

import (
	"encoding/binary"
	"math/bits"
)

// hvleSeed is the Marvin32 seed the registry uses for HvLE log entries
// (bytes 82 EF 4D 88 7A 4E 55 C5 taken as one number, high byte first;
// checked against real Windows 10 logs in the tests).
const hvleSeed = 0x82EF4D887A4E55C5

// marvin32 is Microsoft's Marvin32 hash, used to check HvLE log entries.
func marvin32(data []byte, seed uint64) uint64 {
	lo, hi := uint32(seed), uint32(seed>>32)
	mix := func() {
		hi ^= lo
		lo = bits.RotateLeft32(lo, 20)
		lo += hi
		hi = bits.RotateLeft32(hi, 9)
		hi ^= lo
		lo = bits.RotateLeft32(lo, 27)
		lo += hi
		hi = bits.RotateLeft32(hi, 19)
	}
	for len(data) >= 4 {
		lo += binary.LittleEndian.Uint32(data)
		mix()
		data = data[4:]
	}
	// The tail (0-3 bytes) is padded with a single 0x80 byte.
	var tail uint32 = 0x80
	for i := len(data) - 1; i >= 0; i-- {
		tail = tail<<8 | uint32(data[i])
	}
	lo += tail
	mix()
	mix()
	return uint64(hi)<<32 | uint64(lo)
}
