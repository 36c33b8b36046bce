package guest

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ControlSets is what SYSTEM\Select says and which ControlSetNNN exist.
// There is no CurrentControlSet in an offline hive: that is a runtime link.
type ControlSets struct {
	Current       int      `json:"current"`
	Default       int      `json:"default"`
	LastKnownGood int      `json:"last_known_good"`
	Failed        int      `json:"failed"`
	Present       []string `json:"present"` // e.g. ["ControlSet001", "ControlSet002"]
}

var controlSetRE = regexp.MustCompile(`(?i)^ControlSet(\d{3})$`)

func csName(n int) string { return fmt.Sprintf("ControlSet%03d", n) }

func (c ControlSets) has(n int) bool {
	for _, p := range c.Present {
		if strings.EqualFold(p, csName(n)) {
			return true
		}
	}
	return false
}

// readControlSets reads Select and lists ControlSetNNN. The chosen set is
// Select\Current; if it is missing, Default, then the lowest present set,
// with a warning, because edits in the wrong set do not take effect.
func readControlSets(sys Hive) (ControlSets, string, []string, error) {
	var cs ControlSets
	var warn []string
	names, err := subkeys(sys, "")
	if err != nil {
		return cs, "", nil, fmt.Errorf("listing the SYSTEM root: %w", err)
	}
	for _, n := range names {
		// Canonical case: hives may spell it differently, lookups ignore case.
		if m := controlSetRE.FindStringSubmatch(n); m != nil {
			cs.Present = append(cs.Present, "ControlSet"+m[1])
		}
	}
	sort.Strings(cs.Present)
	sel, found, err := readKey(sys, "Select")
	if err != nil {
		return cs, "", nil, fmt.Errorf("reading SYSTEM\\Select: %w", err)
	}
	if found {
		get := func(name string) int {
			n, ok := sel.uint(name)
			if !ok || n > 999 {
				return 0
			}
			return int(n)
		}
		cs.Current, cs.Default, cs.LastKnownGood, cs.Failed = get("Current"), get("Default"), get("LastKnownGood"), get("Failed")
	} else {
		warn = append(warn, "SYSTEM\\Select is missing")
	}
	switch {
	case cs.Current > 0 && cs.has(cs.Current):
		return cs, csName(cs.Current), warn, nil
	case cs.Default > 0 && cs.has(cs.Default):
		warn = append(warn, fmt.Sprintf("Select\\Current names %s, which does not exist; using Select\\Default", csName(cs.Current)))
		return cs, csName(cs.Default), warn, nil
	case len(cs.Present) > 0:
		warn = append(warn, fmt.Sprintf("Select names no existing control set; using %s", cs.Present[0]))
		return cs, cs.Present[0], warn, nil
	}
	return cs, "", append(warn, "the SYSTEM hive has no ControlSetNNN key"), nil
}

// StartOverride is one Services\<svc>\StartOverride key: Windows writes it
// when a boot driver's device was missing, and it overrides Start=0, so an
// injected boot driver would not load (injection-facts §2.6).
type StartOverride struct {
	ControlSet string            `json:"control_set"`
	Service    string            `json:"service"`
	Values     map[string]uint64 `json:"values"`
}

// storageServices are the boot storage drivers whose StartOverride matters.
var storageServices = []string{
	"viostor", "vioscsi", "xenvbd", "xenblk", "xenfilt", "xenbus", "pvscsi", "vmscsi", "storvsc",
	"stornvme", "storahci", "msahci", "iaStorV", "iaStorAVC", "atapi", "intelide", "pciide",
	"LSI_SAS", "LSI_SAS2", "LSI_SAS3", "LSI_SCSI", "megasas",
}

func readStartOverrides(sys Hive, sets []string) ([]StartOverride, error) {
	var out []StartOverride
	for _, cs := range sets {
		for _, svc := range storageServices {
			k, found, err := readKey(sys, cs+`\Services\`+svc+`\StartOverride`)
			if err != nil {
				return out, fmt.Errorf("reading %s\\Services\\%s\\StartOverride: %w", cs, svc, err)
			}
			if !found || len(k) == 0 {
				continue
			}
			so := StartOverride{ControlSet: cs, Service: svc, Values: map[string]uint64{}}
			for _, v := range k {
				n, err := v.Uint()
				if err == nil {
					so.Values[v.Name] = n
				}
			}
			out = append(out, so)
		}
	}
	return out, nil
}

// systemFacts are the SYSTEM-hive facts read from the chosen control set.
type systemFacts struct {
	procArch      string
	fastStartup   bool
	pendingRename bool
	csdVersion    uint64 // Control\Windows\CSDVersion: service pack << 8
}

func readSystemFacts(sys Hive, cs string) (systemFacts, error) {
	var f systemFacts
	env, _, err := readKey(sys, cs+`\Control\Session Manager\Environment`)
	if err != nil {
		return f, fmt.Errorf("reading %s\\Control\\Session Manager\\Environment: %w", cs, err)
	}
	f.procArch = env.str("PROCESSOR_ARCHITECTURE")
	pw, _, err := readKey(sys, cs+`\Control\Session Manager\Power`)
	if err != nil {
		return f, fmt.Errorf("reading %s\\Control\\Session Manager\\Power: %w", cs, err)
	}
	if n, ok := pw.uint("HiberbootEnabled"); ok && n != 0 {
		f.fastStartup = true
	}
	win, _, err := readKey(sys, cs+`\Control\Windows`)
	if err != nil {
		return f, fmt.Errorf("reading %s\\Control\\Windows: %w", cs, err)
	}
	f.csdVersion, _ = win.uint("CSDVersion")
	sm, _, err := readKey(sys, cs+`\Control\Session Manager`)
	if err != nil {
		return f, fmt.Errorf("reading %s\\Control\\Session Manager: %w", cs, err)
	}
	if v, ok := sm[strings.ToLower("PendingFileRenameOperations")]; ok {
		if ss, err := v.Strings(); err != nil || len(ss) > 0 {
			f.pendingRename = true
		}
	}
	return f, nil
}

// softwareFacts are the SOFTWARE-hive facts besides the version.
type softwareFacts struct {
	restrictions  []string // active Deny* policy values
	groupPolicy   bool
	rebootPending []string
	products      []Product
}

const (
	restrictionsKey = `Policies\Microsoft\Windows\DeviceInstall\Restrictions`
	gpHistoryKey    = `Microsoft\Windows\CurrentVersion\Group Policy\History`
	cbsRebootKey    = `Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending`
	wuRebootKey     = `Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired`
)

var guidRE = regexp.MustCompile(`^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$`)

func readSoftwareFacts(sw Hive) (softwareFacts, error) {
	var f softwareFacts
	r, _, err := readKey(sw, restrictionsKey)
	if err != nil {
		return f, fmt.Errorf("reading SOFTWARE\\%s: %w", restrictionsKey, err)
	}
	// Deny* policies (DenyUnspecified, DenyDeviceIDs, DenyDeviceClasses,
	// DenyRemovableDevices, DenyInstanceIDs) block a new driver; Allow*
	// values only carve exceptions out of them.
	for _, v := range r {
		if !strings.HasPrefix(strings.ToLower(v.Name), "deny") {
			continue
		}
		if n, err := v.Uint(); err == nil && n != 0 {
			f.restrictions = append(f.restrictions, v.Name)
		}
	}
	sort.Strings(f.restrictions)
	hist, err := subkeys(sw, gpHistoryKey)
	if err != nil {
		return f, fmt.Errorf("listing SOFTWARE\\%s: %w", gpHistoryKey, err)
	}
	for _, h := range hist {
		if guidRE.MatchString(h) {
			f.groupPolicy = true
			break
		}
	}
	for _, k := range []string{cbsRebootKey, wuRebootKey} {
		if _, found, err := readKey(sw, k); err != nil {
			return f, fmt.Errorf("reading SOFTWARE\\%s: %w", k, err)
		} else if found {
			f.rebootPending = append(f.rebootPending, `SOFTWARE\`+k)
		}
	}
	f.products, err = readProducts(sw)
	return f, err
}
