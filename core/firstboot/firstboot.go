package firstboot

import (
	"fmt"
	"regexp"
	"strings"
)

// ServiceName is the Windows service that starts the runner.
const ServiceName = "pvinject-firstboot"

// Dir is the runner's folder, relative to %SystemRoot%.
const Dir = `pvinject`

// Package is one staged driver package to install with pnputil.
type Package struct {
	Name     string // for the log, e.g. "netkvm"
	INF      string // path relative to %SystemRoot%\pvinject, with backslashes
	Required bool   // a failure keeps the runner for another boot
}

// WriteCache is the disk write-cache choice applied at first boot.
type WriteCache string

const (
	CacheKeep WriteCache = "keep"
	CacheOn   WriteCache = "on"
	CacheOff  WriteCache = "off"
)

// Config is everything the runner does.
type Config struct {
	Packages []Package
	// JumboPacket is netkvm's "*JumboPacket" keyword (MTU + 14); 0 leaves it.
	JumboPacket int
	// NICMTU is the "MTU" advanced property of Oracle VM / Xen PV NICs; 0 leaves it.
	NICMTU int
	// NICMatch are lower-case substrings of the NIC's MatchingDeviceId that
	// select which network adapters the MTU applies to.
	NICMatch []string
	// WriteCache for disks whose SCSI device id contains one of DiskMatch.
	WriteCache WriteCache
	DiskMatch  []string // e.g. "ven_red_hat&prod_virtio"
	// Commands are extra silent installers or uninstallers run after the
	// packages (e.g. the Oracle VM PV installer with its setup.iss, or an old
	// PV stack's uninstaller). Each is run once; failures are logged.
	Commands []Command
	// ResetVSockWinsock resets the Winsock catalog, after the Commands (so
	// after VMware Tools' uninstaller), if it still lists the VMware
	// vSockets provider. That provider claims AF_VSOCK (40), which
	// virtio-vsock needs, and outlives a failed Tools uninstall; a catalog
	// reset is vmwremover's fix (virtio-win/vmwremover README, "Critical:
	// VMware vSockets Cleanup"; facts §3.3). The packed catalog is never
	// edited offline: a mistake there breaks every socket on the guest.
	ResetVSockWinsock bool
	// MaxBoots bounds how many boots the runner retries on before giving up.
	MaxBoots int
	// PnPWaitSeconds bounds how long the runner waits for devices to appear.
	PnPWaitSeconds int
	// NetIdentities are old adapters' static settings re-applied to the new
	// adapters (found through NICMatch or by MAC) after the packages are
	// installed (netid.go).
	NetIdentities []NetIdentity `json:"net_identities,omitempty"`
}

// Command is one extra command line run by the runner.
type Command struct {
	Name string
	Line string // cmd.exe command line; %SystemRoot% and %PV% (runner folder) expand
}

var safeName = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)
var safeINF = regexp.MustCompile(`^[A-Za-z0-9_.\-\\ ]+\.[iI][nN][fF]$`)
var safeMatch = regexp.MustCompile(`^[a-z0-9_&\\]+$`)

// Validate rejects values that would break out of the script's quoting.
func (c Config) Validate() error {
	for _, p := range c.Packages {
		if !safeName.MatchString(p.Name) {
			return fmt.Errorf("firstboot: package name %q has characters cmd.exe would interpret", p.Name)
		}
		if !safeINF.MatchString(p.INF) || strings.Contains(p.INF, "..") {
			return fmt.Errorf("firstboot: INF path %q is not a plain relative path", p.INF)
		}
	}
	for _, m := range append(append([]string{}, c.NICMatch...), c.DiskMatch...) {
		if !safeMatch.MatchString(m) {
			return fmt.Errorf("firstboot: device match %q must be lower-case letters, digits, & _ \\", m)
		}
	}
	for _, cmd := range c.Commands {
		if !safeName.MatchString(cmd.Name) || strings.ContainsAny(cmd.Line, "\r\n") {
			return fmt.Errorf("firstboot: command %q is not a single safe line", cmd.Name)
		}
	}
	for i, n := range c.NetIdentities {
		if err := n.validate(i); err != nil {
			return err
		}
	}
	if len(c.NetIdentities) > 0 && len(c.NICMatch) == 0 {
		return fmt.Errorf("firstboot: network identities need the new adapters' PnP ids (NICMatch)")
	}
	if c.JumboPacket != 0 && (c.JumboPacket < 590 || c.JumboPacket > 65500) {
		return fmt.Errorf("firstboot: *JumboPacket %d outside netkvm's range 590-65500", c.JumboPacket)
	}
	switch c.WriteCache {
	case "", CacheKeep, CacheOn, CacheOff:
	default:
		return fmt.Errorf("firstboot: write cache %q: want on, off or keep", c.WriteCache)
	}
	return nil
}

// Script renders the runner as a CRLF cmd.exe script.
func Script(c Config) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	maxBoots := c.MaxBoots
	if maxBoots <= 0 {
		maxBoots = 3
	}
	wait := c.PnPWaitSeconds
	if wait <= 0 {
		wait = 120
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }

	w(`@echo off`)
	w(`rem pvinject first-boot runner. Generated; see %%SystemRoot%%\%s\firstboot.log`, Dir)
	w(`setlocal EnableExtensions EnableDelayedExpansion`)
	w(`set "PV=%%SystemRoot%%\%s"`, Dir)
	w(`set "LOG=%%PV%%\firstboot.log"`)
	w(`set "STATE=%%PV%%\state"`)
	w(`set MAXBOOTS=%d`, maxBoots)
	w(`if not exist "%%STATE%%" mkdir "%%STATE%%"`)
	w(`if exist "%%STATE%%\complete" goto :finish`)
	w(`set ATTEMPT=0`)
	w(`if exist "%%STATE%%\attempts" set /p ATTEMPT=<"%%STATE%%\attempts"`)
	w(`set /a ATTEMPT=ATTEMPT+1`)
	w(`>"%%STATE%%\attempts" echo !ATTEMPT!`)
	w(`call :log "runner started, boot !ATTEMPT! of %%MAXBOOTS%%"`)
	w(`if !ATTEMPT! GTR %%MAXBOOTS%% (`)
	w(`  call :log "GIVING UP: required steps still failing after %%MAXBOOTS%% boots; see the lines above"`)
	w(`  goto :finish`)
	w(`)`)
	w(``)
	w(`rem A pending reboot makes pnputil fail; wait for the next boot (bounded above).`)
	w(`rem "if errorlevel" rather than "&&": the form every cmd.exe since NT handles alike.`)
	w(`reg query "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending" >nul 2>&1`)
	w(`if not errorlevel 1 goto :pending`)
	w(`reg query "HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired" >nul 2>&1`)
	w(`if not errorlevel 1 goto :pending`)
	w(``)
	w(`rem pnputil of this Windows and of this runner's bitness: a 32-bit cmd on 64-bit`)
	w(`rem Windows must go through Sysnative; 64-bit and 32-bit Windows use System32.`)
	w(`set "PNPUTIL="`)
	w(`if defined PROCESSOR_ARCHITEW6432 if exist "%%SystemRoot%%\Sysnative\pnputil.exe" set "PNPUTIL=%%SystemRoot%%\Sysnative\pnputil.exe"`)
	w(`if not defined PNPUTIL if exist "%%SystemRoot%%\System32\pnputil.exe" set "PNPUTIL=%%SystemRoot%%\System32\pnputil.exe"`)
	w(`if not defined PNPUTIL call :log "no pnputil on this Windows (XP/2003): Plug and Play installs the drivers from DevicePath"`)
	w(`if defined PNPUTIL call :log "using !PNPUTIL!"`)
	w(`set FAILED=0`)
	w(`set REBOOT=0`)
	for _, p := range c.Packages {
		req := "optional"
		if p.Required {
			req = "required"
		}
		w(`call :install %s "%s" %s`, p.Name, p.INF, req)
	}
	if c.JumboPacket > 0 || c.NICMTU > 0 {
		w(`call :waitpnp`)
		w(`call :mtu`)
	}
	if c.WriteCache == CacheOn || c.WriteCache == CacheOff {
		w(`call :writecache`)
	}
	if len(c.NetIdentities) > 0 {
		w(`call :netid`)
	}
	for _, cmd := range c.Commands {
		w(`if not exist "%%STATE%%\done-%s" (`, cmd.Name)
		w(`  call :log "running %s"`, cmd.Name)
		w(`  %s >>"%%LOG%%" 2>&1`, cmd.Line)
		w(`  call :log "%s exited with !errorlevel!"`, cmd.Name)
		w(`  >"%%STATE%%\done-%s" echo done`, cmd.Name)
		w(`)`)
	}
	if c.ResetVSockWinsock {
		w(`if not exist "%%STATE%%\done-vsock" (`)
		w(`  call :vsock`)
		w(`  >"%%STATE%%\done-vsock" echo done`)
		w(`)`)
	}
	w(`if !FAILED! NEQ 0 goto :retry`)
	w(`call :log "all steps done"`)
	w(`if !REBOOT! NEQ 0 call :log "a driver asked for a restart; Windows will finish at the next restart"`)
	w(`goto :finish`)
	w(``)
	w(`:pending`)
	w(`call :log "a reboot is pending; trying again at the next boot"`)
	w(`goto :retry`)
	w(``)
	w(`:retry`)
	w(`call :log "some required steps failed; the runner stays for the next boot (!ATTEMPT! of %%MAXBOOTS%%)"`)
	w(`endlocal`)
	w(`exit /b 1`)
	w(``)
	w(`:finish`)
	w(`>"%%STATE%%\complete" echo done`)
	w(`call :log "removing the %s service"`, ServiceName)
	w(`sc delete %s >>"%%LOG%%" 2>&1`, ServiceName)
	w(`reg delete "HKLM\SYSTEM\CurrentControlSet\Services\%s" /f >nul 2>&1`, ServiceName)
	w(`call :log "finished"`)
	w(`endlocal`)
	w(`exit /b 0`)
	w(``)
	// :install NAME INF required|optional
	w(`:install`)
	w(`if exist "%%STATE%%\installed-%%~1" exit /b 0`)
	w(`if not defined PNPUTIL exit /b 0`)
	w(`if not exist "%%PV%%\%%~2" (`)
	w(`  call :log "%%~1: %%~2 is missing"`)
	w(`  if "%%~3"=="required" set FAILED=1`)
	w(`  exit /b 0`)
	w(`)`)
	w(`"%%PNPUTIL%%" -i -a "%%PV%%\%%~2" >>"%%LOG%%" 2>&1`)
	w(`set RC=!errorlevel!`)
	w(`if "!RC!"=="0" goto :installed`)
	w(`if "!RC!"=="259" goto :installed`)
	w(`if "!RC!"=="3010" (`)
	w(`  set REBOOT=1`)
	w(`  goto :installed`)
	w(`)`)
	w(`if "%%~3"=="required" (`)
	w(`  set FAILED=1`)
	w(`  call :log "%%~1: pnputil failed with !RC! (required; will retry)"`)
	w(`) else (`)
	w(`  call :log "%%~1: pnputil failed with !RC! (optional; continuing)"`)
	w(`  >"%%STATE%%\installed-%%~1" echo failed !RC!`)
	w(`)`)
	w(`exit /b 0`)
	w(`:installed`)
	w(`call :log "%%~1: installed (pnputil !RC!)"`)
	w(`>"%%STATE%%\installed-%%~1" echo ok !RC!`)
	w(`exit /b 0`)
	w(``)
	// :waitpnp polls for the devices the options need, bounded by PnPWaitSeconds.
	// Subroutines below use %%VAR%% expansion of variables set on an earlier
	// line, never !VAR:~x,y! or !VAR:a=b! inside blocks: the plain form is
	// what every cmd.exe from XP on (and Wine's) expands alike.
	w(`:waitpnp`)
	w(`rem No pnp_wait.exe here: poll for the adapter keys instead, a few seconds at a time.`)
	w(`set /a WAITLEFT=%d`, wait)
	w(`:waitloop`)
	w(`set APPLY=0`)
	w(`call :findnics`)
	w(`if %%NICS%% GTR 0 exit /b 0`)
	w(`if %%WAITLEFT%% LEQ 0 call :log "no matching network adapter appeared within %d s"`, wait)
	w(`if %%WAITLEFT%% LEQ 0 exit /b 0`)
	w(`ping -n 6 127.0.0.1 >nul`)
	w(`set /a WAITLEFT=WAITLEFT-5`)
	w(`goto :waitloop`)
	w(``)
	w(`:findnics`)
	w(`rem One listing of the class key, then one query per adapter that exists.`)
	w(`set NICS=0`)
	w(`set "NETCLASS=HKLM\SYSTEM\CurrentControlSet\Control\Class\{4d36e972-e325-11ce-bfc1-08002be10318}"`)
	w(`for /f "tokens=*" %%%%k in ('reg query "%%NETCLASS%%" 2^>nul') do call :nicvalue "%%%%k"`)
	w(`exit /b 0`)
	w(`:nicvalue`)
	w(`set "K=%%~1"`)
	w(`if /i not "%%K:~0,5%%"=="HKEY_" exit /b 0`)
	w(`set "V="`)
	w(`for /f "tokens=1,2,*" %%%%a in ('reg query "%%K%%" /v MatchingDeviceId 2^>nul') do if /i "%%%%a"=="MatchingDeviceId" set "V=%%%%c"`)
	w(`if not defined V exit /b 0`)
	w(`set "L=%%V%%"`)
	w(`set HIT=0`)
	for _, m := range c.NICMatch {
		w(`set "T=%%L:%s=%%"`, m)
		w(`if /i not "%%T%%"=="%%L%%" set HIT=1`)
	}
	w(`if %%HIT%%==0 exit /b 0`)
	w(`set /a NICS=NICS+1`)
	w(`if "%%APPLY%%"=="1" call :applymtu`)
	w(`if "%%APPLY%%"=="2" call :netpicked`)
	w(`exit /b 0`)
	w(``)
	w(`:mtu`)
	w(`set APPLY=1`)
	w(`call :findnics`)
	w(`if %%NICS%%==0 call :log "MTU: no matching network adapter found; set it in Device Manager, Advanced tab"`)
	w(`exit /b 0`)
	w(`:applymtu`)
	if c.JumboPacket > 0 {
		w(`reg add "%%K%%" /v "*JumboPacket" /t REG_SZ /d %d /f >nul`, c.JumboPacket)
		w(`call :log "MTU: *JumboPacket=%d on %%K%%"`, c.JumboPacket)
	}
	if c.NICMTU > 0 {
		w(`reg add "%%K%%" /v "MTU" /t REG_SZ /d %d /f >nul`, c.NICMTU)
		w(`call :log "MTU: MTU=%d on %%K%%"`, c.NICMTU)
	}
	w(`exit /b 0`)
	w(``)
	if len(c.NetIdentities) > 0 {
		writeNetIdentity(w, c.NetIdentities, wait)
	}
	if c.WriteCache == CacheOn || c.WriteCache == CacheOff {
		val := 0
		if c.WriteCache == CacheOn {
			val = 1
		}
		w(`:writecache`)
		w(`set DISKS=0`)
		w(`for /f "tokens=*" %%%%d in ('reg query "HKLM\SYSTEM\CurrentControlSet\Enum\SCSI" 2^>nul') do call :cachedev "%%%%d"`)
		w(`call :log "write cache: UserWriteCacheSetting=%d on %%DISKS%% disk(s)"`, val)
		w(`exit /b 0`)
		w(`:cachedev`)
		w(`set "D=%%~1"`)
		w(`if /i not "%%D:~0,5%%"=="HKEY_" exit /b 0`)
		w(`set "L=%%D%%"`)
		w(`set HIT=0`)
		for _, m := range c.DiskMatch {
			w(`set "T=%%L:%s=%%"`, m)
			w(`if /i not "%%T%%"=="%%L%%" set HIT=1`)
		}
		w(`if %%HIT%%==0 exit /b 0`)
		w(`for /f "tokens=*" %%%%i in ('reg query "%%D%%" 2^>nul') do call :cacheinst "%%%%i"`)
		w(`exit /b 0`)
		w(`:cacheinst`)
		w(`set "I=%%~1"`)
		w(`if /i not "%%I:~0,5%%"=="HKEY_" exit /b 0`)
		w(`if /i "%%I%%"=="%%D%%" exit /b 0`)
		w(`reg add "%%I%%\Device Parameters\Disk" /v UserWriteCacheSetting /t REG_DWORD /d %d /f >nul`, val)
		w(`set /a DISKS=DISKS+1`)
		w(`exit /b 0`)
		w(``)
	}
	if c.ResetVSockWinsock {
		// The catalog is matched line by line with %%L:x=%%, as the NIC and
		// disk ids are: find's exit status is not the same on every cmd.
		w(`:vsock`)
		w(`set VS=0`)
		w(`for /f "tokens=*" %%%%l in ('netsh winsock show catalog 2^>nul') do call :vsockline "%%%%l"`)
		w(`if %%VS%%==0 goto :vsocknone`)
		w(`call :log "the VMware vSockets Winsock provider is still listed: resetting the Winsock catalog (effective after the next restart)"`)
		w(`netsh winsock reset >>"%%LOG%%" 2>&1`)
		w(`call :log "netsh winsock reset exited with !errorlevel!"`)
		w(`set REBOOT=1`)
		w(`exit /b 0`)
		w(`:vsocknone`)
		w(`call :log "no VMware vSockets Winsock provider listed; the Winsock catalog is left alone"`)
		w(`exit /b 0`)
		w(`:vsockline`)
		w(`set "L=%%~1"`)
		w(`set "T=%%L:vSockets=%%"`)
		w(`if /i not "%%T%%"=="%%L%%" set VS=1`)
		w(`exit /b 0`)
		w(``)
	}
	w(`:log`)
	w(`>>"%%LOG%%" echo [%%date%% %%time%%] %%~1`)
	w(`exit /b 0`)
	return b.String(), nil
}

// ServiceCommandLine is the ImagePath of the runner's service.
func ServiceCommandLine() string {
	return `%SystemRoot%\System32\cmd.exe /c start "pvinject" /b %SystemRoot%\` + Dir + `\firstboot.cmd`
}
