package wizardtest

import (
	"fmt"

	"github.com/pvinject/pvinject/wizard"
)

// fakePlan is the fake engine's plan for a driver set: realistic names and
// values so screens and goldens look like the real thing.
func fakePlan(set wizard.Set) wizard.PlanSummary {
	type pkg struct {
		name, inf, ver string
		boot           bool
		size           int64
	}
	var pkgs []pkg
	p := wizard.PlanSummary{Family: set}
	switch set {
	case wizard.SetOracle:
		p.DriverSet, p.Version = "oracle-vm-pv-3.2.3", "3.2.3"
		pkgs = []pkg{{"ovmdisk", `x64\ovmdisk.inf`, "3.2.3.11", true, 71_680}, {"ovmnet", `x64\ovmnet.inf`, "3.2.3.11", false, 88_064}}
	case wizard.SetXen:
		p.DriverSet, p.Version = "xen-pv", "9.1.0"
		pkgs = []pkg{{"xenbus", `xenbus\x64\xenbus.inf`, "9.1.0.110", true, 240_128}, {"xenvbd", `xenvbd\x64\xenvbd.inf`, "9.1.0.110", true, 190_464},
			{"xennet", `xennet\x64\xennet.inf`, "9.1.0.110", false, 110_592}}
	default:
		p.DriverSet, p.Version = "virtio-win", "0.1.285"
		if set == wizard.SetINF {
			p.DriverSet = "inf"
		}
		pkgs = []pkg{{"viostor", `viostor\w10\amd64\viostor.inf`, "100.101.104.28500", true, 93_696},
			{"vioscsi", `vioscsi\w10\amd64\vioscsi.inf`, "100.101.104.28500", true, 101_376},
			{"netkvm", `NetKVM\w10\amd64\netkvm.inf`, "100.101.104.28500", false, 211_968}}
	}
	for _, k := range pkgs {
		why := "w10/amd64 matches Windows 10 build 19045 x64; staged and installed at first boot"
		if k.boot {
			why = "boot-critical storage: installed offline so Windows can boot from the new disk controller"
		}
		p.Packages = append(p.Packages, wizard.PackagePick{Name: k.name, INF: k.inf, Version: k.ver, Arch: "amd64", Signed: true, BootCritical: k.boot, Reason: why})
		if k.boot {
			p.Files = append(p.Files, wizard.FileChange{Path: `Windows\System32\drivers\` + k.name + ".sys", Action: "create", Size: k.size, Reason: "boot-critical driver"})
			svc := `HKLM\SYSTEM\ControlSet001\Services\` + k.name
			p.Registry = append(p.Registry,
				wizard.RegChange{Key: svc, Action: "create-key", Reason: "service for " + k.name},
				wizard.RegChange{Key: svc, Value: "Start", Type: "REG_DWORD", OldAbsent: true, New: "0", Action: "set", Reason: "boot start"},
				wizard.RegChange{Key: svc, Value: "Type", Type: "REG_DWORD", OldAbsent: true, New: "1", Action: "set", Reason: "kernel driver"},
				wizard.RegChange{Key: svc, Value: "ImagePath", Type: "REG_EXPAND_SZ", OldAbsent: true, New: `system32\drivers\` + k.name + ".sys", Action: "set"},
				wizard.RegChange{Key: svc, Value: "Group", Type: "REG_SZ", OldAbsent: true, New: "SCSI miniport", Action: "set"},
			)
		}
		p.Files = append(p.Files, wizard.FileChange{Path: `Windows\pvinject\drivers\` + k.name + `\` + k.name + ".inf", Action: "create", Size: 7_012, Reason: "staged for first boot"})
	}
	p.Registry = append(p.Registry,
		wizard.RegChange{Key: `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion`, Value: "DevicePath", Type: "REG_EXPAND_SZ",
			Old: `%SystemRoot%\inf`, New: `%SystemRoot%\inf;%SystemRoot%\pvinject\drivers`, Action: "set", Reason: "let PnP find staged drivers"},
		wizard.RegChange{Key: `HKLM\SYSTEM\ControlSet001\Control\Session Manager\Power`, Value: "HiberbootEnabled", Type: "REG_DWORD",
			Old: "1", New: "0", Action: "set", Reason: "Fast Startup off so the disk is clean at shutdown"},
	)
	p.FirstBoot = []string{
		fmt.Sprintf("install %d staged package(s) with pnputil before anyone logs on, retrying at most 3 times", len(pkgs)),
		"apply the MTU and write-cache choices once the devices exist",
		`log to C:\Windows\pvinject\firstboot.log and remove the runner`,
	}
	return p
}
