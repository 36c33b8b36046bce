package ntfs

import (
	"errors"
	"fmt"

	"github.com/pvinject/pvinject/core/safety"
)

const factsSection = "docs/injection-facts.md §5"

const remedyRestart = "boot Windows and choose Restart (not Shut down), or disable Fast Startup " +
	"(run `powercfg /h off` as administrator) and shut down fully; then try again"

func bitlockerFinding() safety.Finding {
	return safety.Finding{Severity: safety.Blocker, Code: "ntfs.bitlocker",
		Message: "the volume is encrypted with BitLocker",
		Remedy:  "in Windows, suspend protection and decrypt the drive (manage-bde -off C:), wait until decryption completes, shut down, then try again",
		Source:  factsSection}
}

// Check inspects the volume for states that make writing unsafe and returns
// every finding; blockers stop read-write opens. It reads only metadata.
func Check(v *Volume) []safety.Finding {
	var out []safety.Finding
	if v.major < 3 || (v.major == 3 && v.minor < 1) {
		out = append(out, safety.Finding{Severity: safety.Blocker, Code: "ntfs.version",
			Message: fmt.Sprintf("NTFS version %d.%d is older than 3.1 (Windows XP and later); pvinject does not write to it", v.major, v.minor),
			Remedy:  "use a guest running Windows XP or later, or let that Windows upgrade the volume by running chkdsk on it",
			Source:  factsSection})
	}
	if v.vflags&volDirty != 0 {
		out = append(out, safety.Finding{Severity: safety.Blocker, Code: "ntfs.dirty",
			Message: "the volume's dirty bit is set: Windows did not finish with it cleanly",
			Remedy:  "boot Windows and run `chkdsk /f C:` (or let it check the disk at startup), shut down fully, then try again",
			Source:  factsSection})
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
		Message: "Windows is hibernated (hiberfil.sys holds a hibernation image); changes made now would be lost or corrupt the disk",
		Remedy:  remedyRestart, Source: factsSection}
	if err != nil {
		hib.Message = fmt.Sprintf("hiberfil.sys cannot be inspected (%v); Windows may be hibernated", err)
		return []safety.Finding{hib}
	}
	s, err := f.stream(atData, "")
	if err != nil {
		hib.Message = fmt.Sprintf("hiberfil.sys cannot be read (%v); Windows may be hibernated", err)
		return []safety.Finding{hib}
	}
	if s.size < 4096 {
		hib.Message = "hiberfil.sys is shorter than 4096 bytes, which Windows leaves on a hibernated non-system volume"
		return []safety.Finding{hib}
	}
	magic := make([]byte, 4)
	if err := s.readFull(magic, 0); err != nil {
		hib.Message = fmt.Sprintf("hiberfil.sys cannot be read (%v); Windows may be hibernated", err)
		return []safety.Finding{hib}
	}
	if m := string(magic); m == "hibr" || m == "HIBR" {
		return []safety.Finding{hib}
	}
	return nil
}
