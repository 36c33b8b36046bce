package imagelock

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// CheckInUse refuses (an *Error wrapping ErrInUse) an image that another
// program uses in a way that an in-place write would corrupt or be corrupted
// by: see the package doc for the list. l must be held Exclusive.
func (l *Lock) CheckInUse() error {
	if l.f == nil {
		return errors.New("imagelock: CheckInUse after Release")
	}
	mine, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("imagelock: %s: %w", l.Path, err)
	}
	mounts := readMounts()
	if l.Block {
		if err := l.blockBusy(mounts); err != nil {
			return err
		}
	}
	for _, m := range mounts {
		if m.source == l.Path {
			return &Error{Path: l.Path, Reason: "is mounted at " + m.point + " (" + m.fstype + "); unmount it first",
				Holder: holders(l.ID, false), kind: ErrInUse}
		}
	}
	if dev, ok := loopBacking(mine); ok {
		reason := "is attached to the loop device " + dev
		if pts := mountedFrom(mounts, dev); len(pts) > 0 {
			reason += ", mounted at " + strings.Join(pts, ", ")
		}
		return &Error{Path: l.Path, Reason: reason + "; unmount it and detach the loop device first (losetup -d " + dev + ")", kind: ErrInUse}
	}
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	if err := unix.FcntlFlock(l.f.Fd(), unix.F_OFD_GETLK, &lk); err == nil && lk.Type != unix.F_UNLCK {
		what := "reading"
		if lk.Type == unix.F_WRLCK {
			what = "writing"
		}
		return &Error{Path: l.Path,
			Reason: fmt.Sprintf("another program has locked this image for %s (as qemu does for a running VM, qemu-img and qemu-io); stop it first", what),
			Holder: holders(l.ID, false), kind: ErrInUse}
	}
	if h := holders(l.ID, true); h != "" {
		return &Error{Path: l.Path, Reason: "another program has this image open for writing; stop it first", Holder: h, kind: ErrInUse}
	}
	return nil
}

// blockBusy refuses a block device that the kernel reports claimed: opening
// it with O_EXCL fails with EBUSY while it or one of its partitions is
// mounted or held by device-mapper or md (open(2), O_EXCL on block devices).
func (l *Lock) blockBusy(mounts []mount) error {
	f, err := os.OpenFile(l.Path, os.O_RDONLY|syscall.O_EXCL|syscall.O_NONBLOCK, 0)
	if err == nil {
		f.Close()
		return nil
	}
	if !errors.Is(err, syscall.EBUSY) {
		return nil // not a verdict on use; the write itself reports real errors
	}
	reason := "is in use by the system (mounted, or part of a RAID or device-mapper volume)"
	if pts := mountedFrom(mounts, l.Path); len(pts) > 0 {
		reason = "is mounted at " + strings.Join(pts, ", ")
	}
	return &Error{Path: l.Path, Reason: reason + "; unmount it first", Holder: holders(l.ID, false), kind: ErrInUse}
}

type mount struct{ source, point, fstype string }

// readMounts parses /proc/self/mounts (fstab(5) format, octal escapes).
func readMounts() []mount {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 3 {
			continue
		}
		out = append(out, mount{unescape(fl[0]), unescape(fl[1]), fl[2]})
	}
	return out
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountedFrom lists where dev or one of its partitions (devNpM, devM) is
// mounted.
func mountedFrom(mounts []mount, dev string) []string {
	var pts []string
	for _, m := range mounts {
		rest, ok := strings.CutPrefix(m.source, dev)
		if !ok {
			continue
		}
		rest = strings.TrimPrefix(rest, "p")
		if _, err := strconv.Atoi(rest); rest == "" || err == nil {
			pts = append(pts, m.point)
		}
	}
	return pts
}

// loopBacking finds a loop device whose backing file is the image
// (/sys/block/loopN/loop/backing_file, compared by identity).
func loopBacking(mine os.FileInfo) (string, bool) {
	files, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, bf := range files {
		b, err := os.ReadFile(bf)
		if err != nil {
			continue
		}
		p := strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)")
		if st, err := os.Stat(p); err == nil && os.SameFile(st, mine) {
			return "/dev/" + filepath.Base(filepath.Dir(filepath.Dir(bf))), true
		}
	}
	return "", false
}

// lockHolder names the process holding a flock on the file, from
// /proc/locks ("1: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<inode> 0 EOF").
func lockHolder(id ID) string {
	f, err := os.Open("/proc/locks")
	if err != nil {
		return ""
	}
	defer f.Close()
	want := fmt.Sprintf("%02x:%02x:%d", unix.Major(id.Dev), unix.Minor(id.Dev), id.Ino)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) < 6 || fl[1] == "->" || fl[1] != "FLOCK" || fl[5] != want {
			continue
		}
		if pid, err := strconv.Atoi(fl[4]); err == nil && pid > 0 {
			return describePID(pid)
		}
	}
	return ""
}

// holders names the other processes that have the file open (only those
// with write access when writers is set), from /proc/PID/fd and fdinfo.
// Processes of other users are invisible without privilege.
func holders(id ID, writers bool) string {
	procs, _ := os.ReadDir("/proc")
	self := os.Getpid()
	var names []string
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			var st syscall.Stat_t
			if syscall.Stat(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()), &st) != nil ||
				uint64(st.Dev) != id.Dev || uint64(st.Ino) != id.Ino {
				continue
			}
			if writers && !openForWrite(pid, fd.Name()) {
				continue
			}
			names = append(names, describePID(pid))
			break
		}
		if len(names) == 3 {
			break
		}
	}
	return strings.Join(names, "; ")
}

// openForWrite reads the access mode from /proc/PID/fdinfo/FD ("flags:" in
// octal; O_ACCMODE is the low two bits).
func openForWrite(pid int, fd string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%s", pid, fd))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
			return err == nil && n&syscall.O_ACCMODE != syscall.O_RDONLY
		}
	}
	return false
}

// describePID is "held by COMMAND (pid N)", the command line cut short.
func describePID(pid int) string {
	if pid == os.Getpid() {
		return fmt.Sprintf("held by this program, pid %d", pid)
	}
	cmd := ""
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil {
		cmd = strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
	}
	if cmd == "" {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
			cmd = strings.TrimSpace(string(b))
		}
	}
	if len(cmd) > 80 {
		cmd = cmd[:77] + "..."
	}
	if cmd == "" {
		return fmt.Sprintf("held by pid %d", pid)
	}
	return fmt.Sprintf("held by %s, pid %d", cmd, pid)
}
