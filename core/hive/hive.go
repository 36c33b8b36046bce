package hive

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/pvinject/pvinject/core/safety"
)

// LogFile is a transaction log that belongs to a hive (SYSTEM.LOG1,
// SYSTEM.LOG2, or the single SYSTEM.LOG of older Windows), read from the
// same directory as the hive. Pass every one that exists (see LogNames):
// empty and stale logs are recognised and skipped, and the order does not
// matter.
type LogFile struct {
	Name string
	Data []byte
}

// LogNames lists the transaction log file names to look for beside a hive
// file, e.g. "SYSTEM" -> SYSTEM.LOG, SYSTEM.LOG1, SYSTEM.LOG2 (NTFS looks
// names up case-insensitively; Windows writes them in any case).
func LogNames(hiveFile string) []string {
	return []string{hiveFile + ".LOG", hiveFile + ".LOG1", hiveFile + ".LOG2"}
}

// Hive is an open registry hive: a private copy of the bytes given to
// Open, read and edited through a hive engine (libhivex or pure Go). A
// Hive is safe for use by one goroutine at a time; its methods lock, so
// concurrent use is serialized.
type Hive struct {
	mu       sync.Mutex
	name     string
	dir      string
	eng      engine
	minor    uint32
	readOnly bool
	refusal  *safety.Refusal // set when writing must be refused
	findings []safety.Finding
	replay   *Replay
	expect   *expectations
	failed   error // sticky: set when an edit or commit went wrong
	// created holds the keys this session made: they hold only values set
	// through SetValue, which are small, so a set need not size the others.
	created map[node]bool
	closed  bool
}

// Open copies a hive's bytes to a private temporary file and opens it for
// reading and editing. name labels errors (e.g. "SYSTEM"). If the hive is
// dirty (its header sequence numbers differ), logs are replayed into it
// first; without usable logs the hive still opens, read-only, with a
// warning finding, and every write returns a *safety.Refusal.
func Open(name string, data []byte, logs ...LogFile) (*Hive, error) {
	return open(name, data, logs, false)
}

// OpenReadOnly is Open without any possibility of writing.
func OpenReadOnly(name string, data []byte, logs ...LogFile) (*Hive, error) {
	return open(name, data, logs, true)
}

func open(name string, data []byte, logs []LogFile, readOnly bool) (*Hive, error) {
	h := &Hive{name: name, readOnly: readOnly, expect: newExpectations()}
	bb, err := parseBaseBlock(name, data)
	if err != nil {
		return nil, err
	}
	if bb.Seq1 != bb.Seq2 || !bb.ChecksumOK {
		data = h.recover(data, bb, logs)
	}
	r, bb, err := newReader(name, data)
	if err != nil {
		return nil, err
	}
	if err := r.walk(nil); err != nil {
		return nil, err
	}
	h.minor = bb.Minor
	if err := h.startEngine(data); err != nil {
		return nil, err
	}
	// A Hive dropped without Close would otherwise leave libhivex memory
	// and a copy of the guest's registry in the temporary directory.
	runtime.AddCleanup(h, func(r resources) {
		r.eng.close()
		if r.dir != "" {
			os.RemoveAll(r.dir)
		}
	}, resources{h.eng, h.dir})
	return h, nil
}

// startEngine opens the chosen engine (see EngineEnv) on a private copy of
// data: the pure-Go engine keeps it in memory, libhivex only opens paths,
// so it gets a temporary file.
func (h *Hive) startEngine(data []byte) error {
	write := !h.readOnly && h.refusal == nil
	choice, err := engineChoice()
	if err != nil {
		return fmt.Errorf("hive %s: %w", h.name, err)
	}
	if choice == EngineGo {
		g, err := newGoEngine(h.name, bytes.Clone(data), write)
		if err != nil {
			return err
		}
		h.eng = g
		return nil
	}
	if h.dir, err = os.MkdirTemp("", "pvinject-hive-"); err != nil {
		return fmt.Errorf("hive %s: temporary copy: %w", h.name, err)
	}
	path := filepath.Join(h.dir, "hive")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		os.RemoveAll(h.dir)
		return fmt.Errorf("hive %s: temporary copy: %w", h.name, err)
	}
	if h.eng, err = openHivex(path, write); err != nil {
		os.RemoveAll(h.dir)
		return fmt.Errorf("hive %s: %w", h.name, err)
	}
	return nil
}

type resources struct {
	eng engine
	dir string
}

// recover replays the logs into a dirty hive. When that is impossible it
// returns the data unchanged and records why, so the hive can still be
// read (with a warning) but never written.
func (h *Hive) recover(data []byte, bb baseBlock, logs []LogFile) []byte {
	logNames := logNamesFor(h.name)
	why := fmt.Sprintf("header sequence numbers %d and %d differ", bb.Seq1, bb.Seq2)
	if !bb.ChecksumOK {
		why = "its header checksum is wrong"
	}
	if len(logs) == 0 {
		h.refuseWrites(fmt.Sprintf("Windows did not shut down cleanly: the latest changes to the %s registry hive are only in its transaction logs (%s), which are not beside it.",
			baseName(h.name), logNames), fmt.Sprintf("%s; the logs were not found", why), "hive.dirty_no_logs")
		return data
	}
	out, rep, err := replayLogs(h.name, data, logs)
	if err != nil {
		h.refuseWrites(fmt.Sprintf("Windows did not shut down cleanly: the latest changes to the %s registry hive are only in its transaction logs (%s), and those are damaged or belong to another copy of the hive.",
			baseName(h.name), logNames), fmt.Sprintf("%s; replaying the logs failed: %v", why, err), "hive.dirty_bad_logs")
		return data
	}
	h.replay = rep
	return out
}

func (h *Hive) refuseWrites(reason, details, code string) {
	remedy := "Start the virtual machine, shut Windows down fully (Shut down with Fast Startup off, or shutdown /s /t 0) so it saves the logs into the hive, then open the image again."
	h.refusal = &safety.Refusal{Subject: h.name + " hive", Reason: reason, Remedy: remedy}
	h.findings = append(h.findings, safety.Finding{
		Severity: safety.Warning, Code: code,
		Title:   "The " + baseName(h.name) + " registry hive has unsaved changes",
		Message: reason + " Reading shows the hive as it was at its last clean save; writing to it is refused, as it would lose those changes.",
		Remedy:  remedy,
		Details: details,
		Source:  "Microsoft: Registry hives (transaction logs .LOG1 and .LOG2)",
	})
}

// baseName is the hive's file name without its folder.
func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		return name[i+1:]
	}
	return name
}

func logNamesFor(name string) string {
	base := name[strings.LastIndexAny(name, `/\`)+1:]
	if base == "" {
		base = "hive"
	}
	return base + ".LOG1/" + base + ".LOG2"
}

// Findings returns non-blocking problems found at Open (e.g. a dirty hive
// opened without its logs).
func (h *Hive) Findings() []safety.Finding {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]safety.Finding(nil), h.findings...)
}

// Replayed describes the transaction-log replay done at Open, nil if the
// hive was clean or could not be recovered.
func (h *Hive) Replayed() *Replay {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.replay
}

// Writable reports whether edits are allowed, and if not, why.
func (h *Hive) Writable() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.checkWritable()
}

func (h *Hive) checkWritable() error {
	switch {
	case h.closed:
		return ErrClosed
	case h.failed != nil:
		return fmt.Errorf("hive %s: an earlier edit or commit failed, discard this hive: %w", h.name, h.failed)
	case h.refusal != nil:
		return h.refusal
	case h.readOnly:
		return fmt.Errorf("hive %s: %w", h.name, ErrReadOnly)
	}
	return nil
}

// splitPath turns `ControlSet001\Services\viostor` into its key names.
// Leading, trailing and doubled backslashes are ignored; "" is the root.
func splitPath(p string) []string {
	var out []string
	for _, s := range strings.Split(p, `\`) {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (h *Hive) notFound(what string) error {
	return fmt.Errorf("hive %s: %s: %w", h.name, what, ErrNotFound)
}

// lookup finds the node for path; ok is false if a key is missing.
func (h *Hive) lookup(parts []string) (node, bool, error) {
	if h.closed {
		return 0, false, ErrClosed
	}
	n, err := h.eng.root()
	if err != nil {
		return 0, false, fmt.Errorf("hive %s: %w", h.name, err)
	}
	for _, p := range parts {
		c, ok, err := h.child(n, p)
		if err != nil {
			return 0, false, fmt.Errorf("hive %s: %w", h.name, err)
		}
		if !ok {
			return 0, false, nil
		}
		n = c
	}
	return n, true, nil
}

// child finds a subkey case-insensitively. libhivex folds ASCII only;
// Windows folds all of Unicode, so non-ASCII names get a second, slower
// look with Go's case folding.
func (h *Hive) child(n node, name string) (node, bool, error) {
	c, ok, err := h.eng.child(n, name)
	if ok || err != nil || libhivexFolds(name) {
		return c, ok, err
	}
	kids, err := h.eng.children(n)
	if err != nil {
		return 0, false, err
	}
	for _, k := range kids {
		s, err := h.eng.name(k)
		if err != nil {
			return 0, false, err
		}
		if strings.EqualFold(s, name) {
			return k, true, nil
		}
	}
	return 0, false, nil
}

// libhivexFolds reports whether libhivex's own lookup is the whole answer
// for name: it folds ASCII only, and the binding cannot pass a NUL.
func libhivexFolds(name string) bool {
	return isASCII(name) && !strings.ContainsRune(name, 0)
}

// findValue finds a value case-insensitively, the same way child finds a
// key. Asking libhivex for one value copies nothing out of it, where
// listing them all copies every name.
func (h *Hive) findValue(n node, name string) (vhandle, bool, error) {
	v, ok, err := h.eng.value(n, name)
	if ok || err != nil || libhivexFolds(name) {
		return v, ok, err
	}
	vs, err := h.eng.valueSizes(n)
	if err != nil {
		return 0, false, err
	}
	for _, s := range vs {
		got, err := h.eng.valueName(n, s.v)
		if err != nil {
			return 0, false, err
		}
		if strings.EqualFold(got, name) {
			return s.v, true, nil
		}
	}
	return 0, false, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (h *Hive) mustLookup(path string) (node, error) {
	n, ok, err := h.lookup(splitPath(path))
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, h.notFound(fmt.Sprintf("key %q", path))
	}
	return n, nil
}

// KeyExists reports whether the key at path exists.
func (h *Hive) KeyExists(path string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok, err := h.lookup(splitPath(path))
	return ok, err
}

// Get returns one value of a key; "" names the default value. Missing
// keys or values give an error matching ErrNotFound.
func (h *Hive) Get(path, name string) (Value, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, err := h.mustLookup(path)
	if err != nil {
		return Value{}, err
	}
	v, ok, err := h.findValue(n, name)
	if err != nil {
		return Value{}, fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
	}
	if !ok {
		return Value{}, h.notFound(fmt.Sprintf("value %q in key %q", name, path))
	}
	val, err := h.eng.valueData(v)
	if err != nil {
		return Value{}, fmt.Errorf("hive %s: key %q: value %q: %w", h.name, path, name, err)
	}
	return val, nil
}

// Values returns all values of a key in stored order.
func (h *Hive) Values(path string) ([]NamedValue, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, err := h.mustLookup(path)
	if err != nil {
		return nil, err
	}
	vals, err := h.eng.values(n)
	if err != nil {
		return nil, fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
	}
	return vals, nil
}

// Subkeys returns the names of a key's direct subkeys.
func (h *Hive) Subkeys(path string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n, err := h.mustLookup(path)
	if err != nil {
		return nil, err
	}
	kids, err := h.eng.children(n)
	if err != nil {
		return nil, fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
	}
	out := make([]string, 0, len(kids))
	for _, k := range kids {
		s, err := h.eng.name(k)
		if err != nil {
			return nil, fmt.Errorf("hive %s: key %q: %w", h.name, path, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// Close releases the engine (and libhivex's temporary copy). Uncommitted
// edits are discarded. Close is idempotent.
func (h *Hive) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	var errs []error
	if h.eng != nil {
		errs = append(errs, h.eng.close())
	}
	if h.dir != "" {
		errs = append(errs, os.RemoveAll(h.dir))
	}
	return errors.Join(errs...)
}
