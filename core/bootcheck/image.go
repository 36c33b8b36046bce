package bootcheck

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/partition"
)

// ErrNoWindows is returned by CheckImage when the image holds no Windows.
var ErrNoWindows = errors.New("bootcheck: no Windows installation found")

// CheckImage opens the image at path read-only, finds its first Windows
// installation and checks it.
func CheckImage(ctx context.Context, path string) (*Result, error) {
	im, err := image.Open(path, disk.Options{})
	if err != nil {
		return nil, fmt.Errorf("boot check %s: %w", path, err)
	}
	defer im.Close()
	tab, err := partition.Read(im, im.Size())
	if err != nil {
		return nil, fmt.Errorf("boot check %s: partition table: %w", path, err)
	}
	for _, p := range tab.Partitions {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("boot check %s: %w", path, err)
		}
		if p.Filesystem != partition.FSNTFS {
			continue
		}
		ws, err := detect(im, p)
		if err != nil || len(ws) == 0 {
			continue
		}
		return CheckDisk(im, tab.Partitions, p.Index, ws[0])
	}
	return nil, fmt.Errorf("boot check %s: %w", path, ErrNoWindows)
}

func detect(im disk.Image, p partition.Partition) ([]guest.Windows, error) {
	vol, err := openNTFS(im, p)
	if err != nil {
		return nil, err
	}
	defer vol.Close()
	return guest.Detect(guest.FromNTFS(vol), nil)
}

func openNTFS(im disk.Image, p partition.Partition) (*ntfs.Volume, error) {
	view, err := partition.View(im, p)
	if err != nil {
		return nil, err
	}
	return ntfs.Open(view, view.Size(), ntfs.Options{})
}

// bcdPaths are where Windows keeps its boot configuration: \Boot\BCD on
// the active partition of a BIOS disk, \EFI\Microsoft\Boot\BCD on the EFI
// system partition.
var bcdPaths = []string{"Boot/BCD", "EFI/Microsoft/Boot/BCD"}

// CheckDisk checks the Windows w found on partition sysPart of an open
// image: it opens that NTFS volume afresh, and every other NTFS volume
// for a BCD store.
func CheckDisk(im disk.Image, parts []partition.Partition, sysPart int, w guest.Windows) (*Result, error) {
	var stores []BCDStore
	var sysVol *ntfs.Volume
	for _, p := range parts {
		if p.Filesystem == partition.FSFAT {
			if st, ok := espBCD(im, p, fmt.Sprintf(`partition %d, \EFI\Microsoft\Boot\BCD`, p.Index)); ok {
				stores = append(stores, st)
			}
			continue
		}
		if p.Filesystem != partition.FSNTFS {
			continue
		}
		vol, err := openNTFS(im, p)
		if err != nil {
			if p.Index == sysPart {
				return nil, fmt.Errorf("boot check: partition %d: %w", p.Index, err)
			}
			continue
		}
		fsys := guest.FromNTFS(vol)
		for _, bp := range bcdPaths {
			if st, ok := readBCD(fsys, bp, fmt.Sprintf(`partition %d, \%s`, p.Index, strings.ReplaceAll(bp, "/", `\`))); ok {
				stores = append(stores, st)
			}
		}
		if p.Index == sysPart {
			sysVol = vol
			defer vol.Close()
		} else {
			vol.Close()
		}
	}
	if sysVol == nil {
		return nil, fmt.Errorf("boot check: partition %d is not an NTFS volume", sysPart)
	}
	in := Input{FS: guest.FromNTFS(sysVol), SystemRoot: strings.Trim(strings.ReplaceAll(w.SystemRoot, `\`, "/"), "/"),
		Arch: string(w.Arch), Major: w.Major, Minor: w.Minor, BCD: stores}
	return Check(in), nil
}

// readBCD reads a BCD hive and its logs; a BCD hive is tens of KiB.
func readBCD(v guest.FS, rel, where string) (BCDStore, bool) {
	b, err := readGuestFile(v, rel, 16<<20)
	if err != nil {
		return BCDStore{}, false
	}
	st := BCDStore{Where: where, Data: b}
	for _, suf := range []string{".LOG1", ".LOG2", ".LOG"} {
		if l, err := readGuestFile(v, rel+suf, 16<<20); err == nil {
			st.Logs = append(st.Logs, hiveLog(suf, l))
		}
	}
	return st, true
}
