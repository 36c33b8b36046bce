/*
 * TEST-ONLY stand-in for Windows' bcryptprimitives.dll, for running the
 * cross-compiled pvinject.exe under Wine 8.0 (Debian 12), which lacks it.
 * Every Go 1.22+ Windows binary calls ProcessPrng from this DLL at start-up;
 * Windows 10 and later ship it. Here it fills the buffer through
 * RtlGenRandom (advapi32's SystemFunction036), which Wine has. It is built
 * into a private Wine prefix by scripts/windows.sh and never ships: see
 * docs/windows-macos.md.
 */
#include <windows.h>

BOOLEAN NTAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
