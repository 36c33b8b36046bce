package ntfs

import (
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/safety"
)

// Documents a user can look up, cited by the findings (why each state is
// refused: docs/injection-facts.md §5).
const (
	srcHibernation = "ntfs-3g manual: Windows hibernation and fast restarting; Microsoft: Fast Startup, powercfg /h off"
	srcChkdsk      = "Microsoft: chkdsk"
	srcBitLocker   = "Microsoft: BitLocker recovery guide (manage-bde -off)"
)

const remedyRestart = "Start the virtual machine and choose Restart (not Shut down), or turn Fast Startup off " +
	"(powercfg /h off as administrator) and shut down fully; then open the image again."

func bitlockerFinding() safety.Finding {
	return safety.Finding{Severity: safety.Blocker, Code: "ntfs.bitlocker",
		Title:   "The volume is encrypted with BitLocker",
		Message: "Its contents cannot be read or changed while the machine is off.",
		Remedy:  "In Windows, turn BitLocker off for the drive (manage-bde -off C:), wait until decryption completes, shut down, then open the image again.",
		Source:  srcBitLocker}
}

// Check inspects the volume for states that make writing unsafe and returns
// every finding; blockers stop read-write opens. It reads only metadata.
func Check(v *Volume) []safety.Finding {
	var out []safety.Finding
	if v.major < 3 || (v.major == 3 && v.minor < 1) {
		out = append(out, safety.Finding{Severity: safety.Blocker, Code: "ntfs.version",
			Title:   "The NTFS version is too old",
			Message: fmt.Sprintf("NTFS version %d.%d is older than 3.1 (Windows XP and later); pvinject does not write to it.", v.major, v.minor),
			Remedy:  "Use a guest running Windows XP or later, or let that Windows upgrade the volume by running chkdsk on it.",
			Source:  srcChkdsk})
	}
	if v.vflags&volDirty != 0 {
		out = append(out, safety.Finding{Severity: safety.Blocker, Code: "ntfs.dirty",
			Title:   "Windows did not close the volume cleanly",
			Message: "The volume is marked dirty: Windows did not finish with it cleanly, and writing to it now could damage it.",
			Remedy:  "Start the virtual machine, run chkdsk /f C: (or let Windows check the disk at startup), shut down fully, then open the image again.",
			Source:  srcChkdsk})
	}
	out = append(out, v.checkHiberfil()...)
	out = append(out, v.checkLogFile()...)
	return out
}

func refuseIfBlocked(v *Volume) error {
	for _, f := range Check(v) {
		if f.Severity == safety.Blocker {
			return f.Refusal("NTFS volume")
		}
	}
	return nil
}

func (v *Volume) checkHiberfil() []safety.Finding {
	f, _, err := v.resolve("hiberfil.sys")
	if errors.Is(err, ErrNotExist) {
		return nil
	}
	hib := safety.Finding{Severity: safety.Blocker, Code: "ntfs.hibernated",
		Title:   "Windows is hibernated",
		Message: "hiberfil.sys holds a hibernation image: changes made now would be lost, or corrupt the disk, when Windows resumes.",
		Remedy:  remedyRestart, Source: srcHibernation}
	if err != nil {
		hib.Message = "hiberfil.sys cannot be inspected, so Windows may be hibernated."
		hib.Details = err.Error()
		return []safety.Finding{hib}
	}
	s, err := f.stream(atData, "")
	if err != nil {
		hib.Message = "hiberfil.sys cannot be read, so Windows may be hibernated."
		hib.Details = err.Error()
		return []safety.Finding{hib}
	}
	if s.size < 4096 {
		hib.Message = "hiberfil.sys is shorter than 4096 bytes, which Windows leaves on a hibernated non-system volume."
		return []safety.Finding{hib}
	}
	magic := make([]byte, 4)
	if err := s.readFull(magic, 0); err != nil {
		hib.Message = "hiberfil.sys cannot be read, so Windows may be hibernated."
		hib.Details = err.Error()
		return []safety.Finding{hib}
	}
	if m := string(magic); m == "hibr" || m == "HIBR" {
		return []safety.Finding{hib}
	}
	return nil
}
