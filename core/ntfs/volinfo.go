package ntfs

import (
	"encoding/binary"
	"fmt"
)

const volDirty uint16 = 0x0001

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// loadVolumeInfo reads the version and flags of $VOLUME_INFORMATION.
func (v *Volume) loadVolumeInfo() error {
	r, err := v.readRecord(recVolume)
	if err != nil {
		return err
	}
	a := r.find(atVolumeInfo, "")
	if a == nil || a.NonRes || len(a.Value) < 12 {
		return corrupt("$Volume", -1, "no resident $VOLUME_INFORMATION")
	}
	v.major, v.minor = a.Value[8], a.Value[9]
	v.vflags = le16(a.Value[10:])
	return nil
}

// setVolumeFlags rewrites the $VOLUME_INFORMATION flags of record 3 (and
// its mirror).
func (v *Volume) setVolumeFlags(flags uint16) error {
	clearing := flags&volDirty == 0
	r, err := v.readRecord(recVolume)
	if err != nil {
		return err
	}
	a := r.find(atVolumeInfo, "")
	if a == nil || a.NonRes || len(a.Value) < 12 {
		return corrupt("$Volume", -1, "no resident $VOLUME_INFORMATION")
	}
	binary.LittleEndian.PutUint16(a.Value[10:], flags)
	a.dirty = true
	if err := v.writeRecordOrdered(r, clearing); err != nil {
		return fmt.Errorf("ntfs: update $Volume flags: %w", err)
	}
	v.vflags = flags
	return nil
}

// markDirty sets the volume dirty flag before the first metadata write, so
// Windows runs chkdsk if we are cut off before Close.
func (v *Volume) markDirty() error {
	if v.dirtyMark {
		return nil
	}
	v.dirtyMark = true
	before := v.writes
	if err := v.setVolumeFlags(v.vflags | volDirty); err != nil {
		v.err = err
		return err
	}
	v.writes = before // the flag itself changes nothing a failed operation must undo
	return nil
}

// Flush writes cached allocation state ($Bitmap). The volume stays marked
// dirty until Close.
func (v *Volume) Flush() error {
	if v.closed || v.w == nil {
		return nil
	}
	if v.err != nil {
		return v.err
	}
	if v.bitmap != nil {
		if err := v.bitmap.flush(); err != nil {
			v.err = err
			return err
		}
	}
	return nil
}

// Close flushes pending state and, when every write succeeded, clears the
// dirty flag set by the first write. It never closes the device. After a
// failed write the flag stays set, so Windows checks the volume.
func (v *Volume) Close() error {
	if v.closed {
		return nil
	}
	err := v.Flush()
	if err == nil && v.dirtyMark && v.err == nil {
		err = v.setVolumeFlags(v.vflags &^ volDirty)
	}
	v.closed = true
	if err == nil {
		err = v.err
	}
	return err
}

// mutate runs one public write operation. Allocation failures are meant to
// happen before the first byte is written; if an operation still fails
// after writing, the volume stays marked dirty (sticky error) so Windows
// repairs it. Either way the in-memory caches are dropped and re-read.
func (v *Volume) mutate(fn func() error) error {
	if err := v.writable(); err != nil {
		return err
	}
	start := v.writes
	v.undone = false
	err := fn()
	if err == nil {
		if err = v.Flush(); err == nil {
			return nil
		}
	}
	clear(v.cache)
	clear(v.secIDs)
	v.bitmap = nil
	if v.writes != start && !v.undone && v.err == nil {
		v.err = fmt.Errorf("ntfs: an operation failed after writing; the volume stays marked dirty for chkdsk: %w", err)
	}
	return err
}
