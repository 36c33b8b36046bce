package inject

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/internal/testenv"
	"github.com/pvinject/pvinject/core/journal"
)

// injectCase is one guest disk in one container.
type injectCase struct {
	guest, ext string
	mtu        int
	drivers    string // under drivers/; "" is virtio-tree
	cache      string
}

var e2eCases = []injectCase{
	{"xp-sp3-x86", "raw", 0, "", ""},
	{"7-sp0-x86", "raw", 1500, "", ""},
	{"7-sp1-x64-policy", "raw", 0, "", ""},
	{"7-sp1-x64-policy", "vhdx", 0, "", ""},
	{"8.1-x86", "raw", 0, "", ""},
	{"10-x64-virtio", "raw", 9000, "", ""},
	{"10-x64-virtio", "vhdx", 0, "", ""},
	{"10-x64-virtio", "vmdk", 0, "", ""},
	{"10-x64-virtio", "qcow2", 0, "", ""},
	{"11-x64", "raw", 0, "", ""},
	{"2k12r2-x64", "raw", 0, "", ""},
	{"2k22", "raw", 0, "", "on"},
	{"7-sp1-x86-oracle322", "raw", 0, "", ""}, // old Xen stack disabled and unfiltered
	{"2k19-vmware", "raw", 0, "", ""},         // VMware Tools disabled, uninstalled, vSockets reset
	{"10-x64-parallels", "raw", 0, "", ""},    // Parallels Tools disabled, unfiltered, uninstalled
	{"7-sp1-x64-gplpv", "raw", 0, "", ""},     // GPLPV xenpci out of two class filter lists
	{"2k22", "raw", 9000, "xen", ""},
	{"2k22", "raw", 1500, "oracle", ""},       // unsupported, overridden; installer staged
	{"real-win10-19041", "raw", 9000, "", ""}, // the real SYSTEM hive Windows wrote
}

// request is the in-place injection of c's drivers into img.
func (c injectCase) request(dir, img string) Request {
	drv := c.drivers
	if drv == "" {
		drv = "virtio-tree"
	}
	return Request{Image: img, Drivers: filepath.Join(dir, "drivers", drv),
		InPlace: true, MTU: c.mtu, WriteCache: c.cache, AllowUnsupported: drv == "oracle"}
}

// TestInjectEndToEnd injects virtio-win into every synthetic guest and
// checks the result with independent tools: ntfs-3g reads every planned
// file byte-identical, hivexregedit exports every planned value, ntfsfix -n
// and qemu-img check are clean, and nothing outside the plan changed.
func TestInjectEndToEnd(t *testing.T) {
	dir := fixture(t)
	testenv.RequireTool(t, "ntfscat", "ntfsfix", "fusermount")
	for _, c := range e2eCases {
		t.Run(c.guest+"."+c.ext+"."+c.drivers, func(t *testing.T) {
			src := filepath.Join(dir, "disks", c.guest+"."+c.ext)
			img := testenv.CopyInto(t, src, t.TempDir())
			beforeVol := volumeOf(t, img)
			before := tree(t, beforeVol)

			p, err := BuildPlan(context.Background(), nil, c.request(dir, img))
			if err != nil {
				t.Fatal(err)
			}
			if p.HasBlockers() {
				t.Fatalf("unexpected blockers: %+v", p.Blockers)
			}
			beforeHives := map[string]map[string]map[string]regVal{}
			for _, hv := range []string{HiveSystem, HiveSoftware} {
				beforeHives[hv] = export(t, beforeVol, hivePath(p.Guest, hv))
			}
			rep, err := Apply(context.Background(), p, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.Verify.OK || rep.Verify.Files != len(p.Files) {
				t.Fatalf("verify: %+v", rep.Verify)
			}
			// The independent boot check agrees that what pvinject wrote
			// boots (the real-hive guest's tree lacks the files of Windows'
			// own class filters, so it is judged on its own).
			if (c.drivers == "" || c.drivers == "xen") && c.guest != "real-win10-19041" && !rep.Boot.Boots() {
				t.Errorf("boot check: %+v", rep.Boot.Summary)
			}
			if !journal.Exists(img) {
				t.Error("journal removed after success; it must stay as the rollback record")
			}
			if c.ext != "raw" {
				run(t, "qemu-img", "check", img)
			}
			vol := volumeOf(t, img)
			if out, err := exec.Command("ntfsfix", "-n", vol).CombinedOutput(); err != nil {
				t.Errorf("ntfsfix -n: %v\n%s", err, out)
			}
			after := tree(t, vol)
			checkFiles(t, p, before, after)
			afterHives := map[string]map[string]map[string]regVal{}
			for _, hv := range []string{HiveSystem, HiveSoftware} {
				afterHives[hv] = export(t, vol, hivePath(p.Guest, hv))
				checkHive(t, p, hv, beforeHives[hv], afterHives[hv])
			}
			caseChecks(t, c, p, afterHives[HiveSystem])
			if !bytes.Equal(diskHead(t, img), diskHead(t, src)) {
				t.Error("the disk's first MiB (MBR, gap before the partition) changed")
			}
			html, err := os.ReadFile(img + ReportHTMLSuffix)
			if err != nil || !bytes.Contains(html, []byte("pvinject rollback")) || !bytes.Contains(html, []byte("verification passed")) {
				t.Errorf("HTML report beside the image: %v", err)
			}
			if err := Verify(context.Background(), img); err != nil {
				t.Errorf("Verify from the saved report: %v", err)
			}
			if err := Rollback(img); err != nil {
				t.Fatal(err)
			}
			if testenv.FileSHA256(t, img) != testenv.FileSHA256(t, src) {
				t.Error("rollback did not restore the original bytes")
			}
		})
	}
}

// checkFiles: every planned file reads back byte-identical, and the only
// other differences are the folders created for them and the rewritten
// hives.
func checkFiles(t *testing.T, p *Plan, before, after map[string]string) {
	t.Helper()
	planned := map[string]string{}
	for _, f := range p.Files {
		planned[strings.ToUpper(f.Path)] = f.SHA256
		if got := after[strings.ToUpper(f.Path)]; got != f.SHA256 {
			t.Errorf("%s: ntfs-3g reads sha256 %q, planned %s", f.Path, got, f.SHA256)
		}
	}
	hives := map[string]bool{}
	for _, hv := range []string{HiveSystem, HiveSoftware} {
		hives[strings.ToUpper(hivePath(p.Guest, hv))] = true
	}
	for k, v := range after {
		if _, ok := planned[k]; ok || hives[k] {
			continue
		}
		if before[k] == v {
			continue
		}
		if v == "dir" && plannedUnder(planned, k) {
			continue
		}
		t.Errorf("%s changed outside the plan (%q -> %q)", k, before[k], v)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("%s disappeared", k)
		}
	}
}

func plannedUnder(planned map[string]string, dir string) bool {
	for k := range planned {
		if strings.HasPrefix(k, dir+`\`) {
			return true
		}
	}
	return false
}

// checkHive: every planned value is in the export as planned, and every
// difference between the exports is a planned operation.
func checkHive(t *testing.T, p *Plan, hv string, before, after map[string]map[string]regVal) {
	t.Helper()
	final := map[string]RegOp{}
	var keys []string
	for _, op := range p.Registry {
		if op.Hive != hv {
			continue
		}
		keys = append(keys, strings.ToUpper(op.Key))
		final[strings.ToUpper(op.Key)+"\x00"+strings.ToUpper(op.Name)+"\x00"+op.Op] = op
	}
	explained := func(key, name string) bool {
		for k, op := range final {
			kk := strings.SplitN(k, "\x00", 3)
			switch op.Op {
			case OpSet, OpDeleteValue:
				if kk[0] == key && kk[1] == name {
					return true
				}
			case OpDeleteKey:
				if key == kk[0] || strings.HasPrefix(key, kk[0]+`\`) {
					return true
				}
			}
		}
		return false
	}
	for k, op := range final {
		if op.Op != OpSet {
			continue
		}
		kk := strings.SplitN(k, "\x00", 3)
		got, ok := after[kk[0]][kk[1]]
		if !ok {
			t.Errorf("hivexregedit: %s missing", op)
			continue
		}
		if got.Type != uint32(op.New.Type) || !bytes.Equal(got.Data, op.New.Data) {
			t.Errorf("hivexregedit: %s reads %d %x", op, got.Type, got.Data)
		}
	}
	for key, vals := range after {
		bvals, existed := before[key]
		if !existed && len(vals) == 0 && !underPlanned(keys, key) {
			t.Errorf("%s: key %s created outside the plan", hv, key)
		}
		for name, v := range vals {
			if bv, ok := bvals[name]; ok && bv.Type == v.Type && bytes.Equal(bv.Data, v.Data) {
				continue
			}
			if !explained(key, name) {
				t.Errorf("%s: %s [%s] changed outside the plan", hv, key, name)
			}
		}
	}
	for key, vals := range before {
		for name := range vals {
			if _, ok := after[key][name]; !ok && !explained(key, name) {
				t.Errorf("%s: %s [%s] removed outside the plan", hv, key, name)
			}
		}
	}
}

func underPlanned(keys []string, key string) bool {
	for _, k := range keys {
		if k == key || strings.HasPrefix(k, key+`\`) {
			return true
		}
	}
	return false
}

// diskHead reads the first MiB of the virtual disk through qemu-img.
func diskHead(t *testing.T, img string) []byte {
	t.Helper()
	raw := filepath.Join(t.TempDir(), "head.raw")
	run(t, "qemu-img", "dd", "if="+img, "of="+raw, "bs=1048576", "count=1", "-O", "raw")
	b, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// caseChecks asserts what each case is there for, on the hivexregedit
// export of the written SYSTEM hive.
func caseChecks(t *testing.T, c injectCase, p *Plan, sys map[string]map[string]regVal) {
	t.Helper()
	dword := func(key, name string) (uint32, bool) {
		v, ok := sys[strings.ToUpper(key)][strings.ToUpper(name)]
		if !ok || v.Type != 4 {
			return 0, false
		}
		return uint32(v.Data[0]) | uint32(v.Data[1])<<8 | uint32(v.Data[2])<<16 | uint32(v.Data[3])<<24, true
	}
	// disabled: an old stack's services get Start=4 in every control set.
	disabled := func(stack string, svcs ...string) {
		for _, cs := range p.Guest.ControlSets.Present {
			for _, s := range svcs {
				if v, ok := dword(cs+`\Services\`+s, "Start"); !ok || v != 4 {
					t.Errorf("%s: %s %s Start = %d, %v; want 4 (disabled, not deleted)", cs, stack, s, v, ok)
				}
			}
		}
	}
	// commands: the first-boot command names in order, and their lines.
	commands := func() ([]string, map[string]string) {
		var names []string
		lines := map[string]string{}
		for _, cmd := range p.FirstBoot.Commands {
			names = append(names, cmd.Name)
			lines[cmd.Name] = cmd.Line
		}
		return names, lines
	}
	for _, cs := range p.Guest.ControlSets.Present {
		if v, ok := dword(cs+`\Services\pvinject-firstboot`, "Start"); !ok || v != 2 {
			t.Errorf("%s: first-boot service Start = %d, %v", cs, v, ok)
		}
	}
	switch {
	case c.guest == "10-x64-virtio":
		for _, cs := range p.Guest.ControlSets.Present {
			if _, ok := sys[strings.ToUpper(cs+`\Services\viostor\StartOverride`)]; ok {
				t.Errorf("%s: StartOverride still there", cs)
			}
			if v, ok := dword(cs+`\Services\viostor`, "Start"); !ok || v != 0 {
				t.Errorf("%s: viostor Start = %d", cs, v)
			}
		}
		if c.mtu != 0 && p.FirstBoot.JumboPacket != c.mtu+14 {
			t.Errorf("JumboPacket %d, want %d", p.FirstBoot.JumboPacket, c.mtu+14)
		}
	case c.guest == "7-sp1-x86-oracle322":
		un := ""
		for _, cmd := range p.FirstBoot.Commands {
			if cmd.Name == "uninstall-xen" {
				un = cmd.Line
			}
		}
		if !strings.Contains(un, "/X{F1A0E5A4") || !strings.Contains(un, "/quiet") {
			t.Errorf("old Oracle PV uninstaller not scheduled silently: %q", un)
		}
		for _, cs := range p.Guest.ControlSets.Present {
			if v, ok := dword(cs+`\Services\xenvbd`, "Start"); !ok || v != 4 {
				t.Errorf("%s: old xenvbd Start = %d, want 4 (disabled, not deleted)", cs, v)
			}
			lf := sys[strings.ToUpper(cs+`\Control\Class\{4D36E967-E325-11CE-BFC1-08002BE10318}`)]["LOWERFILTERS"]
			want := []byte("P\x00a\x00r\x00t\x00M\x00g\x00r\x00\x00\x00\x00\x00")
			if !bytes.Equal(lf.Data, want) {
				t.Errorf("%s: LowerFilters %q, want only PartMgr", cs, lf.Data)
			}
		}
	case c.guest == "2k19-vmware":
		disabled("VMware", "pvscsi", "vmxnet3ndis6", "vmci", "vsock", "VMTools")
		names, lines := commands()
		uninstall := lines["uninstall-vmware"]
		if !strings.HasPrefix(uninstall, "MsiExec.exe /X{1D6F5D77-") || !strings.Contains(uninstall, "/quiet") {
			t.Errorf("VMware Tools uninstaller %q in %v: want a silent MsiExec /X", uninstall, names)
		}
		if !p.FirstBoot.ResetVSockWinsock {
			t.Error("the vsock service was there, but no Winsock reset is planned")
		}
	case c.guest == "10-x64-parallels":
		disabled("Parallels", "prl_strg", "prl_fs", "prl_eth5", "prl_tg", "prl_time")
		for _, cs := range p.Guest.ControlSets.Present {
			lf := sys[strings.ToUpper(cs+`\Control\Class\{4D36E967-E325-11CE-BFC1-08002BE10318}`)]["LOWERFILTERS"]
			if want := []byte("P\x00a\x00r\x00t\x00M\x00g\x00r\x00\x00\x00\x00\x00"); !bytes.Equal(lf.Data, want) {
				t.Errorf("%s: LowerFilters %q, want only PartMgr (prl_strg removed, as virt-v2v does)", cs, lf.Data)
			}
		}
		names, lines := commands()
		uninstall := lines["uninstall-parallels"]
		if i, j := slices.Index(names, "prl-strg-refcount"), slices.Index(names, "uninstall-parallels"); i < 0 || j != i+1 {
			t.Errorf("first-boot commands %v: want prl-strg-refcount just before uninstall-parallels", names)
		}
		if !strings.HasPrefix(uninstall, "MsiExec.exe /X{7A3C8E21-") || !strings.HasSuffix(uninstall, "REMOVE=ALL PREVENT_REBOOT=Yes LAUNCHED_BY_SETUP_EXE=Yes") {
			t.Errorf("Parallels Tools uninstaller %q: want virt-v2v's MSI properties", uninstall)
		}
		if p.FirstBoot.ResetVSockWinsock {
			t.Error("a Winsock reset planned for a guest without VMware's vsock")
		}
	case c.guest == "7-sp1-x64-gplpv":
		disabled("GPLPV", "xenpci", "xenvbd")
		for _, cs := range p.Guest.ControlSets.Present {
			// The IDE class key holds a zero-length value, so through
			// libhivex its list is emptied in place; the pure-Go engine
			// can rewrite the key, so it is deleted there as the SCSI
			// class's value is.
			hdc := sys[strings.ToUpper(cs+`\Control\Class\{4D36E96A-E325-11CE-BFC1-08002BE10318}`)]
			v, ok := hdc["UPPERFILTERS"]
			if hive.EngineName() == hive.EngineGo {
				if ok {
					t.Errorf("%s: IDE UpperFilters still there with the pure-Go engine: %+v", cs, v)
				}
			} else if !ok || v.Type != 7 || !bytes.Equal(v.Data, []byte{0, 0}) {
				t.Errorf("%s: IDE UpperFilters %+v, %v; want an empty REG_MULTI_SZ", cs, v, ok)
			}
			if v, ok := hdc["NODISPLAYCLASS"]; !ok || len(v.Data) != 0 {
				t.Errorf("%s: the zero-length neighbour changed: %+v, %v", cs, v, ok)
			}
			if v, ok := sys[strings.ToUpper(cs+`\Control\Class\{4D36E97B-E325-11CE-BFC1-08002BE10318}`)]["UPPERFILTERS"]; ok {
				t.Errorf("%s: SCSI UpperFilters still there: %+v", cs, v)
			}
		}
	case c.guest == "real-win10-19041":
		// A real Windows 10 SYSTEM hive: the boot-critical service in
		// every control set, and the DriverPackages entry with Version
		// beside the packages Windows itself registered.
		pkgs := 0
		for k, vals := range sys {
			if strings.HasPrefix(k, `DRIVERDATABASE\DRIVERPACKAGES\PVINJECT-VIOSTOR.INF_AMD64_`) && !strings.Contains(k[len(`DRIVERDATABASE\DRIVERPACKAGES\`):], `\`) {
				if v, ok := vals["VERSION"]; !ok || v.Type != 3 || len(v.Data) == 0 {
					t.Errorf("%s: Version missing or not binary: %+v", k, v)
				}
				pkgs++
			}
		}
		if pkgs != 1 {
			t.Errorf("viostor DriverPackages entries: %d, want 1", pkgs)
		}
		others := 0
		for k := range sys {
			if strings.HasPrefix(k, `DRIVERDATABASE\DRIVERPACKAGES\`) && strings.Count(k, `\`) == 2 {
				others++
			}
		}
		if others < 100 {
			t.Errorf("only %d driver packages in the real hive after injection; Windows' own were lost?", others)
		}
		for _, cs := range p.Guest.ControlSets.Present {
			if v, ok := dword(cs+`\Services\viostor`, "Start"); !ok || v != 0 {
				t.Errorf("%s: viostor Start = %d, %v", cs, v, ok)
			}
		}
	case c.drivers == "xen":
		if p.FirstBoot.NICMTU != c.mtu || p.FirstBoot.JumboPacket != 0 {
			t.Errorf("xen NIC MTU %d / JumboPacket %d", p.FirstBoot.NICMTU, p.FirstBoot.JumboPacket)
		}
		// The whole Xen PV boot chain is bound: xenbus on the platform
		// device (its INF's id has no REV, docs/BOOT-READINESS.md "Which
		// ids are bound") and xenvbd on the disk xenbus enumerates.
		for id, inf := range map[string]string{
			`PCI\VEN_5853&DEV_0001`:                  "pvinject-xenbus.inf",
			`XENBUS\VEN_XP0001&DEV_VBD&REV_08000009`: "pvinject-xenvbd.inf",
		} {
			if _, ok := sys[strings.ToUpper(`DriverDatabase\DeviceIds\`+id)][strings.ToUpper(inf)]; !ok {
				t.Errorf("DriverDatabase\\DeviceIds\\%s has no %s value", id, inf)
			}
		}
	case c.drivers == "oracle":
		if p.Options.WriteCache != "off" || !p.Options.WriteCacheDefault {
			t.Errorf("Oracle default write cache %q, want off", p.Options.WriteCache)
		}
		found := false
		for _, cmd := range p.FirstBoot.Commands {
			found = found || cmd.Name == "vendor-installer"
		}
		if !found {
			t.Errorf("Oracle installer not scheduled: %+v", p.FirstBoot.Commands)
		}
	case c.cache == "on":
		if p.FirstBoot.WriteCache != "on" || len(p.FirstBoot.DiskMatch) == 0 {
			t.Errorf("write cache %q %v", p.FirstBoot.WriteCache, p.FirstBoot.DiskMatch)
		}
	}
}
