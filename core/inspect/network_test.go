package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/internal/testenv"
)

// bench/real.raw (scripts/fixtures/inject.sh) holds the corpus's real
// Windows 10 19041 SYSTEM hive on an NTFS disk built by mkntfs and ntfs-3g:
// one physical adapter, an Intel 82574L named "Ethernet0", on DHCP (read
// with hivexregedit; core/netid's tests check every value against hivexget).
func TestInspectNetworkAdapters(t *testing.T) {
	img := filepath.Join(testenv.Fixture(t, "inject"), "bench", "real.raw")
	r, err := Inspect(context.Background(), img, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Network.Adapters) != 1 {
		t.Fatalf("adapters %+v", r.Network.Adapters)
	}
	a := r.Network.Adapters[0]
	if a.Connection != "Ethernet0" || a.Description != "Intel(R) 82574L Gigabit Network Connection" || !a.DHCP || a.Static || a.Ghost ||
		a.ID != "{C43669B3-AB3E-4D0E-8FDE-69579925A20F}" {
		t.Errorf("adapter %+v", a)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var j struct {
		Network struct {
			Adapters []struct {
				Connection string `json:"connection"`
				PnPID      string `json:"pnp_id"`
				DHCP       bool   `json:"dhcp"`
			} `json:"adapters"`
		} `json:"network"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Network.Adapters) != 1 || j.Network.Adapters[0].PnPID != `PCI\VEN_8086&DEV_10D3` || !j.Network.Adapters[0].DHCP {
		t.Errorf("--json network: %s", b)
	}
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), `"Ethernet0": Intel(R) 82574L Gigabit Network Connection (PCI\VEN_8086&DEV_10D3) [DHCP]`) {
		t.Errorf("text:\n%s", text.String())
	}
}
