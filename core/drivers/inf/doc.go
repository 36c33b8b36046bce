// Package inf parses Windows setup information (INF) files as shipped in
// driver packages: sections, [Strings] substitution (with localized
// [Strings.LLLL] sections), quoting, comments, line continuation, UTF-16 and
// UTF-8/ANSI text, [Version], [Manufacturer] with TargetOSVersion decorations
// and the rule Windows uses to pick a models section, install sections with
// their .Services and .HW parts, CopyFiles/DestinationDirs,
// [SourceDisksFiles]/[SourceDisksNames], AddService and AddReg/DelReg lines.
//
// Every INF is hostile input: the file size is bounded (MaxFileSize), every
// number is range-checked, and nothing here panics on bad bytes (FuzzParse).
//
// Not supported: Include/Needs (they name system INFs we cannot read
// offline; they are recorded as warnings), [Strings] sections of other
// code pages than the file's own, and INF templates (.inx, or .inf files that
// still carry stampinf/build placeholders): Parse refuses them with
// ErrTemplate unless Options.AllowTemplate is set.
//
// References: Microsoft "General Syntax Rules for INF Files", "INF Strings
// Section", "INF Manufacturer Section", "Combining Platform Extensions with
// Operating System Versions", "INF AddReg Directive", "INF AddService
// Directive", "INF DestinationDirs Section".
package inf
