package netid

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pvinject/pvinject/core/hive"
)

// Reader is the read-only view of a SYSTEM hive that detection needs; both
// of core/hive's readers (the whole-file Hive and the in-place Lazy) are
// one. A missing key is an error wrapping hive.ErrNotFound.
type Reader interface {
	Subkeys(path string) ([]string, error)
	Values(path string) ([]hive.NamedValue, error)
}

// Registry locations, relative to a ControlSetNNN (docs/NETWORK-IDENTITY.md).
const (
	NetClassGUID  = "{4d36e972-e325-11ce-bfc1-08002be10318}"
	classKey      = `Control\Class\` + NetClassGUID
	networkKey    = `Control\Network\{4D36E972-E325-11CE-BFC1-08002BE10318}`
	TcpipIfKey    = `Services\Tcpip\Parameters\Interfaces`
	tcpip6IfKey   = `Services\Tcpip6\Parameters\Interfaces`
	NsiIPv4Addr   = `Control\Nsi\{eb004a00-9b1a-11d4-9123-0050047759bc}\10`
	NsiIPv6Addr   = `Control\Nsi\{eb004a01-9b1a-11d4-9123-0050047759bc}\10`
	devPropKeySet = `Properties\{83da6326-97a6-4088-9453-a1923f573b29}`
)

// ncfPhysical is the NCF_PHYSICAL bit of a net class instance's
// Characteristics (netcfgx.h): a real (or emulated) adapter, not a WAN
// miniport or tunnel.
const ncfPhysical = 0x4

// configflagRemoved is CONFIGFLAG_REMOVED (regstr.h): the device was removed.
const configflagRemoved = 0x2

// Identity is every network adapter found in one control set.
type Identity struct {
	ControlSet string    `json:"control_set"`
	Adapters   []Adapter `json:"adapters"`
}

// Adapter is one network adapter the guest had and its TCP/IP settings.
type Adapter struct {
	// ClassKey is the adapter's instance under the net class key, e.g. "0007".
	ClassKey    string `json:"class_key"`
	Description string `json:"description"` // DriverDesc
	// ID is NetCfgInstanceId, the {GUID} naming its TCP/IP and connection keys.
	ID          string `json:"id"`
	ComponentID string `json:"component_id"`
	// PnPID is MatchingDeviceId: the hardware id the driver was installed for.
	PnPID string `json:"pnp_id"`
	// Instance is the device instance path (Connection\PnpInstanceID).
	Instance    string   `json:"instance,omitempty"`
	HardwareIDs []string `json:"hardware_ids,omitempty"` // Enum\<Instance>\HardwareID
	Service     string   `json:"service,omitempty"`      // Enum\<Instance>\Service
	Connection  string   `json:"connection"`             // the name in Network Connections
	Physical    bool     `json:"physical"`               // NCF_PHYSICAL
	// NetworkAddress is a MAC set in the driver's advanced properties ("" when
	// the adapter used its hardware address, which the hive does not hold).
	NetworkAddress string `json:"network_address,omitempty"`
	// Ghost: the device was already gone when the guest shut down (GhostReason says how that is known).
	Ghost        bool   `json:"ghost"`
	GhostReason  string `json:"ghost_reason,omitempty"`
	NetLuidIndex uint32 `json:"net_luid_index,omitempty"`
	IfType       uint32 `json:"if_type,omitempty"`

	DHCP bool `json:"dhcp"` // EnableDHCP
	// Static is true when IPv4 has fixed addresses or IPv6 has persistent ones.
	Static              bool       `json:"static"`
	IPv4                []Address  `json:"ipv4"`
	Gateways            []Gateway  `json:"gateways"`
	DNS                 []string   `json:"dns"`
	Domain              string     `json:"domain,omitempty"`
	RegisterAdapterName bool       `json:"register_adapter_name"`
	IPv6                []Address  `json:"ipv6"`
	DNS6                []string   `json:"dns6"`
	NSIValues           []NSIValue `json:"nsi_values,omitempty"`
}

// Address is an IP address and its prefix length.
type Address struct {
	Address string `json:"address"`
	Mask    string `json:"mask,omitempty"` // IPv4 dotted mask as stored
	Prefix  int    `json:"prefix"`
}

// String is ADDR/LEN.
func (a Address) String() string { return fmt.Sprintf("%s/%d", a.Address, a.Prefix) }

// Gateway is a default gateway and its metric (0: automatic).
type Gateway struct {
	Address string `json:"address"`
	Metric  int    `json:"metric"`
}

// NSIValue names one persistent address of the adapter in the NSI store,
// so that the first-boot runner can remove it from the old adapter.
type NSIValue struct {
	Key  string `json:"key"` // relative to the control set
	Name string `json:"name"`
}

var classInstRE = regexp.MustCompile(`^\d{4}$`)

// Read lists the network adapters of control set cs (e.g. "ControlSet001",
// the one Select\Current names). Adapters are in class-key order; virtual
// adapters (WAN miniports, tunnels) are left out unless they hold static
// settings.
func Read(h Reader, cs string) (Identity, error) {
	id := Identity{ControlSet: cs, Adapters: []Adapter{}}
	insts, err := subkeys(h, cs+`\`+classKey)
	if err != nil {
		return id, fmt.Errorf("netid: listing the network adapter class: %w", err)
	}
	sort.Strings(insts)
	v4, err := nsiNames(h, cs+`\`+NsiIPv4Addr)
	if err != nil {
		return id, err
	}
	v6, err := nsiNames(h, cs+`\`+NsiIPv6Addr)
	if err != nil {
		return id, err
	}
	for _, inst := range insts {
		if !classInstRE.MatchString(inst) {
			continue
		}
		a, ok, err := readAdapter(h, cs, inst, v4, v6)
		if err != nil {
			return id, err
		}
		if ok {
			id.Adapters = append(id.Adapters, a)
		}
	}
	return id, nil
}

func readAdapter(h Reader, cs, inst string, v4, v6 []string) (Adapter, bool, error) {
	a := Adapter{ClassKey: inst, IPv4: []Address{}, Gateways: []Gateway{}, DNS: []string{}, IPv6: []Address{}, DNS6: []string{}}
	k, found, err := readKey(h, cs+`\`+classKey+`\`+inst)
	if err != nil || !found {
		return a, false, err
	}
	a.ID = k.str("NetCfgInstanceId")
	if a.ID == "" {
		return a, false, nil // an instance without network configuration
	}
	a.Description = k.str("DriverDesc")
	a.ComponentID = k.str("ComponentId")
	a.PnPID = k.str("MatchingDeviceId")
	a.NetworkAddress = k.str("NetworkAddress")
	ch, _ := k.uint("Characteristics")
	a.Physical = ch&ncfPhysical != 0
	if n, ok := k.uint("NetLuidIndex"); ok {
		a.NetLuidIndex = uint32(n)
	}
	if n, ok := k.uint("*IfType"); ok {
		a.IfType = uint32(n)
	}

	conn, _, err := readKey(h, cs+`\`+networkKey+`\`+a.ID+`\Connection`)
	if err != nil {
		return a, false, fmt.Errorf("netid: reading the connection of %s: %w", a.ID, err)
	}
	a.Connection = conn.str("Name")
	a.Instance = conn.str("PnpInstanceID")

	if err := readTcpip(h, cs, &a); err != nil {
		return a, false, err
	}
	if err := readTcpip6(h, cs, &a, v6); err != nil {
		return a, false, err
	}
	a.NSIValues = append(a.NSIValues, a.nsiFor(NsiIPv4Addr, v4)...)
	a.Static = (!a.DHCP && len(a.IPv4) > 0) || len(a.IPv6) > 0
	if !a.Physical && !a.Static {
		return a, false, nil
	}
	if err := readDevice(h, cs, &a); err != nil {
		return a, false, err
	}
	return a, true, nil
}

func readTcpip(h Reader, cs string, a *Adapter) error {
	t, found, err := readKey(h, cs+`\`+TcpipIfKey+`\`+a.ID)
	if err != nil {
		return fmt.Errorf("netid: reading the TCP/IP settings of %s: %w", a.ID, err)
	}
	if !found {
		// TCP/IP was never bound to this adapter: Windows' default is DHCP.
		a.DHCP = true
		return nil
	}
	dhcp, ok := t.uint("EnableDHCP")
	a.DHCP = !ok || dhcp != 0
	if n, ok := t.uint("RegisterAdapterName"); ok {
		a.RegisterAdapterName = n != 0
	}
	a.Domain = t.str("Domain")
	a.DNS = splitList(t.str("NameServer"))
	if a.DHCP {
		return nil
	}
	addrs, masks := t.strs("IPAddress"), t.strs("SubnetMask")
	for i, s := range addrs {
		ip, err := netip.ParseAddr(s)
		if err != nil || !ip.Is4() || ip.IsUnspecified() {
			continue // "0.0.0.0" is what Windows leaves when no address is set
		}
		ad := Address{Address: ip.String()}
		if i < len(masks) {
			ad.Mask = masks[i]
			ad.Prefix = MaskBits(masks[i])
		}
		a.IPv4 = append(a.IPv4, ad)
	}
	gws, metrics := t.strs("DefaultGateway"), t.strs("DefaultGatewayMetric")
	for i, s := range gws {
		if _, err := netip.ParseAddr(s); err != nil {
			continue
		}
		g := Gateway{Address: s}
		if i < len(metrics) {
			g.Metric, _ = strconv.Atoi(metrics[i])
		}
		a.Gateways = append(a.Gateways, g)
	}
	return nil
}

// readTcpip6 reads IPv6 DNS servers (Tcpip6 interface key) and the
// persistent static addresses, which Windows Vista and later keep in the
// NSI store keyed by the interface's LUID, not in Tcpip6.
func readTcpip6(h Reader, cs string, a *Adapter, v6 []string) error {
	t, _, err := readKey(h, cs+`\`+tcpip6IfKey+`\`+a.ID)
	if err != nil {
		return fmt.Errorf("netid: reading the IPv6 settings of %s: %w", a.ID, err)
	}
	a.DNS6 = splitList(t.str("NameServer"))
	for _, nv := range a.nsiFor(NsiIPv6Addr, v6) {
		vals, err := h.Values(cs + `\` + nv.Key)
		if err != nil {
			return fmt.Errorf("netid: reading %s: %w", nv.Key, err)
		}
		for _, v := range vals {
			if !strings.EqualFold(v.Name, nv.Name) {
				continue
			}
			raw, err := hex.DecodeString(nv.Name[16:48])
			if err != nil {
				continue
			}
			ip := netip.AddrFrom16([16]byte(raw))
			ad := Address{Address: ip.String(), Prefix: 64}
			// Offset 16 holds the on-link prefix length, as in the IPv4
			// table whose entries match Tcpip's SubnetMask (docs).
			if len(v.Data) > 16 && v.Data[16] <= 128 {
				ad.Prefix = int(v.Data[16])
			}
			a.IPv6 = append(a.IPv6, ad)
			a.NSIValues = append(a.NSIValues, nv)
		}
	}
	return nil
}

// readDevice reads the device instance and decides whether the adapter
// was already a ghost (docs/NETWORK-IDENTITY.md, "Ghost adapters").
func readDevice(h Reader, cs string, a *Adapter) error {
	if a.Instance == "" {
		if a.Physical {
			a.Ghost, a.GhostReason = true, "its connection names no device"
		}
		return nil
	}
	e, found, err := readKey(h, cs+`\Enum\`+a.Instance)
	if err != nil {
		return fmt.Errorf("netid: reading device %s: %w", a.Instance, err)
	}
	if !found {
		a.Ghost, a.GhostReason = true, "its device was removed from Plug and Play"
		return nil
	}
	a.HardwareIDs = e.strs("HardwareID")
	a.Service = e.str("Service")
	if f, ok := e.uint("ConfigFlags"); ok && f&configflagRemoved != 0 {
		a.Ghost, a.GhostReason = true, "Plug and Play marks its device removed"
		return nil
	}
	arrival, okA := fileTime(h, cs+`\Enum\`+a.Instance+`\`+devPropKeySet+`\0066\0000`)
	removal, okR := fileTime(h, cs+`\Enum\`+a.Instance+`\`+devPropKeySet+`\0067\0000`)
	if okA && okR && removal > arrival {
		a.Ghost, a.GhostReason = true, "its device was last removed after it last arrived"
	}
	return nil
}

// fileTime reads a DEVPROP_TYPE_FILETIME device property (the key's
// default value, 8 bytes).
func fileTime(h Reader, path string) (uint64, bool) {
	vals, err := h.Values(path)
	if err != nil {
		return 0, false
	}
	for _, v := range vals {
		if v.Name == "" && len(v.Data) == 8 {
			return binary.LittleEndian.Uint64(v.Data), true
		}
	}
	return 0, false
}

// LUIDHex is how the NSI store spells an interface LUID in value names:
// the 8 bytes of (IfType<<48 | NetLuidIndex<<24), little-endian, in hex.
func LUIDHex(index, ifType uint32) string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(ifType)<<48|uint64(index&0xffffff)<<24)
	return hex.EncodeToString(b[:])
}

func (a Adapter) nsiFor(key string, names []string) []NSIValue {
	if a.NetLuidIndex == 0 {
		return nil
	}
	ifType := a.IfType
	if ifType == 0 {
		ifType = 6 // IF_TYPE_ETHERNET_CSMACD
	}
	prefix := LUIDHex(a.NetLuidIndex, ifType)
	var out []NSIValue
	for _, n := range names {
		if len(n) >= 48 || key == NsiIPv4Addr {
			if strings.HasPrefix(strings.ToLower(n), prefix) {
				out = append(out, NSIValue{Key: key, Name: n})
			}
		}
	}
	return out
}

func nsiNames(h Reader, path string) ([]string, error) {
	vals, err := h.Values(path)
	if errors.Is(err, hive.ErrNotFound) {
		return nil, nil // XP and 2003 have no NSI store
	}
	if err != nil {
		return nil, fmt.Errorf("netid: reading %s: %w", path, err)
	}
	var out []string
	for _, v := range vals {
		out = append(out, v.Name)
	}
	return out, nil
}

// MaskBits is the prefix length of a dotted IPv4 mask (0 when not one).
func MaskBits(m string) int {
	ip, err := netip.ParseAddr(m)
	if err != nil || !ip.Is4() {
		return 0
	}
	b := ip.As4()
	n := 0
	for _, x := range b {
		for i := 7; i >= 0; i-- {
			if x&(1<<i) == 0 {
				return n
			}
			n++
		}
	}
	return n
}

// MaskOf is the dotted IPv4 mask of a prefix length.
func MaskOf(bits int) string {
	var m uint32
	if bits > 0 {
		m = ^uint32(0) << (32 - bits)
	}
	return fmt.Sprintf("%d.%d.%d.%d", m>>24, m>>16&0xff, m>>8&0xff, m&0xff)
}

// splitList splits NameServer: Windows separates servers with commas
// (XP and later) or spaces (older writers).
func splitList(s string) []string {
	return append([]string{}, strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })...)
}

// key is one registry key's values, by lower-case name.
type key map[string]hive.Value

func readKey(h Reader, path string) (key, bool, error) {
	vals, err := h.Values(path)
	if errors.Is(err, hive.ErrNotFound) {
		return key{}, false, nil
	}
	if err != nil {
		return key{}, false, err
	}
	k := make(key, len(vals))
	for _, v := range vals {
		k[strings.ToLower(v.Name)] = v.Value
	}
	return k, true, nil
}

func subkeys(h Reader, path string) ([]string, error) {
	s, err := h.Subkeys(path)
	if errors.Is(err, hive.ErrNotFound) {
		return nil, nil
	}
	return s, err
}

func (k key) str(name string) string {
	v, ok := k[strings.ToLower(name)]
	if !ok {
		return ""
	}
	s, err := v.String()
	if err != nil {
		ss, err := v.Strings()
		if err != nil || len(ss) == 0 {
			return ""
		}
		s = ss[0]
	}
	return strings.TrimSpace(s)
}

func (k key) strs(name string) []string {
	v, ok := k[strings.ToLower(name)]
	if !ok {
		return nil
	}
	s, _ := v.Fields()
	return s
}

func (k key) uint(name string) (uint64, bool) {
	v, ok := k[strings.ToLower(name)]
	if !ok {
		return 0, false
	}
	n, err := v.Uint64()
	return n, err == nil
}
