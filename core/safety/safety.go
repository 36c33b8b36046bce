// Package safety holds the vocabulary shared by every check that can stop
// pvinject from writing: a Refusal is an unsafe or unsupported guest or image
// (exit status 3, nothing written); a Finding is a blocker or warning shown to
// the user with what to do about it.
package safety

import "fmt"

// Refusal is returned when pvinject declines to write because the input is
// unsafe or unsupported. The CLI maps it to exit status 3.
type Refusal struct {
	Subject string // file or object refused, e.g. the image path or "SYSTEM hive"
	Reason  string // what is wrong
	Remedy  string // what the user should do
}

func (r *Refusal) Error() string {
	s := fmt.Sprintf("%s: refused: %s", r.Subject, r.Reason)
	if r.Remedy != "" {
		s += "; " + r.Remedy
	}
	return s
}

// Severity of a finding.
type Severity string

const (
	Blocker Severity = "blocker"
	Warning Severity = "warning"
	// Info needs no action: said for the record, never as a warning.
	Info Severity = "info"
)

// Finding is one result of a preflight check.
//
// Every text field is read by an admin, in the wizard and in every report:
// plain words, no command-line flags, no file names of this repository, no
// Go error internals. Message says what is wrong in one line; Remedy says
// what to do in words that hold on any screen ("choose another driver
// source"). What only the command line can say (a flag to pass) goes in
// CLIRemedy, and a raw underlying error in Details (shown behind a
// "Details" expander and written to the debug log, never as the message).
type Finding struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"` // stable identifier, e.g. "ntfs.hibernated"
	// Title is a short heading for the finding ("Windows is hibernated");
	// empty means the Message serves as its own title.
	Title     string `json:"title,omitempty"`
	Message   string `json:"message"`
	Remedy    string `json:"remedy,omitempty"`
	CLIRemedy string `json:"cli_remedy,omitempty"`
	Details   string `json:"details,omitempty"`
	Source    string `json:"source,omitempty"` // document a user can look up, e.g. a guide's section
}

// Refusal turns a blocker into an error for callers that must stop. A
// refusal is read on the command line, so it carries CLIRemedy when the
// finding has one.
func (f Finding) Refusal(subject string) *Refusal {
	remedy := f.Remedy
	if f.CLIRemedy != "" {
		remedy = f.CLIRemedy
	}
	return &Refusal{Subject: subject, Reason: f.Message, Remedy: remedy}
}
