/* Stand-in for Windows' getmac.exe in the first-boot tests: prints
 * C:\getmac.txt (the "MAC","\Device\Tcpip_{GUID}" lines the test wants the
 * guest to have) and appends its arguments to C:\getmac-calls.txt. Wine has
 * no getmac. Built with mingw, like the pnputil stand-in. */
#include <stdio.h>

int main(int argc, char **argv) {
    FILE *calls = fopen("C:\\getmac-calls.txt", "a");
    for (int i = 1; calls && i < argc; i++) fprintf(calls, "%s%s", argv[i], i + 1 < argc ? " " : "\n");
    if (calls) fclose(calls);
    FILE *in = fopen("C:\\getmac.txt", "r");
    char line[512];
    while (in && fgets(line, sizeof line, in)) fputs(line, stdout);
    if (in) fclose(in);
    return 0;
}
