package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestInjectIPFlags: --ip reaches the plan and its first-boot runner; bad
// --keep-ip and --ip values are usage errors that write nothing.
func TestInjectIPFlags(t *testing.T) {
	fx := injectFixture(t)
	img := filepath.Join(fx, "disks", win10)
	r := cli(t, "inject", "--drivers", virtioTree(fx), "--dry-run", "--json", "--keep-ip", "off",
		"--ip", "52:54:00:12:34:56:10.0.0.5/24,10.0.0.1,10.0.0.53", img)
	if r.code != exitOK {
		t.Fatalf("inject --dry-run --ip: %v", r)
	}
	var plan struct {
		Network struct {
			KeepIP string `json:"keep_ip"`
			Carry  []struct {
				To string `json:"to"`
			} `json:"carry"`
		} `json:"network"`
		FirstBoot struct {
			NetIdentities []struct {
				MAC     string `json:"mac"`
				Gateway string `json:"gateway"`
			} `json:"net_identities"`
		} `json:"first_boot"`
		Files []struct {
			Path    string `json:"path"`
			Content []byte `json:"content"`
		} `json:"files"`
	}
	decodeJSON(t, r.stdout, &plan)
	if plan.Network.KeepIP != "off" || len(plan.Network.Carry) != 1 || !strings.Contains(plan.Network.Carry[0].To, "52-54-00-12-34-56") ||
		len(plan.FirstBoot.NetIdentities) != 1 || plan.FirstBoot.NetIdentities[0].Gateway != "10.0.0.1" {
		t.Fatalf("plan network %+v first boot %+v", plan.Network, plan.FirstBoot)
	}
	runner := ""
	for _, f := range plan.Files {
		if strings.HasSuffix(strings.ToLower(f.Path), `\firstboot.cmd`) {
			runner = string(f.Content)
		}
	}
	if !strings.Contains(runner, "call :netmac 52-54-00-12-34-56") ||
		!strings.Contains(runner, `netsh interface ip set address name="%NN%" source=static addr=10.0.0.5 mask=255.255.255.0 gateway=10.0.0.1`) {
		t.Errorf("runner lacks the network step:\n%s", runner)
	}

	for _, bad := range [][]string{{"--keep-ip", "maybe"}, {"--ip", "10.0.0.5/24"}, {"--ip", "LAN:10.0.0.5"}} {
		args := append(append([]string{"inject", "--drivers", virtioTree(fx), "--dry-run"}, bad...), img)
		if r := cli(t, args...); r.code != exitUsage {
			t.Errorf("%v: %v, want a usage error", bad, r)
		}
	}
}
