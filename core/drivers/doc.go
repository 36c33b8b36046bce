// Package drivers finds and inspects Windows driver packages in a driver
// source (a folder of INF packages, the virtio-win ISO or its unpacked
// tree, an Oracle VM PV driver folder, a Xen PV folder), picks the packages
// that fit a guest and says why, and checks what can be checked offline of
// their signatures.
//
// A Package is one INF plus the files it references, found in its folder:
// .sys (with the machine type read from its PE header), .cat, .dll,
// co-installers. Catalogs are checked structurally only (a DER PKCS#7
// SignedData with at least one signer): Authenticode chain and hash
// validation is out of scope, so a package that passes here can still be
// refused by Windows. SignatureFindings turns missing or broken catalogs
// into safety findings: blockers on 64-bit guests unless unsigned drivers
// are explicitly allowed, warnings on 32-bit guests.
//
// Every source is hostile input: file sizes read are bounded, ISO reading
// goes through go-diskfs behind a recover, and nothing here panics on bad
// bytes. The ISO volume descriptors' sizes are checked against the image
// before go-diskfs reads them; deeper directory extent sizes are go-diskfs's
// own business (it allocates them before reading, up to 4 GiB of address
// space for a hostile entry).
//
// Kind strings match the CLI's --set values: virtio-win, oracle-vm-pv,
// xen-pv, inf. Select takes a GuestInfo (OS directory name, architecture,
// version, server or client) and returns the chosen packages with a reason
// each, boot-critical storage first, and the rejected ones with theirs.
package drivers
