package wizard

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// OptionRules are a driver set's option defaults, limits and explanations.
type OptionRules struct {
	MTUMin     int        `json:"mtu_min"`
	MTUMax     int        `json:"mtu_max"`
	WriteCache WriteCache `json:"write_cache"` // default choice
	// Why the write-cache default is what it is, with its source.
	WriteCacheWhy string `json:"write_cache_why,omitempty"`
	MTUHelp       string `json:"mtu_help"`         // what the MTU does in the guest
	MTUHost       string `json:"mtu_host"`         // what to set on the host
	CacheHelp     string `json:"write_cache_help"` // what the write cache does
	CacheHost     string `json:"write_cache_host"` // what to set on the host
}

// The smallest IPv4 MTU every host must accept (RFC 791); netkvm's
// *JumboPacket counts the 14-byte Ethernet header and takes 590..65500.
const (
	minMTU          = 576
	ethernetHeader  = 14
	netkvmJumboMax  = 65500
	xenJumboMTU     = 9000
	defaultHostNote = "Use the same MTU on the host bridge or switch port; a larger guest MTU than the path allows drops packets silently."
)

// DefaultRules returns the documented defaults of a driver set. version
// matters only for Oracle VM PV (3.2.3 fixed a write-caching default that
// lost data, so pvinject defaults to off there and for older releases).
func DefaultRules(set Set, version string) OptionRules {
	r := OptionRules{
		MTUMin:     minMTU,
		MTUMax:     xenJumboMTU,
		WriteCache: CacheKeep,
		MTUHelp:    "The largest IP packet the guest's network adapter sends; leave empty to keep the guest's setting (usually 1500).",
		MTUHost:    defaultHostNote,
		CacheHelp:  "Whether Windows caches writes in memory before they reach the virtual disk; off is safest if the host can lose power.",
		CacheHost:  "Match the host's disk cache mode: with cache=none or directsync on the host, a guest write cache only adds risk.",
	}
	switch set {
	case SetVirtioWin:
		r.MTUMax = netkvmJumboMax - ethernetHeader
		r.MTUHelp = "Sets netkvm's *JumboPacket to MTU+14 (590-65500) and the IP MTU with netsh at first boot; leave empty to keep 1500."
		r.MTUHost = "On QEMU set host_mtu on the virtio-net device (e.g. -netdev tap,... -device virtio-net-pci,host_mtu=9000) and the same MTU on the tap and bridge."
		r.CacheHost = "QEMU's cache mode (cache=none, writeback...) decides host-side caching; keep the guest's setting unless you know the host cache mode."
		r.WriteCacheWhy = "virtio-win documents no default change; the guest's setting is kept."
	case SetOracle:
		r.WriteCache = CacheOff
		r.MTUHelp = "Sets the Oracle VM PV network adapter's MTU property and the IP MTU at first boot; leave empty to keep 1500."
		r.MTUHost = "Set the same MTU on the Oracle VM server's network (jumbo frames up to 9000)."
		r.WriteCacheWhy = "Oracle VM PV Drivers 3.2.3 fixed a write-caching default that could lose data; pvinject turns it off (guide, 3.2.3 release notes)."
		if version != "" && !strings.HasPrefix(version, "3.2.3") {
			r.WriteCacheWhy = "Oracle VM PV Drivers before 3.2.3 enabled write caching by default, which could lose data; pvinject turns it off."
		}
	case SetXen:
		r.MTUHelp = "Sets the Xen PV network adapter's MTU property and the IP MTU at first boot; leave empty to keep 1500."
		r.MTUHost = "Set the same MTU on the Xen host's bridge or vSwitch network (XCP-ng: xe network-param-set MTU=...)."
		r.WriteCacheWhy = "The Xen PV drivers document no default change; the guest's setting is kept."
	}
	return r
}

// Formats are the output image formats, the values of `pvinject inject --format`.
var Formats = []string{"raw", "qcow2", "vhdx", "vhd", "vmdk"}

// FormatFromExt guesses an image format from a file name, "" when unknown.
func FormatFromExt(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".raw", ".img", ".bin":
		return "raw"
	case ".qcow2", ".qcow":
		return "qcow2"
	case ".vhdx":
		return "vhdx"
	case ".vhd", ".vpc":
		return "vhd"
	case ".vmdk":
		return "vmdk"
	}
	return ""
}

func validFormat(f string) bool {
	for _, k := range Formats {
		if k == f {
			return true
		}
	}
	return false
}

// Options is what the Options step edits, kept as the user typed it.
type Options struct {
	MTU        string     `json:"mtu"` // text field; empty keeps the guest's MTU
	WriteCache WriteCache `json:"write_cache"`
	InPlace    bool       `json:"in_place"`
	Output     string     `json:"output"`
	Format     string     `json:"format"`
}

// Option fields, as FieldError.Field names them.
const (
	FieldMTU        = "mtu"
	FieldWriteCache = "write_cache"
	FieldOutput     = "output"
	FieldFormat     = "format"
)

// FieldError is one validation problem of the Options step.
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// ParseMTU checks an MTU typed by the user; 0 means "keep".
func ParseMTU(text string, r OptionRules) (int, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(text)
	if err != nil {
		return 0, FieldError{FieldMTU, fmt.Sprintf("MTU %q is not a whole number", text)}
	}
	if n < r.MTUMin || n > r.MTUMax {
		return 0, FieldError{FieldMTU, fmt.Sprintf("MTU %d is outside %d-%d for these drivers", n, r.MTUMin, r.MTUMax)}
	}
	return n, nil
}

// Validate checks o for the image at source under rules r and returns every
// problem, in the order the screen shows the fields.
func (o Options) Validate(source string, r OptionRules) []FieldError {
	var errs []FieldError
	if _, err := ParseMTU(o.MTU, r); err != nil {
		errs = append(errs, err.(FieldError))
	}
	if !o.WriteCache.Valid() {
		errs = append(errs, FieldError{FieldWriteCache, fmt.Sprintf("write cache %q must be on, off or keep", o.WriteCache)})
	}
	if o.InPlace {
		return errs
	}
	if !validFormat(o.Format) {
		errs = append(errs, FieldError{FieldFormat, fmt.Sprintf("output format %q must be one of %s", o.Format, strings.Join(Formats, ", "))})
	}
	errs = append(errs, validateOutput(o.Output, source)...)
	return errs
}

func validateOutput(out, source string) []FieldError {
	if strings.TrimSpace(out) == "" {
		return []FieldError{{FieldOutput, "choose where to write the new image, or write in place"}}
	}
	abs, err := filepath.Abs(out)
	if err != nil {
		return []FieldError{{FieldOutput, fmt.Sprintf("output %s: %v", out, err)}}
	}
	if src, err := filepath.Abs(source); err == nil && src == abs {
		return []FieldError{{FieldOutput, "the output is the image itself; choose another file or write in place"}}
	}
	if st, err := os.Stat(filepath.Dir(abs)); err != nil || !st.IsDir() {
		return []FieldError{{FieldOutput, fmt.Sprintf("folder %s does not exist", filepath.Dir(abs))}}
	}
	if _, err := os.Lstat(abs); err == nil {
		return []FieldError{{FieldOutput, fmt.Sprintf("%s already exists; pvinject never overwrites an image", abs)}}
	}
	return nil
}

// OutputForFormat gives output the extension of format when its extension
// names another format; any other name is left as the user typed it.
func OutputForFormat(output, format string) string {
	cur := FormatFromExt(output)
	if output == "" || cur == "" || cur == format || !validFormat(format) {
		return output
	}
	ext := "." + format
	if format == "raw" {
		ext = ".img"
	}
	return strings.TrimSuffix(output, filepath.Ext(output)) + ext
}

// DefaultOutput proposes a new image path beside source: name-pv.ext.
func DefaultOutput(source, format string) string {
	ext := filepath.Ext(source)
	base := strings.TrimSuffix(source, ext)
	if format != "" && FormatFromExt(source) != format {
		ext = "." + format
		if format == "raw" {
			ext = ".img"
		}
	}
	return base + "-pv" + ext
}
