package wizard

import "context"

// Engine is what the wizard needs from the core: wizard/engine implements it
// over the core, and wizard/wizardtest.FakeEngine in memory for tests.
//
// Contracts:
//   - An Engine holds at most one open image. OpenImage MUST close the
//     previous one; Detect, Compatibility and PlanDrivers work on the image
//     opened last and MUST NOT write to it.
//   - Only Apply and Rollback write. Apply MUST write nothing when the plan ID
//     in the request is not the last plan PlanDrivers returned for the same
//     request, and MUST leave the image as it was (or roll back its journal)
//     when ctx is cancelled or an error occurs.
//   - progress MAY be called from any goroutine, often; frac is in [0, 1].
//   - Methods are not called concurrently by the wizard, except that ctx of a
//     running Apply may be cancelled from another goroutine.
type Engine interface {
	// OpenImage opens path read-only and summarises it. Findings carry
	// warnings (parents of differencing disks) and blockers (missing parent,
	// image in use).
	OpenImage(ctx context.Context, path string) (ImageSummary, error)
	// Detect lists every Windows installation in the open image.
	Detect(ctx context.Context) ([]GuestSummary, error)
	// Compatibility returns the matrix verdict per driver set for guest (an
	// index into Detect's result) and the safety findings that stop or
	// qualify a write (hibernated NTFS, Fast Startup, restriction policy...).
	Compatibility(ctx context.Context, guest int) ([]Verdict, []Finding, error)
	// PlanDrivers reads the driver source and builds the inert plan.
	PlanDrivers(ctx context.Context, req DriverRequest) (PlanSummary, error)
	// Apply executes the plan named by req.PlanID, verifies it and reports.
	Apply(ctx context.Context, req ApplyRequest, progress func(frac float64, action string)) (Report, error)
	// Rollback restores imagePath (an image Apply wrote) to its bytes before Apply.
	Rollback(ctx context.Context, imagePath string) error
	// Accept keeps the changes Apply wrote to imagePath: its rollback
	// record (the journal beside it) is removed; the reports stay.
	Accept(ctx context.Context, imagePath string) error
}

// DemoProvider is an optional Engine extension: an Engine that can offer the
// bundled demo image implements it, and step 1 shows a "demo image" button.
type DemoProvider interface {
	// DemoImage returns the path of the demo image, building it on first use.
	DemoImage(ctx context.Context) (string, error)
}

// HiveLogSupplier is an optional Engine extension: an Engine that can take
// registry transaction logs (SYSTEM.LOG1, SYSTEM.LOG2, ...) from elsewhere
// when they are not beside their hive implements it, and step 2 offers to
// add them when a hive needs its logs.
type HiveLogSupplier interface {
	// AddHiveLogs reads the log files at paths and looks at the open image
	// again as if each stood beside its hive; Detect then describes the
	// guests with them. A log that does not belong to its hive is
	// reported by the hive's findings, not here.
	AddHiveLogs(ctx context.Context, paths []string) error
}

// DriverRequest is what the Drivers step asks the engine to plan.
type DriverRequest struct {
	Guest         int    `json:"guest"`
	Set           Set    `json:"set"`
	Path          string `json:"path"` // folder, ISO or installer
	AllowUnsigned bool   `json:"allow_unsigned,omitempty"`
}

// WriteCache is the disk write-cache choice.
type WriteCache string

// Write-cache choices, the values of `pvinject inject --write-cache`.
const (
	CacheOn   WriteCache = "on"
	CacheOff  WriteCache = "off"
	CacheKeep WriteCache = "keep"
)

// Valid reports whether c is one of on, off, keep.
func (c WriteCache) Valid() bool { return c == CacheOn || c == CacheOff || c == CacheKeep }

// ApplyRequest is everything Apply needs; it mirrors the inject flags.
type ApplyRequest struct {
	PlanID     string        `json:"plan_id"`
	Drivers    DriverRequest `json:"drivers"`
	InPlace    bool          `json:"in_place"`
	Output     string        `json:"output,omitempty"`
	Format     string        `json:"format,omitempty"` // format of Output
	MTU        int           `json:"mtu,omitempty"`    // 0: leave the guest's MTU alone
	WriteCache WriteCache    `json:"write_cache"`
	// KeepIP and IPs mirror --keep-ip and --ip: the wizard always sends
	// "off" and the adapters the user checked (network.go).
	KeepIP string   `json:"keep_ip,omitempty"`
	IPs    []string `json:"ips,omitempty"`
}
