package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pvinject/pvinject/core/inject"
)

// planNetwork is what the network tests read of `inject --dry-run --json`.
// dryRunPlan runs a --dry-run --json command that must succeed and decodes
// the network part of its plan.
func dryRunPlan(t *testing.T, args ...string) planNetwork {
	t.Helper()
	r := cli(t, args...)
	if r.code != exitOK {
		t.Fatalf("pvinject %v: %v", args, r)
	}
	var plan planNetwork
	decodeJSON(t, r.stdout, &plan)
	return plan
}

type planNetwork struct {
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

// carriesOne reports whether the plan carries one adapter's settings, with
// gateway gw, to the new adapter with MAC mac, and nothing by keep_ip.
func (p planNetwork) carriesOne(mac, gw string) bool {
	return p.Network.KeepIP == "off" && len(p.Network.Carry) == 1 && strings.Contains(p.Network.Carry[0].To, mac) &&
		len(p.FirstBoot.NetIdentities) == 1 && p.FirstBoot.NetIdentities[0].Gateway == gw
}

// TestInjectIPFlags: --ip reaches the plan and its first-boot runner; bad
// --keep-ip and --ip values are usage errors that write nothing.
func TestInjectIPFlags(t *testing.T) {
	fx := injectFixture(t)
	img := filepath.Join(fx, "disks", win10)
	plan := dryRunPlan(t, "inject", "--drivers", virtioTree(fx), "--dry-run", "--json", "--keep-ip", "off",
		"--ip", "52:54:00:12:34:56:10.0.0.5/24,10.0.0.1,10.0.0.53", img)
	if !plan.carriesOne("52-54-00-12-34-56", "10.0.0.1") {
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

// TestAnswersCarryNetwork: an answer file's network choices reach the plan
// as the flags would (keep_ip off plus the saved adapter, MAC and all), a
// flag given still overrides them, and batch refuses one machine's
// addresses for several images before touching any.
func TestAnswersCarryNetwork(t *testing.T) {
	fx := injectFixture(t)
	img := filepath.Join(fx, "disks", win10)
	dir := t.TempDir()
	answers := writeAnswers(t, dir, fmt.Sprintf(`{"version": 1, "drivers": %q, "set": "auto", "in_place": true,
 "adapters": [{"connection": "Ethernet0", "carry": true, "addresses": "10.0.0.5/24", "gateway": "10.0.0.1", "dns": "10.0.0.53", "mac": "52:54:00:12:34:56"}]}`, virtioTree(fx)))
	plan := dryRunPlan(t, "inject", "--answers", answers, "--dry-run", "--json", img)
	if !plan.carriesOne("52-54-00-12-34-56", "10.0.0.1") {
		t.Fatalf("answers' adapters: plan network %+v first boot %+v", plan.Network, plan.FirstBoot)
	}
	plan = dryRunPlan(t, "inject", "--answers", answers, "--keep-ip", "off", "--ip", "LAN:10.9.9.9/16", "--dry-run", "--json", img)
	if len(plan.FirstBoot.NetIdentities) != 1 || plan.FirstBoot.NetIdentities[0].MAC != "" {
		t.Errorf("--ip did not override the answer file's adapters: %+v", plan.FirstBoot)
	}

	images := []string{filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")}
	for _, p := range images {
		if err := os.WriteFile(p, make([]byte, 4096), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int32
	stubInjectOne(t, func(context.Context, inject.Request) error { calls.Add(1); return nil })
	r := cli(t, append([]string{"batch", "--answers", answers}, images...)...)
	if r.code != exitUsage || calls.Load() != 0 {
		t.Fatalf("batch of 2 images with one machine's adapters: %v, %d images processed", r, calls.Load())
	}
	wantOneLine(t, r, "answers.json", "adapters", "keep_ip")
}
