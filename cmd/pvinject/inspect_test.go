package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/internal/testenv"
)

// inspectJSON is the part of `inspect --json` the command contract names.
type inspectJSON struct {
	Image struct {
		Format      string `json:"format"`
		VirtualSize *int64 `json:"virtual_size"`
		Chain       []struct {
			Path   string `json:"path"`
			Format string `json:"format"`
		} `json:"chain"`
	} `json:"image"`
	Partitions []struct {
		Index      *int   `json:"index"`
		Start      *int64 `json:"start"`
		Size       *int64 `json:"size"`
		Type       string `json:"type"`
		Filesystem string `json:"filesystem"`
	} `json:"partitions"`
	Windows *struct {
		SystemRoot       string `json:"systemroot"`
		ProductName      string `json:"product_name"`
		Major            *int   `json:"major"`
		Minor            *int   `json:"minor"`
		Build            *int   `json:"build"`
		ServicePack      *int   `json:"service_pack"`
		Edition          string `json:"edition"`
		InstallationType string `json:"installation_type"`
		Arch             string `json:"arch"`
		ControlSet       string `json:"control_set"`
	} `json:"windows"`
	Safety *struct {
		Blockers []json.RawMessage `json:"blockers"`
		Warnings []json.RawMessage `json:"warnings"`
	} `json:"safety"`
	Matrix []struct {
		DriverSet string `json:"driver_set"`
		Verdict   string `json:"verdict"`
		Reasons   []struct {
			Message string `json:"message"`
			Source  string `json:"source"`
		} `json:"reasons"`
	} `json:"matrix"`
}

// sfdiskPart is one partition as sfdisk (util-linux) reads it: the oracle
// for where the partitions are.
type sfdiskPart struct {
	Start, Size int64
	Type        string
}

func sfdiskParts(t *testing.T, raw string) []sfdiskPart {
	t.Helper()
	out, err := exec.Command("sfdisk", "-J", raw).Output()
	if err != nil {
		t.Fatalf("sfdisk -J %s: %v", raw, err)
	}
	var v struct {
		PartitionTable struct {
			SectorSize int64        `json:"sectorsize"`
			Partitions []sfdiskPart `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("sfdisk -J: %v\n%s", err, out)
	}
	ps := v.PartitionTable.Partitions
	for i := range ps {
		ps[i].Start *= v.PartitionTable.SectorSize
		ps[i].Size *= v.PartitionTable.SectorSize
	}
	return ps
}

// TestInspectJSON: on a synthetic Windows Server 2008 R2 SP1 disk, seen
// through a qcow2 overlay so the chain has two links, `inspect --json`
// gives every field of the contract with the values the fixture script put
// there (and sfdisk reads), and neither file changes.
func TestInspectJSON(t *testing.T) {
	fx := injectFixture(t)
	dir := t.TempDir()
	base := testenv.CopyFile(t, filepath.Join(fx, "disks", "2k8r2-sp1.raw"), filepath.Join(dir, "base.raw"))
	top := filepath.Join(dir, "top.qcow2")
	qemuImg(t, "create", "-q", "-f", "qcow2", "-b", "base.raw", "-F", "raw", top)
	baseSum, topSum := testenv.FileSHA256(t, base), testenv.FileSHA256(t, top)

	r := cli(t, "inspect", "--json", top)
	if r.code != exitOK || r.stderr != "" {
		t.Fatalf("inspect --json: %v", r)
	}
	var got inspectJSON
	decodeJSON(t, r.stdout, &got)

	if got.Image.Format != "qcow2" {
		t.Errorf("image.format %q, want qcow2", got.Image.Format)
	}
	if got.Image.VirtualSize == nil || *got.Image.VirtualSize != 48<<20 {
		t.Errorf("image.virtual_size %v, want %d", got.Image.VirtualSize, 48<<20)
	}
	if len(got.Image.Chain) != 2 {
		t.Fatalf("image.chain has %d links, want 2: %+v", len(got.Image.Chain), got.Image.Chain)
	}
	if filepath.Base(got.Image.Chain[0].Path) != "top.qcow2" || got.Image.Chain[0].Format != "qcow2" ||
		filepath.Base(got.Image.Chain[1].Path) != "base.raw" || got.Image.Chain[1].Format != "raw" {
		t.Errorf("image.chain %+v, want top.qcow2 (qcow2) then base.raw (raw)", got.Image.Chain)
	}

	want := sfdiskParts(t, base)
	if len(got.Partitions) != len(want) || len(want) != 1 {
		t.Fatalf("partitions %+v, sfdisk says %+v", got.Partitions, want)
	}
	p := got.Partitions[0]
	if p.Index == nil || *p.Index != 1 || p.Start == nil || *p.Start != want[0].Start ||
		p.Size == nil || *p.Size != want[0].Size || p.Filesystem != "ntfs" ||
		strings.TrimPrefix(strings.TrimPrefix(p.Type, "0x"), "0") != want[0].Type {
		t.Errorf("partition %+v (index %v start %v size %v), sfdisk says %+v", p, deref(p.Index), deref(p.Start), deref(p.Size), want[0])
	}

	w := got.Windows
	if w == nil {
		t.Fatal("no windows object")
	}
	// Values as guests.sh writes them for 2k8r2-sp1.
	checks := []struct {
		field string
		got   any
		want  any
	}{
		{"systemroot", w.SystemRoot, `\Windows`},
		{"product_name", w.ProductName, "Windows Server 2008 R2 Standard"},
		{"major", deref(w.Major), 6},
		{"minor", deref(w.Minor), 1},
		{"build", deref(w.Build), 7601},
		{"service_pack", deref(w.ServicePack), 1},
		{"edition", w.Edition, "ServerStandard"},
		{"installation_type", w.InstallationType, "Server"},
		{"arch", w.Arch, "amd64"},
		{"control_set", w.ControlSet, "ControlSet001"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("windows.%s = %v, want %v", c.field, c.got, c.want)
		}
	}
	if got.Safety == nil || got.Safety.Blockers == nil || got.Safety.Warnings == nil {
		t.Errorf("safety.blockers and safety.warnings must be present (as lists): %+v", got.Safety)
	} else if len(got.Safety.Blockers) != 0 {
		t.Errorf("a cleanly shut down 2008 R2 SP1 has blockers: %s", got.Safety.Blockers)
	}

	verdicts := map[string]string{}
	for _, m := range got.Matrix {
		verdicts[m.DriverSet] = m.Verdict
		if m.DriverSet == "" || m.Verdict == "" {
			t.Errorf("matrix entry without driver_set or verdict: %+v", m)
		}
		if m.Verdict != "supported" && len(m.Reasons) == 0 {
			t.Errorf("matrix %s: verdict %s without reasons", m.DriverSet, m.Verdict)
		}
		for _, rs := range m.Reasons {
			if rs.Message == "" || rs.Source == "" {
				t.Errorf("matrix %s: reason without message or source: %+v", m.DriverSet, rs)
			}
		}
	}
	// virtio-win supports 2008 R2 SP1 x64; Oracle VM PV 3.2.3 lists it.
	if v := verdicts["virtio-win"]; !strings.HasPrefix(v, "supported") {
		t.Errorf("virtio-win verdict for 2008 R2 SP1 x64: %q (all: %v)", v, verdicts)
	}
	if v := verdicts["oracle-pv-3.2.3"]; !strings.HasPrefix(v, "supported") {
		t.Errorf("oracle-pv-3.2.3 verdict for 2008 R2 SP1 x64: %q (all: %v)", v, verdicts)
	}

	if testenv.FileSHA256(t, base) != baseSum || testenv.FileSHA256(t, top) != topSum {
		t.Error("inspect changed the image or its backing file")
	}

	// The text form reads the same image and shows the product.
	txt := cli(t, "inspect", top)
	if txt.code != exitOK || !strings.Contains(txt.stdout, "Windows Server 2008 R2 Standard") {
		t.Errorf("inspect (text): %v", txt)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
