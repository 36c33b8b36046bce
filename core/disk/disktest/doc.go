// Package disktest is the conformance suite every disk format of pvinject
// runs in its tests. It is a normal (non-test) package so that each format's
// _test files can import it:
//
//	func TestRead(t *testing.T)   { disktest.ReadAll(t, vhdx.Format, nil) }
//	func TestWrite(t *testing.T)  { disktest.RandomWrites(t, vhdx.Format, disktest.FromManifest(t, "vhdx", nil)...) }
//	func TestCreate(t *testing.T) { disktest.RandomWrites(t, vhdx.Format, disktest.Created(vhdx.Format, "", 64<<20)) }
//	func TestSparse(t *testing.T) { disktest.Sparse(t, vhdx.Format, "", 1<<30, 16<<20) }
//
// The expected bytes never come from the code under test: the fixtures are
// built by scripts/fixtures/disk.sh with qemu-img, sfdisk, mkntfs and ntfs-3g,
// and after writes `qemu-img compare` and `qemu-img check` are the judges.
package disktest
