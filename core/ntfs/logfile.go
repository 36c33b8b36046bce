package ntfs

import (
	"fmt"

	"github.com/pvinject/pvinject/core/safety"
)

// $LogFile restart page and area fields (ntfs-3g layout.h names).
const (
	rstrAreaOffset  = 0x18
	rstrMinorVer    = 0x1a
	rstrMajorVer    = 0x1c
	raCurrentLSN    = 0x00
	raClientInUse   = 0x0c
	raFlags         = 0x0e
	raVolumeIsClean = 0x0002
	noClient        = 0xffff
)

// restartPage is the part of a $LogFile restart page the safety checks use.
type restartPage struct {
	Major, Minor int16
	LSN          uint64
	InUse        uint16
	Flags        uint16
}

// parseRestartPage decodes one restart page (update sequence applied).
// ok is false for an emptied page (all 0xff, as ntfs-3g and chkdsk leave it).
func parseRestartPage(b []byte, off int64) (rp restartPage, ok bool, err error) {
	if len(b) < 0x30 {
		return rp, false, fmt.Errorf("%w: restart page of %d bytes", ErrCorrupt, len(b))
	}
	switch string(b[:4]) {
	case "\xff\xff\xff\xff":
		return rp, false, nil
	case "RSTR", "CHKD":
	default:
		return rp, false, fmt.Errorf("%w: restart page signature %q", ErrCorrupt, b[:4])
	}
	buf := append([]byte(nil), b...)
	if err := unfixup(buf, "$LogFile restart page", off); err != nil {
		return rp, false, err
	}
	rp.Major, rp.Minor = int16(le16(buf[rstrMajorVer:])), int16(le16(buf[rstrMinorVer:]))
	ra := int(le16(buf[rstrAreaOffset:]))
	if ra < 0x1e || ra+0x10 > len(buf) {
		return rp, false, fmt.Errorf("%w: restart area offset %d", ErrCorrupt, ra)
	}
	rp.LSN = le64(buf[ra+raCurrentLSN:])
	rp.InUse = le16(buf[ra+raClientInUse:])
	rp.Flags = le16(buf[ra+raFlags:])
	return rp, true, nil
}

// checkLogFile applies ntfs-3g's mount-time rules to the most recent of
// the two restart pages: version 2.0 means Windows kept metadata in its
// cache (Fast Startup), and active clients without the clean flag mean an
// unclean shutdown.
func (v *Volume) checkLogFile() []safety.Finding {
	unreadable := func(err error) []safety.Finding {
		return []safety.Finding{{Severity: safety.Blocker, Code: "ntfs.logfile",
			Title:   "The NTFS journal cannot be checked",
			Message: "The volume's $LogFile cannot be read, so pvinject cannot tell whether Windows shut down cleanly.",
			Remedy:  "Start the virtual machine, run chkdsk /f, shut down fully, then open the image again.", Source: srcChkdsk,
			Details: err.Error()}}
	}
	f, err := v.openFile(recLogFile)
	if err != nil {
		return unreadable(err)
	}
	s, err := f.stream(atData, "")
	if err != nil {
		return unreadable(err)
	}
	if s.size < 8192 {
		return unreadable(fmt.Errorf("only %d bytes", s.size))
	}
	head := make([]byte, 0x30)
	if err := s.readFull(head, 0); err != nil {
		return unreadable(err)
	}
	pageSize := int64(4096)
	if string(head[:4]) == "RSTR" || string(head[:4]) == "CHKD" {
		if ps := int64(le32(head[0x10:])); ps >= 512 && ps <= 65536 && ps&(ps-1) == 0 && 2*ps <= s.size {
			pageSize = ps
		}
	}
	var best restartPage
	found := false
	for i := int64(0); i < 2; i++ {
		page := make([]byte, pageSize)
		if err := s.readFull(page, i*pageSize); err != nil {
			return unreadable(err)
		}
		rp, ok, err := parseRestartPage(page, s.volOffset(i*pageSize))
		if err != nil {
			if i == 1 && found {
				break // a damaged second copy does not hide a good first one
			}
			return unreadable(err)
		}
		if ok && (!found || rp.LSN > best.LSN) {
			best, found = rp, true
		}
	}
	if !found {
		return nil // emptied log: nothing to replay
	}
	if best.Major == 2 && best.Minor == 0 {
		return []safety.Finding{{Severity: safety.Blocker, Code: "ntfs.fast_startup",
			Title:   "Windows was shut down with Fast Startup",
			Message: "The volume's journal shows Windows kept file system changes in memory (Fast Startup, or a crash): writing now could lose them or damage the disk.",
			Remedy:  remedyRestart, Source: srcHibernation}}
	}
	if best.InUse != noClient && best.Flags&raVolumeIsClean == 0 {
		return []safety.Finding{{Severity: safety.Blocker, Code: "ntfs.unclean",
			Title:   "Windows did not shut down cleanly",
			Message: "The volume's journal holds changes Windows has not finished writing.",
			Remedy:  remedyRestart + " If Windows crashed, let it start once and run chkdsk /f.", Source: srcHibernation}}
	}
	return nil
}
