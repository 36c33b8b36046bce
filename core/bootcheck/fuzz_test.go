package bootcheck

import "testing"

// FuzzReadPE: driver files come from the guest, untrusted. readPE must
// never panic, and a signature is only reported with a machine type.
func FuzzReadPE(f *testing.F) {
	f.Add(pe32(machineI386, false))
	f.Add(pe32(machineAMD64, true))
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pi, err := readPE(b)
		if err != nil && (pi.Signed || pi.Arch != "") {
			t.Fatalf("error %v with %+v", err, pi)
		}
		if pi.Signed && pi.Arch == "" {
			t.Fatal("signed without a machine type")
		}
	})
}
