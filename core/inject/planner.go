package inject

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/pvinject/pvinject/core/drivers"
	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/firstboot"
	"github.com/pvinject/pvinject/core/guest"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/safety"
	"github.com/pvinject/pvinject/core/target"
)

// Hive names as the plan spells them.
const (
	HiveSystem   = "SYSTEM"
	HiveSoftware = "SOFTWARE"
)

// planner computes a Plan against the read-only volume and hives.
type planner struct {
	p         *Plan
	vol       *target.Memo
	src       *Source
	w         guest.Windows
	guestArch inf.Arch
	log       *slog.Logger
	hives     map[string]*hive.Hive
	// planned holds values already planned, so later operations (DevicePath
	// appended twice, a key deleted then written) see the planned state.
	planned map[string]*RegValue
	deleted map[string]bool
	files   map[string]int // guest path (upper case) -> index in p.Files

	chosen       []drivers.Choice
	stageNames   []string
	commands     []firstboot.Command // vendor installers
	uninstallers []firstboot.Command // old PV stacks
	resetVSock   bool                // VMware vSockets: reset Winsock at first boot
	restore      []firstboot.Command // undo temporary settings, last
}

// sysRoot is %SystemRoot% relative to the volume root, e.g. `Windows`.
func sysRoot(w guest.Windows) string { return strings.Trim(w.SystemRoot, `\/`) }

// hivePath is the file of a hive on the volume.
func hivePath(w guest.Windows, name string) string {
	return sysRoot(w) + `\System32\config\` + name
}

// readHive reads a hive file and the transaction logs beside it.
func readHive(fsys interface{ ReadFile(string) ([]byte, error) }, file string) ([]byte, []hive.LogFile, error) {
	data, err := fsys.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read hive %s: %w", file, err)
	}
	dir := file[:strings.LastIndex(file, `\`)+1]
	base := file[len(dir):]
	var logs []hive.LogFile
	for _, ln := range hive.LogNames(base) {
		b, err := fsys.ReadFile(dir + ln)
		if err != nil {
			continue // absent logs are normal
		}
		logs = append(logs, hive.LogFile{Name: ln, Data: b})
	}
	return data, logs, nil
}

func (pl *planner) openHives() error {
	pl.hives = map[string]*hive.Hive{}
	pl.planned = map[string]*RegValue{}
	pl.deleted = map[string]bool{}
	pl.files = map[string]int{}
	for _, name := range []string{HiveSystem, HiveSoftware} {
		data, logs, err := readHive(pl.vol, hivePath(pl.w, name))
		if err != nil {
			return fmt.Errorf("inject: %w", err)
		}
		h, err := hive.Open(name, data, logs...)
		if err != nil {
			return fmt.Errorf("inject: open %s hive: %w", name, err)
		}
		pl.hives[name] = h
		if err := h.Writable(); err != nil && !hasDirtyBlocker(pl.p) {
			f := hiveRefusalFinding(name, err)
			addFinding(pl.p, f)
		}
	}
	return nil
}

func (pl *planner) closeHives() {
	for _, h := range pl.hives {
		h.Close()
	}
}

func regKey(hv, key, name string) string {
	return strings.ToUpper(hv + `\` + key + "\x00" + name)
}

// current returns a value as it will be once the earlier planned ops ran.
func (pl *planner) current(hv, key, name string) *RegValue {
	k := regKey(hv, key, name)
	if v, ok := pl.planned[k]; ok {
		return v // nil: planned deletion
	}
	if pl.keyDeleted(hv, key) {
		return nil
	}
	v, err := pl.hives[hv].Get(key, name)
	if err != nil {
		return nil
	}
	return regValue(v)
}

func (pl *planner) keyDeleted(hv, key string) bool {
	k := strings.ToUpper(hv + `\` + key)
	for d := range pl.deleted {
		if k == d || strings.HasPrefix(k, d+`\`) {
			return true
		}
	}
	return false
}

func (pl *planner) keyExists(hv, key string) bool {
	if pl.keyDeleted(hv, key) {
		return false
	}
	ok, err := pl.hives[hv].KeyExists(key)
	return err == nil && ok
}

// set plans one value; a value already equal is left alone (and not listed).
func (pl *planner) set(hv, key, name string, v hive.Value, reason string) {
	old := pl.current(hv, key, name)
	nv := regValue(v)
	if old != nil && old.Value().Equal(v) {
		return
	}
	pl.p.Registry = append(pl.p.Registry, RegOp{Hive: hv, Key: key, Name: name, Op: OpSet, Old: old, New: nv, Reason: reason})
	pl.planned[regKey(hv, key, name)] = nv
}

// deleteValue plans a value deletion.
func (pl *planner) deleteValue(hv, key, name, reason string) {
	old := pl.current(hv, key, name)
	if old == nil {
		return
	}
	pl.p.Registry = append(pl.p.Registry, RegOp{Hive: hv, Key: key, Name: name, Op: OpDeleteValue, Old: old, Reason: reason})
	delete(pl.planned, regKey(hv, key, name))
	pl.planned[regKey(hv, key, name)] = nil
}

// createKey plans a key with no values (INF AddReg key-only lines).
func (pl *planner) createKey(hv, key, reason string) {
	if pl.keyExists(hv, key) {
		return
	}
	pl.p.Registry = append(pl.p.Registry, RegOp{Hive: hv, Key: key, Op: OpCreateKey, Reason: reason})
}

// deleteKey plans a key deletion, recording its values as the old state.
func (pl *planner) deleteKey(hv, key, reason string) {
	if !pl.keyExists(hv, key) {
		return
	}
	var old *RegValue
	if vals, err := pl.hives[hv].Values(key); err == nil {
		var parts []string
		for _, v := range vals {
			parts = append(parts, fmt.Sprintf("%s=%s", v.Name, v.Display()))
		}
		old = &RegValue{Text: strings.Join(parts, "; ")}
	}
	pl.p.Registry = append(pl.p.Registry, RegOp{Hive: hv, Key: key, Op: OpDeleteKey, Old: old, Reason: reason})
	pl.deleted[strings.ToUpper(hv+`\`+key)] = true
}

// addFile plans one file write, reading the current file for its old hash.
func (pl *planner) addFile(guestPath string, data []byte, source, reason string, keep bool) {
	op := FileOp{Path: guestPath, Size: int64(len(data)), SHA256: sha256Of(data), Source: source, Reason: reason}
	pl.checkDriverBinary(guestPath, data, source)
	if keep {
		op.Content = data
	}
	if old, err := pl.vol.ReadFile(guestPath); err == nil {
		op.Existed = true
		op.OldSHA256 = sha256Of(old)
	}
	k := strings.ToUpper(guestPath)
	if i, ok := pl.files[k]; ok {
		pl.p.Files[i] = op
		return
	}
	pl.files[k] = len(pl.p.Files)
	pl.p.Files = append(pl.p.Files, op)
}

func (pl *planner) build(ctx context.Context, sel *drivers.Selection) error {
	ddb := pl.keyExists(HiveSystem, "DriverDatabase")
	pl.chosen = sel.Chosen
	for _, c := range sel.Chosen {
		if err := ctx.Err(); err != nil {
			return err
		}
		pp, err := pl.stagePackage(c)
		if err != nil {
			return err
		}
		if c.BootCritical || c.BootBus {
			if err := pl.bootCritical(c, ddb); err != nil {
				return err
			}
		}
		pl.p.Packages = append(pl.p.Packages, pp)
	}
	if err := pl.installer(); err != nil {
		return err
	}
	pl.oldStacks()
	pl.devicePath()
	pl.suppressNewHardwareUI()
	if err := pl.firstBoot(); err != nil {
		return err
	}
	pl.hostAdvice()
	return pl.guestReport()
}

// hiveRefusalFinding turns core/hive's refusal to write into a blocker.
func hiveRefusalFinding(name string, err error) safety.Finding {
	f := safety.Finding{Severity: safety.Blocker, Code: "hive.not-writable",
		Title:   "The " + name + " registry hive cannot be written safely",
		Message: "Writing the " + name + " hive now could lose changes Windows has not saved into it.",
		Remedy:  "Start the virtual machine, shut Windows down fully (not hibernate, Fast Startup off), then open the image again.",
		Details: err.Error()}
	return f
}

// hasDirtyBlocker reports whether detection already said a hive is dirty
// (the same problem as hive.not-writable, said once).
func hasDirtyBlocker(p *Plan) bool {
	for _, f := range p.Blockers {
		if strings.HasPrefix(f.Code, "hive.dirty_") {
			return true
		}
	}
	return false
}

func warn(code, msg string) safety.Finding {
	return safety.Finding{Severity: safety.Warning, Code: code, Message: msg}
}
