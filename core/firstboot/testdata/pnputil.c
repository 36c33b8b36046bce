/* Stand-in for Windows' pnputil.exe in the first-boot tests. It appends its
 * arguments to C:\pnputil-calls.txt and exits with the code that
 * C:\pnputil-behavior.txt gives for the INF's base name ("viostor.inf 1"),
 * 0 when none is given; 97 or 98 when it cannot record the call or read
 * that file. Built with mingw: Wine 8 cannot run Go 1.26 binaries. */
#include "standin.h"
#include <string.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    FILE *calls = open_retry("C:\\pnputil-calls.txt", "a");
    if (!calls) return 97;
    for (int i = 1; i < argc; i++) fprintf(calls, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    fclose(calls);
    if (argc < 2) return 0;
    const char *inf = argv[argc - 1];
    const char *slash = strrchr(inf, '\\');
    if (slash) inf = slash + 1;
    /* The test always writes this file (empty for "all succeed"). */
    FILE *b = open_retry("C:\\pnputil-behavior.txt", "r");
    if (!b) return 98;
    char name[260];
    int code, result = 0;
    while (fscanf(b, "%259s %d", name, &code) == 2)
        if (_stricmp(name, inf) == 0) result = code;
    fclose(b);
    return result;
}
