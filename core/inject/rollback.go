package inject

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/imagelock"
	"github.com/pvinject/pvinject/core/journal"
	"github.com/pvinject/pvinject/core/ntfs"
	"github.com/pvinject/pvinject/core/partition"
)

// ChangedError: the image changed after pvinject wrote it, so a rollback
// would mix the old bytes with the newer ones; nothing was restored and the
// journal was kept. Lines says what changed, in the guest's terms where the
// changed bytes could be traced to a file.
type ChangedError struct {
	Image    string
	Lines    []string
	Finished bool
	Err      *journal.ChangedError
}

func (e *ChangedError) Error() string {
	var b strings.Builder
	if e.Finished {
		fmt.Fprintf(&b, "%s changed after the injection, so a rollback would mix old and new data: nothing was restored and the rollback journal was kept.\n", e.Image)
	} else {
		fmt.Fprintf(&b, "%s changed after pvinject's interrupted run, so a rollback would mix old and new data: nothing was restored and the rollback journal was kept.\n", e.Image)
	}
	b.WriteString("What changed:\n")
	for _, l := range e.Lines {
		b.WriteString("  - " + l + "\n")
	}
	b.WriteString("What you can do: keep the guest as it is and make the injection final, " +
		"or restore the image from a backup taken before the injection. " +
		"Restoring the old bytes anyway, over these changes, would damage the changed files.")
	return b.String()
}

func (e *ChangedError) Unwrap() error { return e.Err }

// ShellQuote quotes a path for a command line the user can paste.
func ShellQuote(s string) string { return shellQuote(s) }

// RollbackResult says what a rollback did.
type RollbackResult struct {
	// Untouched: the journal held no change, so nothing was restored.
	Untouched bool
	// Forced lists what had changed since and was overwritten anyway.
	Forced []string
}

// Rollback restores the image's original bytes from the journal kept
// beside it and removes the saved reports. It refuses (a *ChangedError or
// a *journal.DamagedError; nothing restored, journal kept) when the image
// changed since the injection or the journal fails its checks.
func Rollback(imagePath string) error {
	_, err := RollbackImage(imagePath, false, nil)
	return err
}

// RollbackImage is Rollback that, with force, restores even over changes:
// it first passes the list of changes to show, then restores.
//
// It holds the image's lock (core/imagelock), refuses an image in use, finds
// the journal under the image's canonical name, and never creates the image.
func RollbackImage(imagePath string, force bool, show func(lines []string)) (*RollbackResult, error) {
	jimg := imagelock.Name(imagePath)
	if _, err := os.Lstat(imagePath); !errors.Is(err, os.ErrNotExist) || !journal.Exists(jimg) {
		lk, err := lockImage(imagePath, lockRollback)
		if err != nil {
			return nil, err
		}
		defer lk.Release()
		if !journal.Exists(lk.Path) {
			return nil, noJournal(imagePath, lk, "roll back")
		}
		jimg = lk.Path
	}
	// else the image is gone but its journal is not: there is nothing to
	// lock, and the journal's own checks refuse without creating anything.
	res, err := journal.RollbackWith(jimg, journal.Options{})
	var ce *journal.ChangedError
	if errors.As(err, &ce) {
		lines := describeChanges(jimg, ce)
		if !force {
			return nil, &ChangedError{Image: imagePath, Lines: lines, Finished: ce.Finished, Err: ce}
		}
		if show != nil {
			show(lines)
		}
		res, err = journal.RollbackWith(jimg, journal.Options{Force: true})
		if err == nil {
			removeReports(imagePath, jimg)
			return &RollbackResult{Untouched: res.Untouched(), Forced: lines}, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("inject: rollback %s: %w", imagePath, err)
	}
	removeReports(imagePath, jimg)
	return &RollbackResult{Untouched: res.Untouched()}, nil
}

// removeReports removes the reports beside every name given (the name the
// user typed and the canonical one may differ).
func removeReports(names ...string) {
	for _, imagePath := range names {
		for _, s := range []string{ReportSuffix, ReportHTMLSuffix} {
			os.Remove(imagePath + s)
			os.Remove(imagePath + s + stagingSuffix)
		}
	}
}

// Accept makes an injection final: the journal (the rollback record) is
// removed, so the image can be injected again; the reports stay. It holds
// the image's lock.
func Accept(imagePath string) error {
	lk, err := lockImage(imagePath, lockAccept)
	if err != nil {
		return err
	}
	defer lk.Release()
	if !journal.Exists(lk.Path) {
		return noJournal(imagePath, lk, "accept")
	}
	return journal.Commit(lk.Path)
}

// Bounds on naming changes: a refusal must come quickly even on a large
// image, so past these the remaining changes are named by host offsets.
const (
	traceBudget = 512 << 20 // guest bytes read to map host bytes back
	traceTime   = 20 * time.Second
	maxLines    = 40
)

// describeChanges names each change: whole-file changes as they are;
// changed bytes through the guest disk to the NTFS file that holds them
// ("Windows\System32\config\SYSTEM changed"), or by host offsets where that
// is not possible.
//
// The journal works on host files under every image format, so it knows
// which host bytes changed but not what they are. The seal lists the guest
// ranges the run wrote; reading them again through a reader that notes
// which host bytes each read touches maps host bytes back to guest bytes
// for any format (each piece is read twice and only the second read is
// used, so the format's table reads, cached by then, do not count). Guest
// bytes then go to a partition and its NTFS clusters or MFT records.
func describeChanges(imagePath string, ce *journal.ChangedError) []string {
	var lines []string
	var data []journal.Change
	for _, c := range ce.Changes {
		if c.DataChange {
			data = append(data, c)
			continue
		}
		lines = append(lines, c.String())
	}
	if len(data) == 0 {
		return lines
	}
	named, rest := traceToGuest(imagePath, data, ce.Guest)
	lines = append(lines, named...)
	for _, c := range rest {
		if len(lines) >= maxLines {
			lines = append(lines, fmt.Sprintf("and more changed bytes (%d ranges in all)", len(data)))
			break
		}
		lines = append(lines, c.String())
	}
	return lines
}

// hostRead is one read of a host file, noted while tracing.
type hostRead struct {
	file   string
	off, n int64
}

type tracer struct {
	mu    sync.Mutex
	on    bool
	reads []hostRead
}

func (t *tracer) Open(path string, writable bool) (disk.Backing, error) {
	if writable {
		return nil, errors.New("inject: tracing reader opened for writing")
	}
	b, err := disk.OSOpener{}.Open(path, false)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	return &tracedBacking{Backing: b, t: t, abs: abs}, nil
}

func (t *tracer) Create(string) (disk.Backing, error) {
	return nil, errors.New("inject: tracing reader cannot create files")
}

type tracedBacking struct {
	disk.Backing
	t   *tracer
	abs string
}

func (b *tracedBacking) ReadAt(p []byte, off int64) (int, error) {
	b.t.mu.Lock()
	if b.t.on {
		b.t.reads = append(b.t.reads, hostRead{file: b.abs, off: off, n: int64(len(p))})
	}
	b.t.mu.Unlock()
	return b.Backing.ReadAt(p, off)
}

// traceToGuest maps changed host bytes to guest files; it returns the lines
// for what it could name and the changes it could not.
func traceToGuest(imagePath string, data []journal.Change, guest [][2]int64) ([]string, []journal.Change) {
	t := &tracer{}
	img, err := image.Open(imagePath, disk.Options{Opener: t})
	if err != nil {
		return nil, data
	}
	defer img.Close()
	const piece = 4096
	mapped := make([]int64, len(data)) // bytes of each change traced to the guest
	var hits [][2]int64                // guest ranges holding changed bytes
	budget := int64(traceBudget)
	deadline := time.Now().Add(traceTime)
	buf := make([]byte, piece)
	next := int64(0) // guest ranges are sorted; two may share a piece
scan:
	for _, g := range guest {
		for off := max(next, g[0]&^(piece-1)); off < g[0]+g[1] && off+piece <= img.Size(); off += piece {
			next = off + piece
			if budget -= piece; budget < 0 || time.Now().After(deadline) {
				break scan
			}
			if _, err := img.ReadAt(buf, off); err != nil {
				continue
			}
			t.mu.Lock()
			t.on, t.reads = true, t.reads[:0]
			t.mu.Unlock()
			_, err := img.ReadAt(buf, off)
			t.mu.Lock()
			t.on = false
			reads := append([]hostRead(nil), t.reads...)
			t.mu.Unlock()
			// Only a single host read of exactly the piece is the piece's
			// own bytes; anything else (a split or table read) is skipped.
			if err != nil || len(reads) != 1 || reads[0].n != piece {
				continue
			}
			r := reads[0]
			for i, c := range data {
				if c.File != r.file || c.End <= r.off || c.Off >= r.off+piece {
					continue
				}
				a, b := max(c.Off, r.off), min(c.End, r.off+piece)
				hits = append(hits, [2]int64{off + a - r.off, off + b - r.off})
				mapped[i] += b - a
			}
		}
	}
	var rest []journal.Change
	for i, c := range data {
		if mapped[i] < c.End-c.Off {
			rest = append(rest, c)
		}
	}
	return nameGuestRanges(img, merge(hits)), rest
}

func merge(rs [][2]int64) [][2]int64 {
	sort.Slice(rs, func(i, j int) bool { return rs[i][0] < rs[j][0] })
	var out [][2]int64
	for _, r := range rs {
		if k := len(out); k > 0 && r[0] <= out[k-1][1] {
			out[k-1][1] = max(out[k-1][1], r[1])
			continue
		}
		out = append(out, r)
	}
	return out
}

// ntfsMeta says in words what NTFS's own files are.
var ntfsMeta = map[string]string{
	"$MFT":     "the NTFS file table ($MFT)",
	"$MFTMirr": "the NTFS file table's mirror ($MFTMirr)",
	"$LogFile": "the NTFS journal ($LogFile)",
	"$Bitmap":  "the NTFS map of used clusters ($Bitmap)",
	"$Secure":  "the NTFS security descriptors ($Secure)",
	"$UpCase":  "the NTFS upper-case table ($UpCase)",
	"$Volume":  "the NTFS volume information ($Volume)",
}

// nameGuestRanges names the files holding changed guest bytes.
func nameGuestRanges(img disk.Image, hits [][2]int64) []string {
	if len(hits) == 0 {
		return nil
	}
	var lines []string
	seen := map[string]bool{}
	say := func(s string) {
		if !seen[s] && len(lines) < maxLines {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	tab, err := partition.Read(img, img.Size())
	vols := map[int]*ntfs.Volume{}
	for _, h := range hits {
		var part *partition.Partition
		if err == nil {
			for i := range tab.Partitions {
				p := &tab.Partitions[i]
				if h[0] >= p.Start && h[0] < p.Start+p.Size {
					part = p
				}
			}
		}
		if part == nil {
			say(fmt.Sprintf("bytes at offset %d..%d of the virtual disk (outside any partition: the partition table or boot code) changed after the injection", h[0], h[1]-1))
			continue
		}
		vol, ok := vols[part.Index]
		if !ok {
			if view, err := partition.View(img, *part); err == nil {
				vol, _ = ntfs.Open(view, view.Size(), ntfs.Options{})
			}
			vols[part.Index] = vol
		}
		if vol == nil {
			say(fmt.Sprintf("bytes at offset %d..%d of partition %d changed after the injection", h[0]-part.Start, h[1]-part.Start-1, part.Index))
			continue
		}
		owners, err := vol.Owners(h[0]-part.Start, h[1]-part.Start, 8)
		if err != nil || len(owners) == 0 {
			say(fmt.Sprintf("bytes at offset %d..%d of partition %d (in no file) changed after the injection", h[0]-part.Start, h[1]-part.Start-1, part.Index))
			continue
		}
		sayOwners(owners, say)
	}
	return lines
}

// sayOwners words the owners of one changed range: MFT records together
// (a changed piece of the file table holds several), then files' data.
func sayOwners(owners []ntfs.Owner, say func(string)) {
	var recs []string
	free := false
	for _, o := range owners {
		switch {
		case o.InRecord && o.Free:
			free = true
		case o.InRecord && o.Path != "":
			recs = append(recs, o.Path)
		case o.InRecord:
			recs = append(recs, fmt.Sprintf("record %d", o.Record))
		}
	}
	if len(recs) > 0 || free {
		l := "the NTFS file table ($MFT) changed after the injection where it holds "
		switch {
		case len(recs) == 0:
			l += "free file records: a file was added or deleted in the guest"
		case free:
			l += "the records of " + strings.Join(recs, ", ") + " and free records: a file was added, changed or deleted in the guest"
		default:
			l += "the records of " + strings.Join(recs, ", ") + ": one of them was added, changed or deleted in the guest"
		}
		say(l)
	}
	for _, o := range owners {
		if o.InRecord || (o.Path == "$MFT" && (len(recs) > 0 || free)) {
			continue
		}
		say(ownerLine(o))
	}
}

func ownerLine(o ntfs.Owner) string {
	if o.Path == "" {
		return fmt.Sprintf("a file (NTFS record %d) changed after the injection", o.Record)
	}
	if w, ok := ntfsMeta[o.Path]; ok {
		return w + " changed after the injection: the guest's files changed since"
	}
	if strings.HasPrefix(strings.ToLower(o.Path), `windows\system32\config\`) {
		return o.Path + " changed after the injection: the guest has run"
	}
	return o.Path + " changed after the injection"
}
