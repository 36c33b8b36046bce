package inject

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/hive"
	"github.com/pvinject/pvinject/core/image"
	"github.com/pvinject/pvinject/core/ntfs"
)

// Verify re-checks an injected image against the report saved beside it
// (`pvinject verify IMAGE`): every file and registry value of the plan.
// It never writes and keeps the journal.
func Verify(ctx context.Context, imagePath string) error {
	rep, err := LoadReport(imagePath)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := *rep.Plan
	p.Target = imagePath
	vr := VerifyPlan(&p)
	if !vr.OK {
		return fmt.Errorf("%w: %s", ErrVerify, strings.Join(vr.Problems, "; "))
	}
	return nil
}

// VerifyPlan reopens the plan's target read-only and re-reads every file
// (SHA-256) and the final state of every registry value the plan wrote,
// and checks both hives structurally.
func VerifyPlan(p *Plan) VerifyResult {
	var vr VerifyResult
	problem := func(format string, a ...any) { vr.Problems = append(vr.Problems, fmt.Sprintf(format, a...)) }
	img, err := image.Open(p.Target, disk.Options{AllowParentOutside: p.Request.AllowBackingOutside})
	if err != nil {
		problem("open %s: %v", p.Target, err)
		return vr
	}
	defer img.Close()
	vol, view, err := openVolume(img, p, false)
	if err != nil {
		problem("%v", err)
		return vr
	}
	want := map[string][sha256.Size]byte{}
	for _, f := range p.Files {
		var sum [sha256.Size]byte
		if b, err := hex.DecodeString(f.SHA256); err != nil || len(b) != sha256.Size {
			problem("%s: bad sha256 in the plan", f.Path)
			continue
		} else {
			copy(sum[:], b)
		}
		want[f.Path] = sum
	}
	if err := ntfs.Verify(view, view.Size(), want); err != nil {
		var ve *ntfs.VerifyError
		if errors.As(err, &ve) {
			for path, what := range ve.Problems {
				problem("file %s: %s", path, what)
			}
		} else {
			problem("files: %v", err)
		}
	}
	vr.Files = len(want)
	for _, hv := range []string{HiveSystem, HiveSoftware} {
		n, probs := verifyHive(vol, p, hv)
		vr.Values += n
		vr.Problems = append(vr.Problems, probs...)
	}
	vr.OK = len(vr.Problems) == 0
	return vr
}

// verifyHive checks the final planned state of every value of one hive.
func verifyHive(vol *ntfs.Volume, p *Plan, hv string) (int, []string) {
	var order []string
	last := map[string]RegOp{}
	for _, op := range p.Registry {
		if op.Hive != hv {
			continue
		}
		k := regKey(hv, op.Key, op.Name)
		if op.Op == OpDeleteKey || op.Op == OpCreateKey {
			k = strings.ToUpper(hv + `\` + op.Key + "\x00key")
		}
		if _, ok := last[k]; !ok {
			order = append(order, k)
		}
		last[k] = op
	}
	if len(order) == 0 {
		return 0, nil
	}
	var probs []string
	file := hivePath(p.Guest, hv)
	raw, logs, err := readHive(vol, file)
	if err != nil {
		return 0, []string{err.Error()}
	}
	if err := hive.Check(hv, raw); err != nil {
		probs = append(probs, fmt.Sprintf("%s hive: %v", hv, err))
	}
	h, err := hive.OpenReadOnly(hv, raw, logs...)
	if err != nil {
		return 0, append(probs, fmt.Sprintf("open %s hive: %v", hv, err))
	}
	defer h.Close()
	n := 0
	for _, k := range order {
		op := last[k]
		n++
		switch op.Op {
		case OpSet:
			v, err := h.Get(op.Key, op.Name)
			if err != nil {
				probs = append(probs, fmt.Sprintf("%s: missing: %v", op, err))
			} else if !v.Equal(op.New.Value()) {
				probs = append(probs, fmt.Sprintf("%s: reads back as %s %s", op, v.Type, v.Display()))
			}
		case OpDeleteValue:
			if _, err := h.Get(op.Key, op.Name); !errors.Is(err, hive.ErrNotFound) {
				probs = append(probs, fmt.Sprintf("%s: still present", op))
			}
		case OpDeleteKey:
			if ok, _ := h.KeyExists(op.Key); ok {
				probs = append(probs, fmt.Sprintf("%s: still present", op))
			}
		case OpCreateKey:
			if ok, _ := h.KeyExists(op.Key); !ok {
				probs = append(probs, fmt.Sprintf("%s: missing", op))
			}
		}
	}
	return n, probs
}
