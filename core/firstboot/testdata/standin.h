/* Shared by the stand-ins of the first-boot tests. A call the test cannot
 * see must not pass for one that was never made: a file that is briefly
 * busy is retried for up to 2 s, and then the caller fails loudly. */
#include <stdio.h>
#include <windows.h>

static FILE *open_retry(const char *path, const char *mode) {
    FILE *f = NULL;
    for (int try = 0; !f && try < 20; try++) {
        f = fopen(path, mode);
        if (!f) Sleep(100);
    }
    if (!f) fprintf(stderr, "stand-in: cannot open %s\n", path);
    return f;
}
