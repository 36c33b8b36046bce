package inject

import (
	"encoding/hex"
	"fmt"
	"log/slog"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/matrix"
	"github.com/pvinject/pvinject/core/safety"
)

// Request mirrors the flags of `pvinject inject`.
type Request struct {
	Image   string `json:"image"`
	Drivers string `json:"drivers"` // --drivers: folder, ISO or single INF
	// Set is --set: auto, virtio-win, oracle-vm-pv, xen-pv or inf.
	Set string `json:"set"`
	// InPlace (--in-place) and Output (--output PATH) are exclusive; one is required.
	InPlace bool   `json:"in_place"`
	Output  string `json:"output,omitempty"`
	// Format is --format for --output (qemu-img names); "" takes it from Output's extension.
	Format string `json:"format,omitempty"`
	// MTU is --mtu; 0 leaves the NIC's default.
	MTU int `json:"mtu,omitempty"`
	// WriteCache is --write-cache: on, off, keep, or "" for the driver set's default.
	WriteCache string `json:"write_cache,omitempty"`
	// AllowUnsigned is --allow-unsigned.
	AllowUnsigned bool `json:"allow_unsigned"`
	// AllowUnsupported overrides an "unsupported" matrix verdict
	// (the wizard's explicit override); blockers from the disk are never
	// overridable.
	AllowUnsupported bool `json:"allow_unsupported"`
	// KeepIP is --keep-ip: auto ("" too) carries the guest's static IP
	// settings to the new adapters at first boot, off does not.
	KeepIP string `json:"keep_ip,omitempty"`
	// IPs are --ip values: MAC_OR_NAME:ADDR/LEN,GATEWAY,DNS... (netid.go).
	IPs []string `json:"ips,omitempty"`
	// AllowBackingOutside is --allow-backing-outside: parent (backing)
	// images may lie outside the image's folder (core/image.ResolveParentIn).
	AllowBackingOutside bool `json:"allow_backing_outside,omitempty"`
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger `json:"-"`
	// Opener opens the image's host files for planning (tests count bytes
	// through it); nil is the host filesystem.
	Opener disk.Opener `json:"-"`
	// Source is the driver source at Drivers, already open, so a run that
	// plans several times reads it once; nil opens Drivers for this plan.
	Source *Source `json:"-"`
}

// Plan is everything an injection will do, computed without writing. It is
// an inert value: the wizard shows it, --dry-run prints it, Apply runs it.
type Plan struct {
	Version int     `json:"version"` // plan format version
	Request Request `json:"request"`
	// Target is the file that will be written: Request.Image in place,
	// Request.Output otherwise.
	Target       string `json:"target"`
	TargetFormat string `json:"target_format"`
	SourceFormat string `json:"source_format"`

	Partition   PartitionRef     `json:"partition"`
	Guest       guest.Windows    `json:"guest"`
	DriverSet   DriverSet        `json:"driver_set"`
	Verdicts    []matrix.Verdict `json:"verdicts"`
	Verdict     *matrix.Verdict  `json:"verdict,omitempty"` // the chosen set's
	Packages    []PackagePlan    `json:"packages"`
	Rejected    []Rejected       `json:"rejected,omitempty"`
	Blockers    []safety.Finding `json:"blockers"`
	Warnings    []safety.Finding `json:"warnings"`
	Files       []FileOp         `json:"files"`
	Registry    []RegOp          `json:"registry"`
	FirstBoot   firstboot.Config `json:"first_boot"`
	Network     *Network         `json:"network,omitempty"` // static IP settings carried over
	Options     Options          `json:"options"`
	HostAdvice  []string         `json:"host_advice"`
	OldStacks   []OldStack       `json:"old_stacks,omitempty"`
	GuestReport string           `json:"guest_report"` // guest path of the copy of the report

	// source is Request.Source, kept so Apply reads the driver files from
	// the cache the plan filled instead of the folder or ISO again.
	source *Source
	// hiveLogs are the transaction logs the user supplied for the target
	// (target.Options.HiveLogs): Apply replays them as planning did.
	hiveLogs map[string][]byte
}

// PlanVersion is the current Plan format.
const PlanVersion = 1

// PartitionRef names the partition holding the Windows that is injected.
type PartitionRef struct {
	Index int   `json:"index"`
	Start int64 `json:"start"`
	Size  int64 `json:"size"`
}

// DriverSet describes the driver source.
type DriverSet struct {
	Path     string `json:"path"`
	Kind     string `json:"kind"`      // drivers.Kind
	MatrixID string `json:"matrix_id"` // matrix set evaluated, "" when none applies
	Family   string `json:"family"`    // virtio or xen
}

// Options are the validated choices applied at first boot.
type Options struct {
	MTU               int    `json:"mtu,omitempty"`
	JumboPacket       int    `json:"jumbo_packet,omitempty"` // netkvm *JumboPacket = MTU + 14
	WriteCache        string `json:"write_cache"`
	WriteCacheDefault bool   `json:"write_cache_default"` // taken from the driver set's default
	AllowUnsigned     bool   `json:"allow_unsigned"`
	AllowUnsupported  bool   `json:"allow_unsupported"`
}

// PackagePlan is one chosen driver package.
type PackagePlan struct {
	Name         string   `json:"name"`
	INF          string   `json:"inf"`
	SourceDir    string   `json:"source_dir"` // slash path in the driver source
	StageDir     string   `json:"stage_dir"`  // guest path
	Reason       string   `json:"reason"`
	BootCritical bool     `json:"boot_critical"`
	Class        string   `json:"class"`
	ClassGUID    string   `json:"class_guid"`
	DriverVer    string   `json:"driver_ver"`
	Signed       bool     `json:"signed"`
	Services     []string `json:"services,omitempty"`
}

// Rejected is a package not chosen and why.
type Rejected struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// FileOp is one file written into the guest volume.
type FileOp struct {
	Path      string `json:"path"` // guest path, backslashes, from the volume root
	Size      int64  `json:"size"`
	SHA256    string `json:"sha256"`
	Source    string `json:"source"` // slash path in the driver source, or "generated:<what>"
	Reason    string `json:"reason"`
	Existed   bool   `json:"existed"`
	OldSHA256 string `json:"old_sha256,omitempty"`
	// Content holds generated files (the first-boot runner, the report);
	// driver files are re-read from the source and checked against SHA256.
	Content []byte `json:"content,omitempty"`
}

// Registry operation kinds.
const (
	OpSet         = "set"
	OpDeleteValue = "delete-value"
	OpDeleteKey   = "delete-key"
	OpCreateKey   = "create-key"
)

// RegOp is one registry change.
type RegOp struct {
	Hive   string    `json:"hive"` // SYSTEM or SOFTWARE
	Key    string    `json:"key"`  // backslash path from the hive root
	Name   string    `json:"name"` // value name; "" is the default value
	Op     string    `json:"op"`
	Old    *RegValue `json:"old,omitempty"` // nil: did not exist
	New    *RegValue `json:"new,omitempty"`
	Reason string    `json:"reason"` // why, citing the source
}

// RegValue is a registry value as planned and reported.
type RegValue struct {
	Type hive.Type `json:"type"`
	Data []byte    `json:"data"`
	Text string    `json:"text"` // for people
}

func regValue(v hive.Value) *RegValue {
	return &RegValue{Type: v.Type, Data: append([]byte(nil), v.Data...), Text: v.Display()}
}

// Value converts back to a hive value.
func (r *RegValue) Value() hive.Value { return hive.Value{Type: r.Type, Data: r.Data} }

// OldStack is a paravirtual driver stack the plan neutralizes.
type OldStack struct {
	Family      string   `json:"family"`
	Services    []string `json:"services"`
	Uninstaller string   `json:"uninstaller,omitempty"`
	// Cleanup are further first-boot commands, run after the uninstaller.
	Cleanup []string `json:"cleanup,omitempty"`
	Reason  string   `json:"reason"`
}

// Report returns the report of the plan before it is applied: its Text
// is what --dry-run prints, its JSON what --dry-run --json prints.
func (p *Plan) Report() *Report { return newReport(p) }

// HasBlockers reports whether Apply would refuse the plan.
func (p *Plan) HasBlockers() bool { return len(p.Blockers) > 0 }

// Refusal turns the first blocker into the error Apply returns.
func (p *Plan) Refusal() *safety.Refusal {
	if len(p.Blockers) == 0 {
		return nil
	}
	f := p.Blockers[0]
	r := f.Refusal(p.Request.Image)
	if len(p.Blockers) > 1 {
		r.Reason = fmt.Sprintf("%s (and %d more blocker(s); see the plan)", r.Reason, len(p.Blockers)-1)
	}
	return r
}

func (op RegOp) String() string {
	old, nw := "(none)", "(deleted)"
	if op.Old != nil {
		old = op.Old.Text
	}
	if op.New != nil {
		nw = op.New.Text
	}
	if op.Op == OpCreateKey {
		return fmt.Sprintf("%s\\%s: create key", op.Hive, op.Key)
	}
	if op.Op == OpDeleteKey {
		return fmt.Sprintf("%s\\%s: delete key", op.Hive, op.Key)
	}
	return fmt.Sprintf("%s\\%s [%s]: %s -> %s", op.Hive, op.Key, op.Name, old, nw)
}

func hexSum(b [32]byte) string { return hex.EncodeToString(b[:]) }
