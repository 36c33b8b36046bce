package wizard

import "strings"

// BootVerdict is the boot-readiness check run on the written image: whether
// Windows will boot on the bus the injected drivers serve, in words.
type BootVerdict struct {
	Checked bool     `json:"checked"`
	OK      bool     `json:"ok"`
	Summary []string `json:"summary,omitempty"`
}

// Boots reports whether the result may be shown as done: verified, and
// the boot check ran and says Windows boots.
func (r Report) Boots() bool { return r.Verify.OK && r.Boot.Checked && r.Boot.OK }

// DoneText is the first thing the last page says. "Done. Start the VM"
// only when the boot check says Windows boots; otherwise what is wrong and
// that the change can be rolled back, before any table.
func (r Report) DoneText() string {
	switch {
	case r.Boots():
		return "Done. Start the VM on the new hypervisor; its first boot finishes the installation. Save the answers to prepare more images the same way."
	case !r.Verify.OK:
		return "The changes did not read back as planned: do not start the VM. " + strings.Join(r.Verify.Problems, "; ")
	case !r.Boot.Checked:
		return "The image was written, but whether Windows will boot could not be checked: do not assume the VM boots. " + strings.Join(r.Boot.Summary, " ")
	}
	return "The image was written, but Windows will NOT boot on the new hypervisor as it is. " + strings.Join(r.Boot.Summary, " ") +
		" You can roll back the changes with Roll back."
}

// attentionText is what every form of the report starts with: the boot
// verdict, the blockers and warnings, the risks accepted.
func attentionText(r Report) string {
	var b strings.Builder
	switch {
	case r.Boots():
		b.WriteString("Boot check: Windows will boot on the new hypervisor.\n")
		for _, l := range r.Boot.Summary {
			b.WriteString("  " + l + "\n")
		}
	case r.Boot.Checked || len(r.Boot.Summary) > 0 || !r.Verify.OK:
		b.WriteString(r.DoneText() + "\n")
	}
	for _, f := range Blockers(r.Findings) {
		b.WriteString("BLOCKER: " + FindingText(f) + "\n")
	}
	for _, f := range r.Findings {
		if f.Severity != Blocker {
			b.WriteString("Warning: " + FindingText(f) + "\n")
		}
	}
	for _, c := range r.Consents {
		b.WriteString("Accepted risk: " + c + "\n")
	}
	return b.String()
}
