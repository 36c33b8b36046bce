// Package guest finds the Windows installations on a volume and describes
// each one: where %SystemRoot% is, which version, edition and architecture it
// is, which control sets it has, which paravirtual drivers are already
// installed, and what about its state could make an offline driver injection
// fail (device installation policies, Fast Startup, pending reboots, Group
// Policy, StartOverride values).
//
// Detection follows libguestfs (daemon/inspect_fs_windows.ml): %SystemRoot%
// candidates Windows, WINNT, WIN32, WIN, REACTOS, else boot.ini; a candidate
// counts only with System32, System32\config and System32\cmd.exe. The
// architecture comes from the PE Machine field of cmd.exe, cross-checked with
// PROCESSOR_ARCHITECTURE in the SYSTEM hive. Version fields come from
// SOFTWARE\Microsoft\Windows NT\CurrentVersion. The facts and their sources
// are collected in docs/injection-facts.md sections 1 and 5 of the shared docs.
//
// Every volume, hive and driver file is hostile input: sizes are bounded,
// nothing panics, and problems come back as safety findings next to a usable
// result rather than as a failed detection, so the user sees all of them.
//
// Detection reads only what it needs: the root and %SystemRoot% directory
// entries, cmd.exe, the SYSTEM and SOFTWARE hives (plus their transaction
// logs, which the hive opener may replay) and the .sys files of PV drivers
// that are registered as services. With the default opener (Detect's nil)
// and an FS with random access (ReaderAtFS: core/ntfs through FromNTFS, and
// DirFS), a clean hive is not read whole but in place, only the cells of
// the keys detection asks for: a few hundred KiB of a 100 MiB SOFTWARE
// hive. Dirty hives are read whole with their logs, to replay them.
package guest
