// Package imagelock makes pvinject the only writer of a disk image while it
// writes, and refuses images that something else is using.
//
// One writer per image. Acquire takes an exclusive lock on the image file
// itself (flock(2) on Linux and macOS, LockFileEx on Windows), so the lock
// belongs to the file, not to one of its names: a symlink, a relative path or
// a hard link to the same file meets the same lock. The lock is released by
// the kernel when the process ends, so a killed run never leaves a stale lock
// behind (the journal, not the lock, records an unfinished run). Inject in
// place, rollback, accept and the wizard's apply hold it; a copy to a new
// image holds it shared on the source, so that the source cannot be written
// while it is read.
//
// One journal per image. The journal lives beside the file's canonical name
// (Canonical: absolute, every symlink resolved), so every path that resolves
// to the same name finds the same journal. Hard links are the exception: two
// hard links are two canonical names, possibly in different folders, and no
// portable way finds the other names of a file. pvinject therefore refuses to
// write in place to a file that has more than one name (Lock.Links > 1): a
// journal under one name could not be found from the other, and an in-place
// write would also change the other name, which is often a backup made with
// `cp -l` or rsnapshot. Rollback and accept stay allowed (undoing is always
// safe), and say so when they find no journal beside a hard-linked name.
//
// Images in use (Linux). Besides the lock, CheckInUse refuses an image that
//   - another process holds an fcntl lock on: qemu (qemu-system, qemu-io,
//     qemu-img, qemu-nbd) takes open-file-description locks on bytes 100-300
//     of every image it opens, shared while reading and exclusive on the
//     "write" permission byte while writing (docs/image-locking.md);
//   - another process has open for writing (a hypervisor without locking,
//     ntfs-3g mounting the file directly);
//   - backs a loop device, or is mounted (directly, or through a loop device),
//     naming the device and where it is mounted;
//   - is a block device that the kernel reports busy (O_EXCL open fails while
//     it or a partition is mounted or held by device-mapper).
//
// Where the holder can be found (/proc), the refusal names its program and
// process id. On macOS and Windows only the pvinject lock is checked
// (Windows' own share modes refuse files a hypervisor has open for writing).
package imagelock
