package inspect

import (
	"bytes"
	"encoding/binary"
	"fmt"
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

const (
	factsSection = "docs/injection-facts.md §5"
	hypervNote   = "docs/injection-facts.md (Hyper-V: changing a parent VHD destroys its snapshots)"
)

func noWindowsFinding() safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeNoWindows,
		Message: "no Windows installation found on any partition",
		Remedy: "check that this is the Windows system disk of the VM (not a data disk); an encrypted (BitLocker) " +
			"or dynamic-disk system volume cannot be read: see the other findings"}
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
				Message: fmt.Sprintf("partition %d is encrypted with BitLocker; its contents cannot be read or changed offline", p.Index),
				Remedy: "in Windows, suspend protection and decrypt the drive (manage-bde -off C:), " +
					"wait until decryption completes, shut down, then try again",
				Source: factsSection})
		case partition.FSLDM:
			ldm = append(ldm, fmt.Sprint(p.Index))
		}
	}
	if len(ldm) > 0 {
		msg := "the disk is a dynamic disk (LDM partitions " + strings.Join(ldm, ", ") + "); pvinject reads basic disks only"
		if windowsFound {
			msg += ", so volumes on the dynamic part are not inspected"
		}
		out = append(out, safety.Finding{Severity: sev, Code: CodeLDM, Message: msg,
			Remedy: "convert the system disk back to a basic disk in Windows (Disk Management, or a tool that " +
				"converts without data loss), shut down, then try again; or install the drivers from inside the running guest",
			Source: factsSection})
	}
	return out
}

func childrenFinding(path string, children []string) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeHasChildren,
		Message: fmt.Sprintf("%s is the parent (backing file) of %s; changing it in place would corrupt every child, so in-place writes are refused",
			path, strings.Join(children, ", ")),
		Remedy: "write the result to a new image (--output), or inject into the newest child (the disk the VM actually runs from) instead",
		Source: hypervNote}
}

func readOnlyFormatFinding(info disk.Info) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeReadOnlyFormat,
		Message: fmt.Sprintf("%s %s images can be read but not written in place by pvinject", info.Format, info.Subformat),
		Remedy:  "write the result to a new image with --output (e.g. --output disk.qcow2 or disk.vmdk)"}
}

func vhdxLogFinding(path string) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: CodeVHDXLog,
		Message: fmt.Sprintf("%s was not closed cleanly: its VHDX log holds changes; inspection replayed them in memory, "+
			"and an in-place injection replays them into the file first", path),
		Remedy: "shut the VM down cleanly in Hyper-V (or attach and detach the disk once) before injecting, " +
			"or write the result to a new image (--output) so the original stays untouched"}
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
	f.Message = fmt.Sprintf("partition %d: %s", index, f.Message)
	if f.Severity == safety.Blocker {
		f.Severity = safety.Warning
		f.Message += " (not the partition pvinject writes to)"
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
