// Package target is the disk image a run works on, read once: the open
// image (read-only), its partition table, every NTFS volume with its safety
// checks, the Windows installations found and which one was chosen, and the
// hive bytes already read.
//
// One Target serves a whole run: `pvinject inspect` renders it, the planner
// (core/inject.BuildPlan) consumes it, and the wizard keeps it from step 1 to
// Apply, so the Windows installation chosen on the Guest step is the one the
// plan describes and Apply writes, and the image is not read again for each
// step (issue 11). A Target never writes: every host file is opened through
// a read-only opener whose files refuse writes (ErrWriteAttempt).
//
// A Target is immutable once Open returns, except for the hive cache, which
// only grows and is guarded by a lock; Select returns a new Target that
// shares the open image. Close the Target Open returned (not the ones Select
// derived) when done; after an in-place write its cached bytes are stale, so
// open a new one.
package target

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/partition"
	"github.com/pvinject/pvinject/core/safety"
)

// ErrNoSuchInstall is wrapped when Select names an install that does not exist.
var ErrNoSuchInstall = errors.New("no such Windows installation")

// Options control Open. The zero value reads the host files with the
// clean-hive-in-place strategy of guest.Detect.
type Options struct {
	// Opener opens the host files; nil means disk.OSOpener. Whatever it is,
	// Open only ever asks it for read-only opens.
	Opener disk.Opener
	// OpenHive opens registry hives during detection; nil means core/hive
	// read-only with clean hives read in place (see guest.Detect).
	OpenHive guest.HiveOpener
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// HiveLogs are registry transaction logs the user supplied because they
	// are not beside their hive (copied elsewhere, or the hive restored
	// from a backup without them), by file name: "SYSTEM.LOG1". Every
	// registry folder of the image shows them as if they were there, when
	// it has no file of that name; a log that does not belong to its hive
	// is refused when the hive is opened (hive.dirty_bad_logs).
	HiveLogs map[string][]byte
	// AllowParentOutside lets a differencing image's parent (a qcow2
	// backing file, a VHD/VMDK parent) lie outside the image's folder: the
	// user's explicit consent to what qemu-img documents as a risk for
	// untrusted images (see docs/image-locking.md).
	AllowParentOutside bool
}

// Volume is one NTFS partition of the image.
type Volume struct {
	Partition partition.Partition
	// FS is the open volume with its hive cache; nil when Err is set.
	FS *Memo
	// Checks are the NTFS safety findings of the volume (core/ntfs.Check).
	Checks []safety.Finding
	// Err is why the volume could not be opened, or listed while looking
	// for Windows; the other fields are then partial.
	Err error
}

// Install is one Windows installation and the partition holding it.
type Install struct {
	Partition int // partition.Partition.Index
	Windows   guest.Windows
}

// Target is an opened image and what was found on it.
type Target struct {
	// Path is the image file as given to Open.
	Path string
	// Image is the open image, read-only.
	Image *image.Image
	// Opener is the read-only opener the image was opened through, for
	// callers that must look at a host file of the chain again.
	Opener disk.Opener
	// Table is the partition table; nil when the disk has neither a table
	// nor a filesystem Open knows (NoTable).
	Table *partition.Table
	// Volumes are the NTFS partitions, in table order.
	Volumes []*Volume
	// Installs lists every Windows found, volume by volume.
	Installs []Install
	// HiveLogs are the supplied transaction logs (Options.HiveLogs).
	HiveLogs map[string][]byte

	selected int
	shared   *shared
}

type shared struct {
	once sync.Once
	err  error
}

// Open opens the image at path read-only, reads its partition table, opens
// every NTFS partition and looks for Windows on it. It fails only when the
// image cannot be opened or its partition table read at all; an unreadable
// volume, no table, or no Windows are described in the Target. The first
// install found is selected.
func Open(ctx context.Context, path string, opts Options) (_ *Target, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	inner := opts.Opener
	if inner == nil {
		inner = disk.OSOpener{}
	}
	ro := readOnlyOpener{inner}
	im, err := image.Open(path, disk.Options{Opener: ro, AllowParentOutside: opts.AllowParentOutside})
	if err != nil {
		return nil, err
	}
	t := &Target{Path: path, Image: im, Opener: ro, selected: -1, shared: &shared{}, HiveLogs: opts.HiveLogs}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	table, err := partition.Read(im, im.Size())
	switch {
	case errors.Is(err, partition.ErrNoTable), im.Size() < 512:
		// Too small for a sector is no disk either (a text file, an empty image).
	case err != nil:
		return nil, fmt.Errorf("partition table: %w", err)
	default:
		t.Table = table
	}
	for _, p := range t.Partitions() {
		if p.Filesystem != partition.FSNTFS {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, ws := openVolume(im, p, opts.OpenHive, opts.HiveLogs, log)
		t.Volumes = append(t.Volumes, v)
		for _, w := range ws {
			t.Installs = append(t.Installs, Install{Partition: p.Index, Windows: w})
		}
	}
	if len(t.Installs) > 0 {
		t.selected = 0
	}
	return t, nil
}

// openVolume opens one NTFS partition read-only, checks it and detects the
// Windows installs on it. No Windows is not an error.
func openVolume(im disk.Image, p partition.Partition, open guest.HiveOpener, logs map[string][]byte, log *slog.Logger) (*Volume, []guest.Windows) {
	v := &Volume{Partition: p}
	view, err := partition.View(im, p)
	if err != nil {
		v.Err = err
		return v, nil
	}
	vol, err := ntfs.Open(view, view.Size(), ntfs.Options{Logger: log})
	if err != nil {
		log.Debug("target: NTFS partition unreadable", "partition", p.Index, "err", err)
		v.Err = err
		return v, nil
	}
	v.FS = &Memo{Volume: vol, files: map[string][]byte{}, logs: logs}
	v.Checks = ntfs.Check(vol)
	ws, err := guest.Detect(guest.FromNTFS(v.FS), open)
	if errors.Is(err, guest.ErrNoWindows) {
		return v, nil
	}
	if err != nil {
		log.Debug("target: listing the NTFS volume failed", "partition", p.Index, "err", err)
		v.Err = fmt.Errorf("looking for Windows: %w", err)
		return v, nil
	}
	return v, ws
}

// Partitions are the partitions of the table; none when NoTable.
func (t *Target) Partitions() []partition.Partition {
	if t.Table == nil {
		return nil
	}
	return t.Table.Partitions
}

// NoTable reports that the disk has no partition table and no filesystem
// Open recognises: blank, encrypted as a whole, or not a disk at all.
func (t *Target) NoTable() bool { return t.Table == nil }

// Selected is the index into Installs of the chosen install, -1 when none.
func (t *Target) Selected() int { return t.selected }

// Install returns the chosen install; ok is false when none was found.
func (t *Target) Install() (in Install, ok bool) {
	if t.selected < 0 {
		return Install{}, false
	}
	return t.Installs[t.selected], true
}

// Volume returns the NTFS volume of partition index, nil when there is none.
func (t *Target) Volume(index int) *Volume {
	for _, v := range t.Volumes {
		if v.Partition.Index == index {
			return v
		}
	}
	return nil
}

// Select returns the Target with install i chosen; it shares the open
// image and caches with t.
func (t *Target) Select(i int) (*Target, error) {
	if i < 0 || i >= len(t.Installs) {
		return nil, fmt.Errorf("%w: number %d chosen, %d found", ErrNoSuchInstall, i+1, len(t.Installs))
	}
	c := *t
	c.selected = i
	return &c, nil
}

// Close closes the volumes and the image, once whichever copy calls it. An
// error means some layer tried to write (ErrWriteAttempt), which must not
// pass silently.
func (t *Target) Close() error {
	t.shared.once.Do(func() {
		for _, v := range t.Volumes {
			if v.FS != nil {
				v.FS.Volume.Close()
			}
		}
		t.shared.err = t.Image.Close()
	})
	return t.shared.err
}

// Memo is an NTFS volume that keeps the bytes of every file read whole under
// a System32\config folder (hives and their logs), so planning does not read
// a 10-100 MiB hive from the image a second time, however many plans a run
// builds (BenchmarkInjectInPlace64G/real-win10-system-hive: 2x the hive
// size read while planning before, 1x after). Other reads go straight to
// the volume.
type Memo struct {
	*ntfs.Volume
	mu    sync.Mutex
	files map[string][]byte
	logs  map[string][]byte // supplied hive logs by upper-case file name
}

const configDir = `\system32\config\`

// supplied returns the supplied log that stands at p, when p is in a
// registry folder and the volume has no file there.
func (m *Memo) supplied(p string) ([]byte, bool) {
	k := memoKey(p)
	i := strings.LastIndex(k, `\`)
	if len(m.logs) == 0 || i < 0 || !strings.HasSuffix(k[:i+1], configDir) {
		return nil, false
	}
	b, ok := m.logs[strings.ToUpper(k[i+1:])]
	if !ok {
		return nil, false
	}
	if _, err := m.Volume.Stat(p); err == nil {
		return nil, false // the volume's own file wins
	}
	return b, true
}

// Stat describes a file of the volume, or a supplied hive log.
func (m *Memo) Stat(p string) (ntfs.FileInfo, error) {
	if b, ok := m.supplied(p); ok {
		k := memoKey(p)
		return ntfs.FileInfo{Name: strings.ToUpper(k[strings.LastIndex(k, `\`)+1:]), Size: int64(len(b))}, nil
	}
	return m.Volume.Stat(p)
}

// ReadDir lists a folder of the volume, with the supplied hive logs it
// lacks when it is a registry folder.
func (m *Memo) ReadDir(p string) ([]ntfs.FileInfo, error) {
	fis, err := m.Volume.ReadDir(p)
	if err != nil || len(m.logs) == 0 || !strings.HasSuffix(memoKey(p)+`\`, configDir) {
		return fis, err
	}
	have := map[string]bool{}
	for _, fi := range fis {
		have[strings.ToUpper(fi.Name)] = true
	}
	for name, b := range m.logs {
		if !have[name] {
			fis = append(fis, ntfs.FileInfo{Name: name, Size: int64(len(b))})
		}
	}
	return fis, nil
}

func memoKey(p string) string {
	return strings.ToLower(strings.Trim(strings.ReplaceAll(p, "/", `\`), `\`))
}

// ReadFile reads a file of the volume, from the cache when it is a hive or
// log read before. The returned bytes are shared: do not change them.
func (m *Memo) ReadFile(p string) ([]byte, error) {
	k := memoKey(p)
	m.mu.Lock()
	b, ok := m.files[k]
	m.mu.Unlock()
	if ok {
		return b, nil
	}
	if b, ok := m.supplied(p); ok {
		return b, nil
	}
	b, err := m.Volume.ReadFile(p)
	if err == nil && strings.Contains(k, `\system32\config\`) {
		m.mu.Lock()
		m.files[k] = b
		m.mu.Unlock()
	}
	return b, err
}
