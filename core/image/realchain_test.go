package image

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pvinject/pvinject/core/disk"
	"github.com/pvinject/pvinject/core/disk/disktest"
	"github.com/pvinject/pvinject/core/safety"
)

// TestQemuChain uses the qcow2 chain qemu-img made (base <- overlay <- top).
func TestQemuChain(t *testing.T) {
	dir := disktest.FixtureDir(t)
	base := filepath.Join(dir, "base-qcow2.qcow2")
	overlay := filepath.Join(dir, "overlay-qcow2.qcow2")
	top := filepath.Join(dir, "top-qcow2.qcow2")

	im, err := Open(top, disk.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	c := im.Chain()
	if len(c) != 3 || c[0].Parent != "overlay-qcow2.qcow2" || c[1].Parent != "base-qcow2.qcow2" || c[2].Parent != "" {
		t.Fatalf("chain of top-qcow2: %+v", c)
	}
	if err := disktest.CompareWithRaw(im, filepath.Join(dir, "top-qcow2.expect.raw"), 3); err != nil {
		t.Fatal(err)
	}

	kids, err := Children(overlay)
	if err != nil || len(kids) != 1 || kids[0] != top {
		t.Fatalf("Children(overlay) = %v, %v; want [%s]", kids, err, top)
	}
	var r *safety.Refusal
	err = RefuseIfParent(base)
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "overlay-qcow2.qcow2") {
		t.Fatalf("RefuseIfParent(base) = %v, want a refusal naming overlay-qcow2.qcow2", err)
	}
	if _, err := Open(base, disk.Options{Writable: true}); !errors.As(err, &r) {
		t.Fatalf("writable open of base-qcow2: %v, want a refusal", err)
	}
}

// TestVMDKChildRefusal: a VMDK overlay names its parent by parentFileNameHint.
func TestVMDKChildRefusal(t *testing.T) {
	dir := disktest.FixtureDir(t)
	var r *safety.Refusal
	err := RefuseIfParent(filepath.Join(dir, "base-vmdk.vmdk"))
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "overlay-vmdk.vmdk") {
		t.Fatalf("RefuseIfParent(base-vmdk) = %v, want a refusal naming overlay-vmdk.vmdk", err)
	}
	if err := RefuseIfParent(filepath.Join(dir, "overlay-vmdk.vmdk")); err != nil {
		t.Fatalf("overlay-vmdk has no children: %v", err)
	}
}
