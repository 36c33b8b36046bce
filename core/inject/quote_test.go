package inject

import "testing"

func TestWindowsQuote(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`C:\VMs\win10.vhdx`, `C:\VMs\win10.vhdx`},
		{`C:\Hyper-V\Virtual Hard Disks\dc01.vhdx`, `"C:\Hyper-V\Virtual Hard Disks\dc01.vhdx"`},
		{`\\filer\c$\vms\w7.vmdk`, `"\\filer\c$\vms\w7.vmdk"`},
		{`D:\lab\o'brien.qcow2`, `"D:\lab\o'brien.qcow2"`},
		{`E:\a&b.raw`, `"E:\a&b.raw"`},
	} {
		if got := windowsQuote(c.in); got != c.want {
			t.Errorf("windowsQuote(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}
