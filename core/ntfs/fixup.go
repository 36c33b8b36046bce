package ntfs

import "encoding/binary"

// The update sequence array protects multi-sector structures (MFT records,
// index blocks) against torn writes: the last two bytes of every 512-byte
// stride (regardless of the device sector size) are replaced on disk by a
// sequence number, and the originals are kept in the array.
const fixupStride = 512

// unfixup validates and removes the update sequence in place. b must hold
// the whole structure.
func unfixup(b []byte, structure string, off int64) error {
	if len(b) < 8 {
		return corrupt(structure, off, "too short for an update sequence")
	}
	usaOfs := int(binary.LittleEndian.Uint16(b[4:]))
	usaCount := int(binary.LittleEndian.Uint16(b[6:]))
	if usaCount < 2 || (usaCount-1)*fixupStride > len(b) || usaOfs < 8 || usaOfs+2*usaCount > len(b) || usaOfs&1 != 0 {
		return corrupt(structure, off, "update sequence offset %d count %d invalid for %d bytes", usaOfs, usaCount, len(b))
	}
	seq := b[usaOfs : usaOfs+2]
	for i := 1; i < usaCount; i++ {
		end := i*fixupStride - 2
		if b[end] != seq[0] || b[end+1] != seq[1] {
			return corrupt(structure, off, "update sequence mismatch in stride %d (torn write?)", i-1)
		}
		copy(b[end:end+2], b[usaOfs+2*i:usaOfs+2*i+2])
	}
	return nil
}

// fixup applies the update sequence in place before a write, incrementing
// the sequence number (skipping 0 and 0xffff, as Windows does).
func fixup(b []byte) {
	usaOfs := int(binary.LittleEndian.Uint16(b[4:]))
	usaCount := int(binary.LittleEndian.Uint16(b[6:]))
	seq := binary.LittleEndian.Uint16(b[usaOfs:]) + 1
	if seq == 0 || seq == 0xffff {
		seq = 1
	}
	binary.LittleEndian.PutUint16(b[usaOfs:], seq)
	for i := 1; i < usaCount && i*fixupStride <= len(b); i++ {
		end := i*fixupStride - 2
		copy(b[usaOfs+2*i:usaOfs+2*i+2], b[end:end+2])
		binary.LittleEndian.PutUint16(b[end:], seq)
	}
}
