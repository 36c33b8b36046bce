package inspect

import "github.com/pvinject/pvinject/core/bootcheck"

// Network is the top-level "network" object of `pvinject inspect --json`:
// what the guest's network will be on the new hypervisor.
type Network struct {
	// NICs says, per paravirtual NIC type, whether a driver is installed
	// or staged, or that the VM will have no network on it until one is.
	NICs []bootcheck.NIC `json:"nics"`
}
