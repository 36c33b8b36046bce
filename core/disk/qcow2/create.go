package qcow2

import (
	"encoding/binary"
	"fmt"

	"github.com/pvinject/pvinject/core/disk"
)

const defaultClusterBits = 16

// Create makes a new, empty qcow2 image: version 3 with 64 KiB clusters by
// default, or version 2 (compat 0.10) with Subformat "v2". Layout: header,
// refcount table, one refcount block, L1 table; all with refcount 1.
func Create(path string, size int64, opts disk.CreateOptions) (disk.Image, error) {
	version := uint32(3)
	switch opts.Subformat {
	case "", "v3", "1.1":
	case "v2", "0.10":
		version = 2
	default:
		return nil, fmt.Errorf("qcow2: create %s: unknown subformat %q (want v2 or v3)", path, opts.Subformat)
	}
	if size <= 0 || size%512 != 0 || size > maxVirtualSize {
		return nil, fmt.Errorf("qcow2: create %s: size %d must be a positive multiple of 512 up to %d", path, size, int64(maxVirtualSize))
	}
	cb := uint32(defaultClusterBits)
	cs := int64(1) << cb
	l1 := l1EntriesFor(uint64(size), cb)
	if l1*8 > maxL1Bytes {
		return nil, fmt.Errorf("qcow2: create %s: size %d needs an L1 table over the %d-byte limit", path, size, maxL1Bytes)
	}
	l1Clusters := max(1, (int64(l1)*8+cs-1)/cs)
	h := &header{
		version: version, clusterBits: cb, size: uint64(size), l1Size: uint32(l1),
		refTableOffset: uint64(cs), refTableClusts: 1, l1Offset: uint64(3 * cs),
		refcountOrder: 4, headerLength: v3HeaderLen + 8,
	}
	clusters := 3 + l1Clusters
	if clusters > cs*8/16 {
		return nil, fmt.Errorf("qcow2: create %s: size %d too large for one refcount block", path, size)
	}
	buf := make([]byte, clusters*cs)
	copy(buf, marshalHeader(h, int(cs)))
	binary.BigEndian.PutUint64(buf[cs:], uint64(2*cs)) // refcount table -> block
	for c := int64(0); c < clusters; c++ {
		binary.BigEndian.PutUint16(buf[2*cs+c*2:], 1)
	}
	op := opts.Opener
	if op == nil {
		op = disk.OSOpener{}
	}
	b, err := op.Create(path)
	if err != nil {
		return nil, fmt.Errorf("qcow2: create %s: %w", path, err)
	}
	if _, err := b.WriteAt(buf, 0); err != nil {
		b.Close()
		return nil, fmt.Errorf("qcow2: create %s: %w", path, err)
	}
	if err := b.Sync(); err != nil {
		b.Close()
		return nil, fmt.Errorf("qcow2: create %s: %w", path, err)
	}
	m, err := open(path, b, disk.Options{Writable: true}, true)
	if err != nil {
		b.Close()
		return nil, err
	}
	return m, nil
}
