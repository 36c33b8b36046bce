package wizardtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pvinject/pvinject/wizard"
)

// FakeEngine is an in-memory wizard.Engine for tests and the UI smoke program: a
// Windows 10 x64 guest in a qcow2 image, and plans for every driver set. It
// never touches the file system except to create DemoDir. Tests change its
// exported fields before use (not while a call runs).
type FakeEngine struct {
	Image     wizard.ImageSummary
	ImageErr  error
	Guests    []wizard.GuestSummary
	DetectErr error
	Verdicts  []wizard.Verdict
	Findings  []wizard.Finding // from Compatibility
	CompatErr error
	// Unsigned makes every plan carry unsigned packages that need consent.
	Unsigned bool
	PlanErr  error
	// StepDelay is slept between apply actions; Gate, when not nil, blocks
	// Apply after its first action until closed or cancelled.
	StepDelay   time.Duration
	Gate        chan struct{}
	ApplyErr    error
	RollbackErr error
	// NotBootable, when set, makes Apply's boot check say Windows will not
	// boot, with these reasons.
	NotBootable []string
	DemoDir     string // where DemoImage pretends the demo image is

	mu      sync.Mutex
	opened  string
	calls   []string
	lastID  string
	planSeq int
	applied map[string]bool
}

var (
	_ wizard.Engine       = (*FakeEngine)(nil)
	_ wizard.DemoProvider = (*FakeEngine)(nil)
)

// NewFakeEngine returns the happy-path fake: one Windows 10 22H2 x64 guest
// that every driver set supports, Oracle VM PV with a warning.
func NewFakeEngine() *FakeEngine {
	return &FakeEngine{
		Image: wizard.ImageSummary{
			Format: "qcow2", VirtualSize: 64 << 30, FileSize: 9_812_000_768,
			Partitions: []wizard.PartitionSummary{
				{Index: 1, Scheme: "mbr", Type: "NTFS (0x07)", Start: 1 << 20, Size: 549 << 20, Filesystem: "ntfs", Label: "System Reserved"},
				{Index: 2, Scheme: "mbr", Type: "NTFS (0x07)", Start: 550 << 20, Size: (64 << 30) - (551 << 20), Filesystem: "ntfs"},
			},
		},
		Guests: []wizard.GuestSummary{FakeWin10()},
		Verdicts: []wizard.Verdict{
			{DriverSet: "virtio-win", Family: string(wizard.SetVirtioWin), Title: "virtio-win (KVM)", Verdict: wizard.Supported,
				Reasons: []wizard.Reason{{Text: "Windows 10 amd64 has drivers in the w10/amd64 folders", Source: "virtio-win ISO layout"}}},
			{DriverSet: "oracle-vm-pv-3.2.3", Family: string(wizard.SetOracle), Title: "Oracle VM PV Drivers 3.2.3", Verdict: wizard.SupportedWarnings,
				Reasons: []wizard.Reason{{Text: "Windows 10 64-bit is supported; write caching will be turned off", Source: "Oracle VM PV guide, table 1.1"}}},
			{DriverSet: "xen-pv", Family: string(wizard.SetXen), Title: "Xen PV drivers (XCP-ng/Citrix)", Verdict: wizard.Supported,
				Reasons: []wizard.Reason{{Text: "Windows 10 x64 is supported by the 9.x drivers", Source: "XCP-ng Windows PV tools"}}},
		},
		Findings: []wizard.Finding{{Severity: wizard.Warning, Code: "guest.fast-startup", Message: "Fast Startup is on",
			Remedy: "pvinject turns it off at first boot; shut the VM down with shutdown /s /t 0 next time", Source: "seed guide 3.2"}},
		DemoDir: filepath.Join(os.TempDir(), "pvinject-demo"),
	}
}

// FakeWin10 is the fake's Windows 10 guest.
func FakeWin10() wizard.GuestSummary {
	return wizard.GuestSummary{
		Partition: 2, SystemRoot: `C:\Windows`, ProductName: "Windows 10 Pro", Major: 10, Minor: 0, Build: 19045, UBR: 3803,
		Edition: "Professional", InstallationType: "Client", Arch: "amd64", ControlSet: "ControlSet001",
		ControlSets: []string{"ControlSet001", "ControlSet002"},
		PVDrivers:   []wizard.InstalledPV{{Name: "vmci", Family: "vmware", Version: "9.8.18.0"}},
		Network: []wizard.NetAdapter{{Connection: "Ethernet0", Description: "vmxnet3 Ethernet Adapter", Static: true,
			IPv4: []string{"192.168.10.20/24"}, Gateway: "192.168.10.1", DNS: []string{"192.168.10.2", "192.168.10.3"}}},
	}
}

func (f *FakeEngine) record(format string, args ...any) {
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// Calls lists the engine calls made so far, e.g. "Apply plan-1 in-place".
func (f *FakeEngine) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// Applied reports whether an Apply to image completed and was not rolled back.
func (f *FakeEngine) Applied(image string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied[image]
}

// DemoImage returns a path under DemoDir; the fake never reads it.
func (f *FakeEngine) DemoImage(context.Context) (string, error) {
	if err := os.MkdirAll(f.DemoDir, 0o755); err != nil {
		return "", fmt.Errorf("demo image: %w", err)
	}
	return filepath.Join(f.DemoDir, "demo-win10.qcow2"), nil
}

// OpenImage implements wizard.Engine.
func (f *FakeEngine) OpenImage(ctx context.Context, path string) (wizard.ImageSummary, error) {
	f.record("OpenImage %s", path)
	if err := ctx.Err(); err != nil {
		return wizard.ImageSummary{}, err
	}
	if f.ImageErr != nil {
		return wizard.ImageSummary{}, f.ImageErr
	}
	f.mu.Lock()
	f.opened = path
	f.mu.Unlock()
	img := f.Image
	img.Path = path
	return img, nil
}

// Detect implements wizard.Engine.
func (f *FakeEngine) Detect(context.Context) ([]wizard.GuestSummary, error) {
	f.record("Detect")
	return f.Guests, f.DetectErr
}

// Compatibility implements wizard.Engine.
func (f *FakeEngine) Compatibility(_ context.Context, guest int) ([]wizard.Verdict, []wizard.Finding, error) {
	f.record("Compatibility %d", guest)
	if guest < 0 || guest >= len(f.Guests) {
		return nil, nil, fmt.Errorf("fake: no guest %d", guest)
	}
	return f.Verdicts, f.Findings, f.CompatErr
}

// PlanDrivers implements wizard.Engine.
func (f *FakeEngine) PlanDrivers(_ context.Context, req wizard.DriverRequest) (wizard.PlanSummary, error) {
	f.record("PlanDrivers %s %s unsigned=%v", req.Set, req.Path, req.AllowUnsigned)
	if f.PlanErr != nil {
		return wizard.PlanSummary{}, f.PlanErr
	}
	p := fakePlan(req.Set)
	if f.Unsigned {
		p.NeedsUnsignedConsent = true
		p.Unsigned = []string{p.Packages[len(p.Packages)-1].Name}
		p.Packages[len(p.Packages)-1].Signed = false
		if req.AllowUnsigned {
			p.Findings = append(p.Findings, wizard.Finding{Severity: wizard.Warning, Code: "drivers.unsigned",
				Message: "64-bit Windows will not load unsigned drivers", Remedy: "enable test signing (bcdedit /set testsigning on) in the guest", Source: "seed guide 4.1"})
		}
	}
	f.mu.Lock()
	f.planSeq++
	p.ID = fmt.Sprintf("plan-%d", f.planSeq)
	f.lastID = p.ID
	f.mu.Unlock()
	return p, nil
}

// Apply implements Engine: it walks the plan's actions with progress, honours
// Gate and cancellation, and refuses a plan ID it did not hand out last.
func (f *FakeEngine) Apply(ctx context.Context, req wizard.ApplyRequest, progress func(float64, string)) (wizard.Report, error) {
	f.mu.Lock()
	source := f.opened
	f.mu.Unlock()
	target := req.Output
	if req.InPlace {
		target = source
	}
	mode := "output=" + req.Output
	if req.InPlace {
		mode = "in-place"
	}
	f.record("Apply %s %s mtu=%d cache=%s", req.PlanID, mode, req.MTU, req.WriteCache)
	f.mu.Lock()
	last := f.lastID
	f.mu.Unlock()
	if req.PlanID != last {
		return wizard.Report{}, fmt.Errorf("fake: plan %q is not the last plan (%q)", req.PlanID, last)
	}
	actions := []string{"Checking the image", "Copying the image (4.1 GiB of 9.8 GiB)", "Copying driver files",
		"Editing the SYSTEM hive", "Installing the first-boot runner", "Verifying every change", "Writing the report"}
	if req.InPlace {
		actions = append(actions[:1], actions[2:]...)
	}
	for i, a := range actions {
		progress(float64(i)/float64(len(actions)), a)
		if i == 0 && f.Gate != nil {
			select {
			case <-f.Gate:
			case <-ctx.Done():
				f.record("Apply cancelled")
				return wizard.Report{}, ctx.Err()
			}
		}
		select {
		case <-time.After(f.StepDelay):
		case <-ctx.Done():
			f.record("Apply cancelled")
			return wizard.Report{}, ctx.Err()
		}
	}
	if f.ApplyErr != nil {
		return wizard.Report{}, f.ApplyErr
	}
	progress(1, "Done")
	p := fakePlan(req.Drivers.Set)
	f.mu.Lock()
	if f.applied == nil {
		f.applied = map[string]bool{}
	}
	f.applied[target] = true
	f.mu.Unlock()
	rep := wizard.Report{
		Image: target, Source: source, InPlace: req.InPlace, Files: p.Files, Registry: p.Registry,
		Verify: wizard.Verification{OK: true, Checked: len(p.Files) + len(p.Registry)}, FirstBoot: append(p.FirstBoot, fakeNetSteps(req)...),
		Rollback:   "press Roll back here, or run: pvinject rollback " + target,
		HostAdvice: []string{"Attach the disk as virtio-blk or virtio-scsi and the NIC as virtio-net.", "Use cache=none for the disk on the host."},
		ReportPath: target + ".pvinject-report.txt", JSONPath: target + ".pvinject-report.json",
		Boot: wizard.BootVerdict{Checked: true, OK: true, Summary: []string{"Windows will boot with its disk on virtio-blk (VirtIO block)."}},
	}
	if len(f.NotBootable) > 0 {
		rep.Boot = wizard.BootVerdict{Checked: true, Summary: f.NotBootable}
	}
	return rep, nil
}

// Rollback implements wizard.Engine.
func (f *FakeEngine) Rollback(_ context.Context, image string) error {
	f.record("Rollback %s", image)
	if f.RollbackErr != nil {
		return f.RollbackErr
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.applied[image] {
		return fmt.Errorf("fake: %s was not applied", image)
	}
	delete(f.applied, image)
	return nil
}

// Accept implements wizard.Engine: the change to image is kept.
func (f *FakeEngine) Accept(_ context.Context, image string) error {
	f.record("Accept %s", image)
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.applied[image] {
		return fmt.Errorf("fake: %s was not applied", image)
	}
	delete(f.applied, image)
	return nil
}

// fakeNetSteps is what the FakeEngine's report says of the carried settings.
func fakeNetSteps(req wizard.ApplyRequest) []string {
	var out []string
	for _, s := range req.IPs {
		out = append(out, "Static IP settings "+s+" are applied to the new network adapter with netsh; the old adapter's settings are removed first. To undo: netsh interface ip set address name=... source=dhcp.")
	}
	return out
}
