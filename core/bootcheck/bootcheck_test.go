package bootcheck

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// The disks come from scripts/fixtures/bootcheck.sh: real Windows SYSTEM
// hives from the shared corpus, the peers' writes and each mutation made
// by hivexregedit, files placed by a real ntfs-3g mount.
var (
	fixOnce sync.Once
	fixDir  string
)

func fixture(t testing.TB) string {
	t.Helper()
	fixOnce.Do(func() { fixDir = testenv.Fixture(t, "bootcheck") })
	if fixDir == "" {
		t.Fatal("bootcheck fixture was not built")
	}
	return fixDir
}

func checkDisk(t testing.TB, name string) *Result {
	t.Helper()
	r, err := CheckImage(context.Background(), filepath.Join(fixture(t), "disks", name+".raw"))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return r
}

func verdict(t testing.TB, r *Result, bus string) Verdict {
	t.Helper()
	v := r.Bus(bus)
	if v == nil {
		t.Fatalf("no verdict for %s", bus)
	}
	return *v
}

func reasonsHave(v Verdict, sub string) bool {
	for _, r := range v.Reasons {
		if strings.Contains(r, sub) {
			return true
		}
	}
	return false
}

// What virt-customize --inject-virtio-win and virt-v2v write
// (peer-reference-writes.md) boots on virtio-blk: through the
// CriticalDeviceDatabase on Windows 7, the DriverDatabase on Windows 10.
func TestPeerWritesBoot(t *testing.T) {
	for _, c := range []struct{ disk, db string }{
		{"w7-vc", "CriticalDeviceDatabase"}, {"w10-vc", "DriverDatabase"}, {"w10-v2v", "DriverDatabase"},
	} {
		t.Run(c.disk, func(t *testing.T) {
			r := checkDisk(t, c.disk)
			v := verdict(t, r, BusVirtioBlk)
			if !v.Boots || v.Service != "viostor" || !strings.HasPrefix(v.Binding, c.db) {
				t.Fatalf("virtio-blk: boots=%v service=%q binding=%q reasons=%q", v.Boots, v.Service, v.Binding, v.Reasons)
			}
			if r.Database != c.db || r.ControlSet != "ControlSet001" {
				t.Errorf("database %q control set %q", r.Database, r.ControlSet)
			}
			if s := verdict(t, r, BusVirtioSCSI); s.Boots {
				t.Errorf("virtio-scsi boots without vioscsi: %+v", s)
			}
			if ide := verdict(t, r, BusIDE); !ide.Boots {
				t.Errorf("IDE: %q", ide.Reasons)
			}
			// Both peers copy netkvm into Windows\Drivers\VirtIO.
			if r.NICs[0].Device != "virtio-net" || r.NICs[0].State != NICStaged {
				t.Errorf("virtio-net: %+v", r.NICs[0])
			}
		})
	}
}

// A guest with no PV driver: will not boot on virtio-blk, boots on IDE
// (and AHCI where Windows' AHCI driver starts at boot: the real Windows 7
// hive has msahci on demand, as Windows 7 installed in IDE mode leaves it).
func TestNoPVDriver(t *testing.T) {
	r := checkDisk(t, "w10-plain")
	for _, bus := range []string{BusVirtioBlk, BusVirtioSCSI, BusXenVBD} {
		if v := verdict(t, r, bus); v.Boots || !reasonsHave(v, "no DriverDatabase entry binds") {
			t.Errorf("%s: boots=%v reasons=%q", bus, v.Boots, v.Reasons)
		}
	}
	for _, bus := range []string{BusIDE, BusAHCI} {
		if v := verdict(t, r, bus); !v.Boots {
			t.Errorf("%s: %q", bus, v.Reasons)
		}
	}
	if n := r.NICs[0]; n.State != NICMissing || !strings.Contains(n.Message, "no network") {
		t.Errorf("virtio-net: %+v", n)
	}

	r = checkDisk(t, "w7-plain")
	if v := verdict(t, r, BusVirtioBlk); v.Boots || !reasonsHave(v, "no CriticalDeviceDatabase entry binds") {
		t.Errorf("w7 virtio-blk: %+v", v)
	}
	if v := verdict(t, r, BusIDE); !v.Boots || v.Service != "intelide" {
		t.Errorf("w7 IDE: %+v", v)
	}
	if v := verdict(t, r, BusAHCI); v.Boots || !reasonsHave(v, "msahci does not start with Windows: its Start is 3") {
		t.Errorf("w7 AHCI: %+v", v)
	}
}

// mutations are the known-fatal changes the fixture script makes, one
// each, to an injected guest; docs/BOOT-READINESS.md keeps this table.
var mutations = []struct{ disk, base, reason string }{
	{"mut-start3", "w10-vc", "its Start is 3 (on demand)"},
	{"mut-service-deleted", "w10-vc", "the service viostor does not exist in ControlSet001"},
	{"mut-imagepath-missing", "w10-vc", `its file \Windows\system32\drivers\viostor2.sys is not in the guest`},
	{"mut-wrong-arch", "w10-vc", "is built for x86, but this Windows is amd64"},
	{"mut-deviceids-removed", "w10-vc", "no DriverDatabase entry binds a driver to the VirtIO block controller"},
	{"mut-cdd-removed", "w7-vc", "no CriticalDeviceDatabase entry binds a driver to the VirtIO block controller"},
	{"mut-startoverride", "w10-vc", "a StartOverride value (0=3) overrides its Start=0"},
	{"mut-filter-missing", "w10-vc", `lists "ghostflt" in LowerFilters, but the service ghostflt does not exist`},
	{"mut-group", "w10-vc", `load order group "Not A Real Group", which ServiceGroupOrder does not list`},
	{"mut-unsigned", "w10-vc", "is not signed (it carries no embedded signature, and no catalog in CatRoot lists it) and test signing is off"},
	{"mut-wrong-controlset", "w7-vc", "ControlSet001 has one, but Windows boots from ControlSet002"},
}

func TestMutationsCaught(t *testing.T) {
	for _, base := range []string{"w10-vc", "w7-vc"} {
		if v := verdict(t, checkDisk(t, base), BusVirtioBlk); !v.Boots {
			t.Fatalf("the unmutated %s must boot: %q", base, v.Reasons)
		}
	}
	caught := 0
	for _, m := range mutations {
		v := verdict(t, checkDisk(t, m.disk), BusVirtioBlk)
		switch {
		case v.Boots:
			t.Errorf("%s: judged to boot on virtio-blk", m.disk)
		case !reasonsHave(v, m.reason):
			t.Errorf("%s: will not boot, but not for the right reason; want %q, have %q", m.disk, m.reason, v.Reasons)
		default:
			caught++
		}
	}
	t.Logf("caught %d of %d", caught, len(mutations))
}

// The same unsigned driver loads when the BCD's default entry has test
// signing on, and the verdict says why.
func TestTestSigningOn(t *testing.T) {
	r := checkDisk(t, "ok-testsigning")
	v := verdict(t, r, BusVirtioBlk)
	if r.TestSigning != "on" || !v.Boots || !reasonsHave(v, "loads only because test signing is on") {
		t.Fatalf("test signing %q, virtio-blk %+v", r.TestSigning, v)
	}
	if r2 := checkDisk(t, "mut-unsigned"); r2.TestSigning != "off" || !strings.Contains(r2.BCD, `\Boot\BCD`) {
		t.Errorf("test signing %q from %q", r2.TestSigning, r2.BCD)
	}
}

// On a UEFI disk the BCD store is on the FAT32 EFI system partition; test
// signing is read from there.
func TestUEFITestSigning(t *testing.T) {
	r := checkDisk(t, "ok-efi-testsigning")
	v := verdict(t, r, BusVirtioBlk)
	if r.TestSigning != "on" || !strings.Contains(r.BCD, `\EFI\Microsoft\Boot\BCD`) || !v.Boots {
		t.Fatalf("test signing %q from %q; virtio-blk %+v", r.TestSigning, r.BCD, v)
	}
}
