package inspect

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// `pvinject inspect --json` carries boot_readiness (one object per bus) and
// network.nics for any image: here a real Windows 10 SYSTEM hive with no
// PV driver (scripts/fixtures/bootcheck.sh).
func TestBootReadinessJSON(t *testing.T) {
	img := filepath.Join(testenv.Fixture(t, "bootcheck"), "disks", "w10-plain.raw")
	r, err := Inspect(context.Background(), img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		BootReadiness []struct {
			Bus     string   `json:"bus"`
			Boots   bool     `json:"boots"`
			Service *string  `json:"service"`
			Reasons []string `json:"reasons"`
		} `json:"boot_readiness"`
		Network struct {
			NICs []struct {
				Device, State, Message string
			} `json:"nics"`
		} `json:"network"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"virtio-blk": false, "virtio-scsi": false, "xen-vbd": false, "ide": true, "ahci": true}
	if len(doc.BootReadiness) != len(want) {
		t.Fatalf("boot_readiness has %d entries: %s", len(doc.BootReadiness), b)
	}
	for _, v := range doc.BootReadiness {
		boots, ok := want[v.Bus]
		if !ok || v.Boots != boots || v.Service == nil || v.Reasons == nil {
			t.Errorf("%+v", v)
		}
		if !v.Boots && len(v.Reasons) == 0 {
			t.Errorf("%s will not boot, with no reason", v.Bus)
		}
	}
	if len(doc.Network.NICs) == 0 || doc.Network.NICs[0].Device != "virtio-net" || doc.Network.NICs[0].State != "missing" {
		t.Errorf("network: %+v", doc.Network)
	}
}
