package drivers

import (
	"fmt"

	"github.com/pvinject/pvinject/core/drivers/inf"
	"github.com/pvinject/pvinject/core/safety"
)

// Finding codes for signatures.
const (
	CodeCatalogMissing = "drivers.catalog.missing"
	CodeCatalogInvalid = "drivers.catalog.invalid"
	CodeNotVerified    = "drivers.signature.not-verified"
)

// SignatureFindings checks every package's catalog for a guest of the given
// architecture. On 64-bit Windows kernel-mode code signing is enforced, so a
// missing or broken catalog blocks unless allowUnsigned; on 32-bit Windows
// it only raises the unsigned-driver prompt (Oracle VM PV 3.2.3 guide 4.1;
// DISM documents ForceUnsigned as mattering for x64 only), so it is a
// warning. Every result is structural only; see the package doc.
func SignatureFindings(pkgs []*Package, guest inf.Arch, allowUnsigned bool) []safety.Finding {
	is64 := guest == inf.ArchAMD64 || guest == inf.ArchARM64 || guest == inf.ArchIA64
	var out []safety.Finding
	for _, p := range pkgs {
		if p.Catalog.Valid {
			continue
		}
		code := CodeCatalogInvalid
		if !p.Catalog.Present {
			code = CodeCatalogMissing
		}
		f := safety.Finding{
			Code:    code,
			Title:   "The " + p.Name + " driver is not signed",
			Message: fmt.Sprintf("%s (%s) is not signed: it has no valid signature catalog", p.Name, p.INFPath),
			Source:  "Oracle VM PV Drivers 3.2.3 guide §4.1; Microsoft: DISM driver servicing, /ForceUnsigned",
			Details: p.Catalog.Problem,
		}
		switch {
		case !is64:
			f.Severity = safety.Warning
			f.Message += "; 32-bit Windows installs it after asking whether to trust an unsigned driver."
			f.Remedy = "Use the vendor's signed package if one exists."
		case allowUnsigned:
			f.Severity = safety.Warning
			f.Message += ". You allowed unsigned drivers, but 64-bit Windows will not load one unless test signing is on (bcdedit /set testsigning on)."
			f.Remedy = "Turn test signing on in the guest before its first boot here, or use a signed package."
		default:
			f.Severity = safety.Blocker
			f.Message += ". 64-bit Windows will not load an unsigned kernel driver, and a storage driver that does not load stops Windows at boot (0x7B)."
			f.Remedy = "Use the signed package (e.g. from the virtio-win ISO), or allow unsigned drivers on this step if the guest runs with test signing."
			f.CLIRemedy = "use a signed package, or pass --allow-unsigned if the guest runs with test signing"
		}
		out = append(out, f)
	}
	return out
}
