package inspect

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
)

// Finding codes of the image-level checks.
const (
	CodeNoWindows      = "inspect.no_windows"
	CodeNoTable        = "inspect.no_partition_table"
	CodeBitLocker      = "inspect.bitlocker_partition"
	CodeLDM            = "inspect.dynamic_disk"
	CodeHasChildren    = "inspect.parent_of_children"
	CodeReadOnlyFormat = "inspect.read_only_format"
	CodeVHDXLog        = "inspect.vhdx_log"
	CodeNTFSOpen       = "inspect.ntfs_unreadable"
	CodePendingJournal = "inspect.pending_journal"
)

// Documents a user can look up, named by the findings.
const (
	srcBitLocker = "Microsoft: BitLocker recovery guide (manage-bde -off)"
	srcLDM       = "Microsoft: Change a dynamic disk back to a basic disk"
	srcHyperV    = "Microsoft: Hyper-V checkpoints (editing a parent virtual hard disk breaks its children)"
)

func noTableFinding() safety.Finding {
	return safety.Finding{Severity: safety.Blocker, Code: CodeNoTable,
		Title:   "This does not look like a Windows system disk",
		Message: "The file has no partition table and no file system pvinject recognises: it may be blank, encrypted as a whole, or not a disk image at all.",
		Remedy:  "Choose the disk image of the Windows virtual machine's system disk."}
}

func ntfsUnreadableFinding(err error) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeNTFSOpen,
		Title:   "An NTFS volume cannot be read",
		Message: "pvinject could not read this NTFS volume, so it cannot look for Windows on it.",
		Remedy:  "Start the virtual machine, run chkdsk /f on the volume, shut Windows down fully, then open the image again.",
		Details: err.Error()}
}

func noWindowsFinding() safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeNoWindows,
		Title:   "No Windows installation found",
		Message: "No partition of this disk holds a Windows folder with its registry.",
		Remedy: "Check that this is the system disk of the Windows virtual machine, not a data disk. An encrypted " +
			"(BitLocker) or dynamic-disk system volume cannot be read: see the other findings."}
}

// encryptedFindings reports BitLocker and LDM partitions. They are blockers
// when no Windows was found elsewhere (the system volume is probably inside
// them) and warnings otherwise (a data volume pvinject will not touch).
func encryptedFindings(parts []partition.Partition, windowsFound bool) []safety.Finding {
	sev := safety.Blocker
	if windowsFound {
		sev = safety.Warning
	}
	var out []safety.Finding
	var ldm []string
	for _, p := range parts {
		switch p.Filesystem {
		case partition.FSBitLocker:
			out = append(out, safety.Finding{Severity: sev, Code: CodeBitLocker,
				Title:   "A partition is encrypted with BitLocker",
				Message: fmt.Sprintf("Partition %d is encrypted with BitLocker; its contents cannot be read or changed while the machine is off.", p.Index),
				Remedy: "In Windows, turn BitLocker off for the drive (manage-bde -off C:), wait until decryption completes, " +
					"shut down, then open the image again.",
				Source: srcBitLocker})
		case partition.FSLDM:
			ldm = append(ldm, fmt.Sprint(p.Index))
		}
	}
	if len(ldm) > 0 {
		msg := "The disk is a dynamic disk (partitions " + strings.Join(ldm, ", ") + "); pvinject reads basic disks only"
		if windowsFound {
			msg += ", so volumes on the dynamic part are not looked at"
		}
		out = append(out, safety.Finding{Severity: sev, Code: CodeLDM,
			Title:   "The disk is a dynamic disk",
			Message: msg + ".",
			Remedy: "Convert the system disk back to a basic disk in Windows (Disk Management, or a tool that " +
				"converts without data loss), shut down, then open the image again; or install the drivers from inside the running guest.",
			Source: srcLDM})
	}
	return out
}

func childrenFinding(path string, children []string) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeHasChildren,
		Title: "Other disk images depend on this one",
		Message: fmt.Sprintf("%s is the parent (backing file) of %s; changing it in place would corrupt every one of them, so it will not be changed in place.",
			filepath.Base(path), strings.Join(baseNames(children), ", ")),
		Remedy:    "Write the result to a new image, or prepare the newest child (the disk the virtual machine runs from) instead.",
		CLIRemedy: "use --output NEW-IMAGE, or inject into the newest child instead",
		Source:    srcHyperV}
}

func childrenUnknownFinding(err error) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeHasChildren,
		Title:     "Could not check for images that depend on this one",
		Message:   "The image's folder could not be listed, so pvinject cannot tell whether other images use this one as their parent.",
		Remedy:    "Check that the image's folder can be read, or write the result to a new image.",
		CLIRemedy: "check the folder's permissions, or use --output NEW-IMAGE",
		Details:   err.Error()}
}

func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

func readOnlyFormatFinding(info disk.Info) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeReadOnlyFormat,
		Title:     "This image can only be read",
		Message:   fmt.Sprintf("%s %s images can be read but not changed in place by pvinject.", info.Format, info.Subformat),
		Remedy:    "Write the result to a new image (qcow2, VHDX or VMDK).",
		CLIRemedy: "use --output NEW-IMAGE (e.g. disk.qcow2 or disk.vmdk)"}
}

func vhdxLogFinding(path string) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeVHDXLog,
		Title: "The VHDX file was not closed cleanly",
		Message: fmt.Sprintf("%s holds changes in its log that were not yet written into the disk; pvinject reads them, "+
			"and writing in place stores them into the file first.", filepath.Base(path)),
		Remedy: "Shut the virtual machine down cleanly in Hyper-V (or attach and detach the disk once) first, " +
			"or write the result to a new image so the original stays untouched.",
		CLIRemedy: "or use --output NEW-IMAGE so the original stays untouched"}
}

// vhdxLogPending reports whether a VHDX file's current header names a log
// ([MS-VHDX] 2.2.2: headers at 64 KiB and 128 KiB, "head" signature,
// SequenceNumber at 8, LogGuid at 48). The image layer replays such a log
// silently when reading, so this is the only place the user learns of it.
func vhdxLogPending(b disk.Backing) bool {
	var best []byte
	var bestSeq uint64
	for _, off := range []int64{64 << 10, 128 << 10} {
		h := make([]byte, 64)
		if _, err := b.ReadAt(h, off); err != nil || !bytes.Equal(h[:4], []byte("head")) {
			continue
		}
		if seq := binary.LittleEndian.Uint64(h[8:]); best == nil || seq > bestSeq {
			best, bestSeq = h, seq
		}
	}
	return best != nil && !bytes.Equal(best[48:64], make([]byte, 16))
}

// prefixed marks a finding as coming from another partition than the
// chosen install's: nothing is written there, so it can only warn.
func prefixed(index int, f safety.Finding) safety.Finding {
	f.Message = fmt.Sprintf("On partition %d: %s", index, f.Message)
	if f.Severity == safety.Blocker {
		f.Severity = safety.Warning
		f.Message += " Nothing is written to that partition."
	}
	return f
}

// pendingJournalFinding: an earlier in-place injection left its rollback
// journal (interrupted, or finished and not yet accepted). Another write
// would be refused until the user decides, so inspection says it first.
func pendingJournalFinding() safety.Finding {
	return safety.Finding{Severity: safety.Blocker, Code: CodePendingJournal,
		Title:     "An earlier injection is waiting for a decision",
		Message:   "this image was changed in place by an earlier pvinject run whose rollback copy is still kept: either that run was interrupted, or its changes were not yet accepted",
		Remedy:    "roll the earlier changes back to return to the original image, or keep them once the guest has booted on the new hypervisor; then start again",
		CLIRemedy: "pvinject rollback IMAGE restores the original; pvinject accept IMAGE keeps the changes"}
}
