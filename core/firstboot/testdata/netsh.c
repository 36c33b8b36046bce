/* Stand-in for Windows' netsh.exe in the first-boot tests. It appends its
 * arguments to C:\netsh-calls.txt; for "winsock show catalog" it prints
 * C:\netsh-catalog.txt (the catalog the test wants the guest to have).
 * Every call succeeds. Built with mingw, like the pnputil stand-in. */
#include "standin.h"
#include <string.h>

int main(int argc, char **argv) {
    FILE *calls = open_retry("C:\\netsh-calls.txt", "a");
    if (!calls) return 97;
    for (int i = 1; i < argc; i++) fprintf(calls, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    fclose(calls);
    if (argc == 4 && _stricmp(argv[1], "winsock") == 0 && _stricmp(argv[2], "show") == 0 && _stricmp(argv[3], "catalog") == 0) {
        FILE *cat = fopen("C:\\netsh-catalog.txt", "r");
        char line[512];
        while (cat && fgets(line, sizeof line, cat)) fputs(line, stdout);
        if (cat) fclose(cat);
    }
    return 0;
}
