package engine

import (
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/wizard"
)

// finding converts a core finding for the screens. The CLI's remedy (flags)
// is left behind; the raw error in Details goes to the debug log as well as
// behind the screen's Details expander.
func (e *Engine) finding(f safety.Finding) wizard.Finding {
	if f.Details != "" {
		e.log.Debug("finding details", "code", f.Code, "details", f.Details)
	}
	w := wizard.Finding{Severity: wizard.Severity(f.Severity), Code: f.Code, Title: f.Title,
		Message: f.Message, Remedy: f.Remedy, Details: f.Details, Source: f.Source}
	if f.Code == "hive.dirty_no_logs" {
		// Step 2 can take the logs from elsewhere (AddHiveLogs).
		w.Remedy += " If you have the hive's .LOG1 and .LOG2 files from the same folder, press Add registry logs on this step."
	}
	return w
}

func (e *Engine) findings(fs []safety.Finding) []wizard.Finding {
	out := make([]wizard.Finding, 0, len(fs))
	for _, f := range fs {
		out = append(out, e.finding(f))
	}
	return out
}
