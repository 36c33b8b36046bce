package wizard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pvinject/pvinject/internal/hostfile"
)

// AnswersVersion is the answer-file version this package writes and reads.
const AnswersVersion = 1

// maxAnswersSize bounds what Load reads: an answer file is a few hundred
// bytes, and anything larger is not one.
const maxAnswersSize = 1 << 20

// ErrAnswers is wrapped by every answer-file validation error.
var ErrAnswers = errors.New("invalid answer file")

// Answers are the wizard's choices saved for a silent or batch run: the same
// fields as the `pvinject inject` flags. Output may contain {dir} (the input
// image's folder) and {name} (its base name without extension), so one file
// serves many images in `pvinject batch`.
type Answers struct {
	Version       int        `json:"version"`
	Drivers       string     `json:"drivers"`
	Set           Set        `json:"set"`
	InPlace       bool       `json:"in_place,omitempty"`
	Output        string     `json:"output,omitempty"`
	Format        string     `json:"format,omitempty"` // empty: the input's format, or guessed from Output
	MTU           int        `json:"mtu,omitempty"`    // 0: keep the guest's MTU
	WriteCache    WriteCache `json:"write_cache,omitempty"`
	AllowUnsigned bool       `json:"allow_unsigned,omitempty"`
	// KeepIP is --keep-ip: "auto" carries every guest's own static IP
	// settings to its new adapters, "off" none; empty leaves the choice to
	// the wizard's defaults (and means auto on the command line).
	KeepIP string `json:"keep_ip,omitempty"`
	// Adapters are the Options step's network choices for one virtual
	// machine (its own addresses), as the wizard saved them; when present
	// they are carried instead of KeepIP's, and batch refuses them for more
	// than one image (every image would get the same addresses).
	Adapters []NetChoice `json:"adapters,omitempty"`
}

// Network returns the answers' network choices as inject's --keep-ip and
// --ip values.
func (a Answers) Network() (keepIP string, ips []string) {
	if len(a.Adapters) > 0 {
		return "off", netSpecs(a.Adapters)
	}
	return a.KeepIP, nil
}

// Validate checks the fields that do not depend on a guest or driver set;
// the MTU's driver-set range is checked again when planning.
func (a Answers) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrAnswers}, args...)...)
	}
	switch {
	case a.Version != AnswersVersion:
		return bad("version %d, want %d", a.Version, AnswersVersion)
	case strings.TrimSpace(a.Drivers) == "":
		return bad("drivers: the driver source path is required")
	case !a.Set.Valid():
		return bad("set %q: want auto, virtio-win, oracle-vm-pv, xen-pv or inf", a.Set)
	case a.InPlace && a.Output != "":
		return bad("in_place and output are mutually exclusive")
	case !a.InPlace && a.Output == "":
		return bad("one of in_place or output is required")
	case a.InPlace && a.Format != "":
		return bad("format applies only to a new output image")
	case a.Format != "" && !validFormat(a.Format):
		return bad("format %q: want one of %s", a.Format, strings.Join(Formats, ", "))
	case a.MTU != 0 && (a.MTU < minMTU || a.MTU > netkvmJumboMax-ethernetHeader):
		return bad("mtu %d: want 0 (keep) or %d-%d", a.MTU, minMTU, netkvmJumboMax-ethernetHeader)
	case a.WriteCache != "" && !a.WriteCache.Valid():
		return bad("write_cache %q: want on, off or keep", a.WriteCache)
	case a.KeepIP != "" && a.KeepIP != "auto" && a.KeepIP != "off":
		return bad("keep_ip %q: want auto or off", a.KeepIP)
	case len(a.Adapters) > 0 && a.KeepIP == "auto":
		return bad("keep_ip auto and adapters exclude each other: adapters name the settings to carry")
	}
	for _, c := range a.Adapters {
		if strings.TrimSpace(c.Connection) == "" {
			return bad("adapters: every adapter needs its connection name")
		}
		if !c.Carry {
			continue
		}
		if _, err := c.Specs(); err != nil {
			return bad("adapters: %v", err)
		}
	}
	return nil
}

// OutputFor expands {dir} and {name} in Output for the input image.
func (a Answers) OutputFor(image string) string {
	if a.Output == "" {
		return ""
	}
	base := filepath.Base(image)
	name := strings.TrimSuffix(base, filepath.Ext(base))
	return strings.NewReplacer("{dir}", filepath.Dir(image), "{name}", name).Replace(a.Output)
}

func errAnswersTooLarge() error {
	return fmt.Errorf("%w: larger than %d bytes", ErrAnswers, maxAnswersSize)
}

// ParseAnswers decodes and validates an answer file; unknown fields are
// errors, so a typo never silently falls back to a default.
func ParseAnswers(data []byte) (Answers, error) {
	var a Answers
	if len(data) > maxAnswersSize {
		return a, errAnswersTooLarge()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Answers{}, fmt.Errorf("%w: %w", ErrAnswers, err)
	}
	if dec.More() {
		return Answers{}, fmt.Errorf("%w: data after the JSON object", ErrAnswers)
	}
	if len(a.Adapters) == 0 {
		a.Adapters = nil // "adapters": [] says nothing more than no adapters
	}
	if err := a.Validate(); err != nil {
		return Answers{}, err
	}
	return a, nil
}

// LoadAnswers reads and validates the answer file at path.
func LoadAnswers(path string) (Answers, error) {
	// A FIFO or a device is refused, not waited on.
	data, err := hostfile.ReadFile(path, maxAnswersSize)
	if errors.Is(err, hostfile.ErrTooLarge) {
		return Answers{}, fmt.Errorf("answer file %s: %w", path, errAnswersTooLarge())
	}
	if err != nil {
		return Answers{}, fmt.Errorf("answer file: %w", err)
	}
	a, err := ParseAnswers(data)
	if err != nil {
		return Answers{}, fmt.Errorf("answer file %s: %w", path, err)
	}
	return a, nil
}

// Marshal encodes a valid answer file as indented JSON.
func (a Answers) Marshal() ([]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("answer file: %w", err)
	}
	return append(b, '\n'), nil
}

// SaveAnswers writes a to path through a temporary file and a rename, so a
// crash never leaves half an answer file.
func SaveAnswers(path string, a Answers) error {
	b, err := a.Marshal()
	if err != nil {
		return fmt.Errorf("answer file %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".answers-*.json")
	if err != nil {
		return fmt.Errorf("answer file %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("answer file %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("answer file %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("answer file %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("answer file %s: %w", path, err)
	}
	return nil
}
