package matrix

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/pvinject/pvinject/assets"
	"github.com/pvinject/pvinject/core/guest"
)

// Note is a message with the document section it comes from.
type Note struct {
	Message string `json:"message"`
	Remedy  string `json:"remedy,omitempty"`
	Source  string `json:"source"`
}

// Row is one supported (or explicitly unsupported) Windows and architecture.
type Row struct {
	OS       string     `json:"os"`   // guest OS id: winxp ... win11
	Arch     guest.Arch `json:"arch"` // x86, amd64, arm64
	Label    string     `json:"label,omitempty"`
	Dir      string     `json:"dir,omitempty"`    // driver directory (virtio-win ISO)
	Status   string     `json:"status"`           // supported or unsupported
	MinSP    int        `json:"min_sp,omitempty"` // service pack the row requires
	MinBuild int        `json:"min_build,omitempty"`
	// Signed is true when the document says the drivers are signed for this
	// row, false when it says they are not, absent when it says nothing.
	Signed   *bool  `json:"signed,omitempty"`
	Note     string `json:"note,omitempty"`
	Warnings []Note `json:"warnings,omitempty"`
	Source   string `json:"source"`
}

// Upgrade is a rule for a guest that already has an older set installed.
type Upgrade struct {
	FromSet string     `json:"from_set"`
	Arch    guest.Arch `json:"arch,omitempty"` // "" for every arch
	Message string     `json:"message"`
	Source  string     `json:"source"`
}

// Issue is a known problem on some Windows or architectures.
type Issue struct {
	OS      []string   `json:"os,omitempty"`   // empty: every OS
	Arch    guest.Arch `json:"arch,omitempty"` // "": every arch
	Message string     `json:"message"`
	Source  string     `json:"source"`
}

// Conflict is a driver family already installed that must go first.
type Conflict struct {
	Family  string `json:"family"`
	Message string `json:"message"`
	Source  string `json:"source"`
}

// Hypervisor is one hypervisor release and whether the set supports it.
type Hypervisor struct {
	Name      string `json:"name"`
	Supported bool   `json:"supported"`
	Source    string `json:"source"`
}

// Limit is one configuration maximum.
type Limit struct {
	Item   string `json:"item"`
	Max    string `json:"max"`
	Source string `json:"source"`
}

// Set is one driver set's matrix file.
type Set struct {
	ID              string       `json:"id"`
	Name            string       `json:"name"`
	Family          string       `json:"family"` // virtio, xen
	Document        string       `json:"document"`
	Hypervisors     []Hypervisor `json:"hypervisors,omitempty"`
	Limits          []Limit      `json:"limits,omitempty"`
	Unlisted        Note         `json:"unlisted"`
	Unsigned        *Note        `json:"unsigned,omitempty"`
	UnsignedUnknown *Note        `json:"unsigned_unknown,omitempty"`
	DevicePolicy    Note         `json:"device_policy"`
	Upgrades        []Upgrade    `json:"upgrades,omitempty"`
	KnownIssues     []Issue      `json:"known_issues,omitempty"`
	Conflicts       []Conflict   `json:"conflicts,omitempty"`
	Notes           []Note       `json:"notes,omitempty"`
	Rows            []Row        `json:"rows"`
}

// Row statuses.
const (
	StatusSupported   = "supported"
	StatusUnsupported = "unsupported"
)

// osLabels names every OS id in words, for reasons a person reads.
var osLabels = map[string]string{
	"winxp": "Windows XP", "win2k3": "Windows Server 2003", "win2k3r2": "Windows Server 2003 R2",
	"winvista": "Windows Vista", "win2k8": "Windows Server 2008", "win7": "Windows 7",
	"win2k8r2": "Windows Server 2008 R2", "win8": "Windows 8", "win2k12": "Windows Server 2012",
	"win8.1": "Windows 8.1", "win2k12r2": "Windows Server 2012 R2", "win10": "Windows 10",
	"win2k16": "Windows Server 2016", "win2k19": "Windows Server 2019", "win2k22": "Windows Server 2022",
	"win2k25": "Windows Server 2025", "win11": "Windows 11",
}

// OSLabel returns the OS id in words ("win2k8r2" -> "Windows Server 2008 R2").
func OSLabel(id string) string {
	if l, ok := osLabels[id]; ok {
		return l
	}
	return "this Windows"
}

// ErrInvalid marks a matrix file that breaks the schema.
var ErrInvalid = errors.New("matrix: invalid driver-set file")

const maxSetFile = 1 << 20

// Load reads every *.json driver set at the root of fsys, sorted by id.
func Load(fsys fs.FS) ([]Set, error) {
	names, err := fs.Glob(fsys, "*.json")
	if err != nil {
		return nil, fmt.Errorf("matrix: listing sets: %w", err)
	}
	var sets []Set
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("matrix: reading %s: %w", n, err)
		}
		if len(b) > maxSetFile {
			return nil, fmt.Errorf("matrix: %s is %d bytes: %w", n, len(b), ErrInvalid)
		}
		var s Set
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("matrix: %s: %v: %w", n, err, ErrInvalid)
		}
		if err := s.validate(strings.TrimSuffix(path.Base(n), ".json")); err != nil {
			return nil, fmt.Errorf("matrix: %s: %w", n, err)
		}
		sets = append(sets, s)
	}
	sort.Slice(sets, func(i, j int) bool { return sets[i].ID < sets[j].ID })
	return sets, nil
}

// Builtin returns the driver sets shipped in assets/matrix.
func Builtin() ([]Set, error) { return Load(assets.Matrix()) }

func (s Set) validate(file string) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf(format+": %w", append(a, ErrInvalid)...)
	}
	if s.ID != file {
		return bad("id %q does not match the file name", s.ID)
	}
	if s.Name == "" || s.Document == "" || s.Unlisted.Source == "" || s.DevicePolicy.Source == "" || len(s.Rows) == 0 {
		return bad("name, document, unlisted, device_policy and rows are required")
	}
	seen := map[string]bool{}
	for i, r := range s.Rows {
		if _, ok := osLabels[r.OS]; !ok {
			return bad("row %d: unknown os %q", i, r.OS)
		}
		if r.Arch != guest.ArchX86 && r.Arch != guest.ArchAMD64 && r.Arch != guest.ArchARM64 {
			return bad("row %d: unknown arch %q", i, r.Arch)
		}
		if r.Status != StatusSupported && r.Status != StatusUnsupported {
			return bad("row %d: status %q", i, r.Status)
		}
		if r.Source == "" {
			return bad("row %d (%s %s) cites no source", i, r.OS, r.Arch)
		}
		k := r.OS + "/" + string(r.Arch)
		if seen[k] {
			return bad("row %d: %s listed twice", i, k)
		}
		seen[k] = true
	}
	return nil
}
