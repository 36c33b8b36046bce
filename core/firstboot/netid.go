package firstboot

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// NetIdentity is one old adapter's TCP/IP settings, re-applied at first
// boot to a new adapter (docs/FIRSTBOOT.md, "Network identity").
type NetIdentity struct {
	// Name is the old connection name; the new adapter is renamed to it.
	Name string `json:"name"`
	// MAC picks the new adapter by its hardware address ("52-54-00-12-34-56");
	// "" picks the Order-th new adapter whose PnP id matches NICMatch.
	MAC   string `json:"mac,omitempty"`
	Order int    `json:"order"`

	IPv4          []IPv4   `json:"ipv4"`
	Gateway       string   `json:"gateway,omitempty"`
	GatewayMetric int      `json:"gateway_metric"`
	DNS           []string `json:"dns"`
	Domain        string   `json:"domain,omitempty"`
	// RegisterAdapterName: -1 leaves Windows' default, 0 or 1 sets it.
	RegisterAdapterName int      `json:"register_adapter_name"`
	IPv6                []string `json:"ipv6"` // ADDR/LEN
	DNS6                []string `json:"dns6"`
	// Ghosts are the old adapters whose static settings are removed before
	// the new adapter gets them, so Windows sees no address conflict.
	Ghosts []Ghost `json:"ghosts"`
}

// IPv4 is one address and its dotted mask.
type IPv4 struct {
	Address string `json:"address"`
	Mask    string `json:"mask"`
}

// Ghost is an old adapter whose settings the runner clears.
type Ghost struct {
	ID   string `json:"id"`   // NetCfgInstanceId
	Name string `json:"name"` // its connection name, which the runner frees
	// NSI are persistent address values of the old interface (key relative
	// to the control set, value name), deleted too.
	NSI [][2]string `json:"nsi,omitempty"`
}

var (
	guidRE    = regexp.MustCompile(`^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$`)
	macRE     = regexp.MustCompile(`^[0-9A-F]{2}(-[0-9A-F]{2}){5}$`)
	domainRE  = regexp.MustCompile(`^[A-Za-z0-9.\-]{1,253}$`)
	nsiNameRE = regexp.MustCompile(`^[0-9a-fA-F]{16,80}$`)
	nsiKeyRE  = regexp.MustCompile(`^Control\\Nsi\\\{eb004a0[01]-9b1a-11d4-9123-0050047759bc\}\\10$`)
)

// safeConnName accepts what a connection name may hold without breaking
// out of the script's double quotes: no " % ! ^ & | < > and no controls.
func safeConnName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, r := range s {
		if r < 0x20 || strings.ContainsRune(`"%!^&|<>`, r) {
			return false
		}
	}
	return true
}

// Validate reports whether the runner can carry n safely.
func (n NetIdentity) Validate() error { return n.validate(0) }

func (n NetIdentity) validate(i int) error {
	bad := func(what string, v any) error {
		return fmt.Errorf("firstboot: network identity %d: %s %q is not safe or not valid", i+1, what, v)
	}
	if n.Name != "" && !safeConnName(n.Name) {
		return bad("connection name", n.Name)
	}
	if n.MAC != "" && !macRE.MatchString(n.MAC) {
		return bad("MAC", n.MAC)
	}
	if n.MAC == "" && n.Order < 1 {
		return bad("order", n.Order)
	}
	for _, a := range n.IPv4 {
		ip, err1 := netip.ParseAddr(a.Address)
		m, err2 := netip.ParseAddr(a.Mask)
		if err1 != nil || err2 != nil || !ip.Is4() || !m.Is4() {
			return bad("IPv4 address", a.Address+" "+a.Mask)
		}
	}
	for _, s := range append(append([]string{n.Gateway}, n.DNS...), n.DNS6...) {
		if _, err := netip.ParseAddr(s); s != "" && err != nil {
			return bad("address", s)
		}
	}
	for _, s := range n.IPv6 {
		if p, err := netip.ParsePrefix(s); err != nil || !p.Addr().Is6() {
			return bad("IPv6 address", s)
		}
	}
	if n.Domain != "" && !domainRE.MatchString(n.Domain) {
		return bad("DNS suffix", n.Domain)
	}
	if n.GatewayMetric < 0 || n.GatewayMetric > 9999 || n.RegisterAdapterName < -1 || n.RegisterAdapterName > 1 {
		return bad("metric or registration", fmt.Sprint(n.GatewayMetric, n.RegisterAdapterName))
	}
	if len(n.IPv4) == 0 && len(n.IPv6) == 0 {
		return bad("address list", "")
	}
	for _, g := range n.Ghosts {
		if !guidRE.MatchString(g.ID) || (g.Name != "" && !safeConnName(g.Name)) {
			return bad("old adapter", g.ID)
		}
		for _, v := range g.NSI {
			if !nsiKeyRE.MatchString(v[0]) || !nsiNameRE.MatchString(v[1]) {
				return bad("persistent address value", v)
			}
		}
	}
	return nil
}

const (
	netConnKey = `HKLM\SYSTEM\CurrentControlSet\Control\Network\{4D36E972-E325-11CE-BFC1-08002BE10318}`
	tcpipIfKey = `HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters\Interfaces`
)

// GhostSuffix is added to an old adapter's connection name so that the new
// adapter can take the name.
const GhostSuffix = " (old adapter)"

// writeNetIdentity writes the network identity steps: a bounded wait for
// the new adapters, then per identity the ghost clean-up and the netsh
// commands. w is Script's line writer; wait the PnP wait in seconds.
func writeNetIdentity(w func(string, ...any), ids []NetIdentity, wait int) {
	w(`:netid`)
	w(`call :log "network identity: waiting for %d new network adapter(s)"`, len(ids))
	w(`set /a NETLEFT=%d`, wait)
	w(`:netidwait`)
	w(`set APPLY=0`)
	w(`call :findnics`)
	w(`if %%NICS%% GEQ %d goto :netidgo`, len(ids))
	w(`if %%NETLEFT%% LEQ 0 goto :netidnone`)
	w(`ping -n 6 127.0.0.1 >nul`)
	w(`set /a NETLEFT=NETLEFT-5`)
	w(`goto :netidwait`)
	w(`:netidnone`)
	w(`call :log "network identity: %%NICS%% new network adapter(s) appeared within %d s, %d needed; no settings applied, trying again at the next boot"`, wait, len(ids))
	w(`set FAILED=1`)
	w(`exit /b 0`)
	w(`:netidgo`)
	for i := range ids {
		w(`if not exist "%%STATE%%\done-netid-%d" call :netid%d`, i+1, i+1)
	}
	w(`exit /b 0`)
	w(``)
	for i, n := range ids {
		writeOne(w, i+1, n)
	}
	// :netpick ORDER sets NG to the NetCfgInstanceId of the ORDER-th adapter
	// (class key order) whose MatchingDeviceId matches, reusing :findnics.
	w(`:netpick`)
	w(`set "NG="`)
	w(`set PICK=%%~1`)
	w(`set APPLY=2`)
	w(`call :findnics`)
	w(`set APPLY=0`)
	w(`exit /b 0`)
	w(`:netpicked`)
	w(`if not "%%NICS%%"=="%%PICK%%" exit /b 0`)
	w(`for /f "tokens=1,2,*" %%%%a in ('reg query "%%K%%" /v NetCfgInstanceId 2^>nul') do if /i "%%%%a"=="NetCfgInstanceId" set "NG=%%%%c"`)
	w(`exit /b 0`)
	// :netmac MAC sets NG from getmac's "MAC","\Device\Tcpip_{GUID}" lines.
	w(`:netmac`)
	w(`set "NG="`)
	w(`set "WANTMAC=%%~1"`)
	w(`for /f "tokens=1,2 delims=," %%%%a in ('getmac /fo csv /nh 2^>nul') do call :netmacline %%%%a %%%%b`)
	w(`exit /b 0`)
	w(`:netmacline`)
	w(`if /i not "%%~1"=="%%WANTMAC%%" exit /b 0`)
	w(`set "T=%%~2"`)
	w(`set "T=%%T:*Tcpip_=%%"`)
	w(`if "%%T:~0,1%%"=="{" set "NG=%%T%%"`)
	w(`exit /b 0`)
	// :netghost GUID NEWNAME clears an old adapter's static settings and
	// frees its connection name.
	w(`:netghost`)
	w(`set "GK=%s\%%~1"`, tcpipIfKey)
	w(`reg query "%%GK%%" >nul 2>&1`)
	w(`if errorlevel 1 exit /b 0`)
	w(`for %%%%v in (IPAddress SubnetMask DefaultGateway DefaultGatewayMetric NameServer) do reg delete "%%GK%%" /v %%%%v /f >nul 2>&1`)
	w(`reg add "%%GK%%" /v EnableDHCP /t REG_DWORD /d 1 /f >nul 2>&1`)
	w(`call :log "network identity: static settings removed from the old adapter %%~1"`)
	w(`reg query "%s\%%~1\Connection" /v Name >nul 2>&1`, netConnKey)
	w(`if errorlevel 1 exit /b 0`)
	w(`reg add "%s\%%~1\Connection" /v Name /t REG_SZ /d "%%~2" /f >nul 2>&1`, netConnKey)
	w(`call :log "network identity: the old adapter's connection is now named %%~2"`)
	w(`exit /b 0`)
	w(``)
}

func writeOne(w func(string, ...any), i int, n NetIdentity) {
	tag := fmt.Sprintf("network identity %d (%s)", i, n.Name)
	if n.Name == "" {
		tag = fmt.Sprintf("network identity %d", i)
	}
	w(`:netid%d`, i)
	if n.MAC != "" {
		w(`call :netmac %s`, n.MAC)
		w(`if not defined NG goto :netid%dnone`, i)
		w(`call :log "%s: new adapter !NG! found by its MAC %s"`, tag, n.MAC)
	} else {
		w(`call :netpick %d`, n.Order)
		w(`if not defined NG goto :netid%dnone`, i)
		w(`call :log "%s: new adapter !NG! found by its PnP id, number %d in install order"`, tag, n.Order)
	}
	for _, g := range n.Ghosts {
		if strings.EqualFold(g.ID, "") {
			continue
		}
		w(`if /i not "%%NG%%"=="%s" call :netghost "%s" "%s%s"`, g.ID, g.ID, g.Name, GhostSuffix)
		for _, v := range g.NSI {
			w(`reg delete "HKLM\SYSTEM\CurrentControlSet\%s" /v %s /f >nul 2>&1`, v[0], v[1])
		}
	}
	w(`set "NN="`)
	w(`for /f "tokens=1,2,*" %%%%a in ('reg query "%s\%%NG%%\Connection" /v Name 2^>nul') do if /i "%%%%a"=="Name" set "NN=%%%%c"`, netConnKey)
	w(`if not defined NN goto :netid%dnone`, i)
	w(`call :log "%s: applying the saved settings to the connection %%NN%%"`, tag)
	netsh := func(label, args string, a ...any) {
		w(`netsh `+args+` >>"%%LOG%%" 2>&1`, a...)
		w(`call :log "%s: %s: netsh exited with !errorlevel!"`, tag, label)
	}
	for j, a := range n.IPv4 {
		if j == 0 {
			gw := "gateway=none"
			if n.Gateway != "" {
				// Metric 0 is Windows' automatic metric; gwmetric is
				// optional and takes 1-9999 (netsh interface ip, Windows
				// Server 2003 syntax), so it is given only when set.
				gw = "gateway=" + n.Gateway
				if n.GatewayMetric > 0 {
					gw += fmt.Sprintf(" gwmetric=%d", n.GatewayMetric)
				}
			}
			netsh("set address "+a.Address, `interface ip set address name="%%NN%%" source=static addr=%s mask=%s %s`, a.Address, a.Mask, gw)
		} else {
			netsh("add address "+a.Address, `interface ip add address name="%%NN%%" addr=%s mask=%s`, a.Address, a.Mask)
		}
	}
	for j, d := range n.DNS {
		if j == 0 {
			netsh("set dns "+d, `interface ip set dns name="%%NN%%" source=static addr=%s register=primary`, d)
		} else {
			netsh("add dns "+d, `interface ip add dns name="%%NN%%" addr=%s index=%d`, d, j+1)
		}
	}
	for _, a := range n.IPv6 {
		netsh("add address "+a, `interface ipv6 add address interface="%%NN%%" address=%s`, a)
	}
	for j, d := range n.DNS6 {
		netsh("add IPv6 dns "+d, `interface ipv6 add dnsserver interface="%%NN%%" address=%s index=%d`, d, j+1)
	}
	if n.Domain != "" {
		w(`reg add "%s\%%NG%%" /v Domain /t REG_SZ /d %s /f >nul 2>&1`, tcpipIfKey, n.Domain)
		w(`call :log "%s: DNS suffix %s"`, tag, n.Domain)
	}
	if n.RegisterAdapterName >= 0 {
		w(`reg add "%s\%%NG%%" /v RegisterAdapterName /t REG_DWORD /d %d /f >nul 2>&1`, tcpipIfKey, n.RegisterAdapterName)
	}
	if n.Name != "" {
		w(`if /i "%%NN%%"=="%s" goto :netid%dnamed`, n.Name, i)
		netsh("rename to "+n.Name, `interface set interface name="%%NN%%" newname="%s"`, n.Name)
		w(`:netid%dnamed`, i)
	}
	w(`>"%%STATE%%\done-netid-%d" echo done`, i)
	w(`exit /b 0`)
	w(`:netid%dnone`, i)
	w(`call :log "%s: no matching new adapter or connection found; its settings were not applied, trying again at the next boot"`, tag)
	w(`set FAILED=1`)
	w(`exit /b 0`)
	w(``)
}
