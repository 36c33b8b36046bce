//go:build cgo && linux

// Package cheap reports how much C heap the process holds, so the hive
// tests can bound what the go-hivex binding leaks. It calls no libhivex.
package cheap

/*
#include <malloc.h>

static size_t cheap_in_use(void) {
	struct mallinfo2 m = mallinfo2();
	return m.uordblks + m.hblkhd;
}
*/
import "C"

// InUse returns the bytes of C heap in use: small blocks and mmapped ones,
// over all arenas. Freed blocks parked in glibc's per-thread cache count
// as in use; run with GLIBC_TUNABLES=glibc.malloc.tcache_count=0 for exact
// figures.
func InUse() int { return int(C.cheap_in_use()) }
