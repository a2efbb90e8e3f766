/* readdir_offsets.c: check that a directory's readdir offsets are stable (telldir/seekdir). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_ENTRIES 100000

/*
 * usage: readdir_offsets DIR EXPECTED_ENTRIES
 * Reads DIR once recording telldir() before each entry, reads it again after
 * rewinddir() (same names, same order), then seekdir()s to every recorded
 * position, out of order, and checks readdir() returns the same entry there.
 */
int main(int argc, char **argv)
{
    static char *names[MAX_ENTRIES];
    static long pos[MAX_ENTRIES];
    size_t n = 0, again = 0, same = 1, seek_ok = 0;
    struct dirent *de;
    DIR *d;

    if (argc != 3) {
        fprintf(stderr, "usage: readdir_offsets DIR EXPECTED_ENTRIES\n");
        return 2;
    }
    d = opendir(argv[1]);
    CHECK(d != NULL);
    if (!d)
        return check_done();
    for (;;) {
        long p = telldir(d);
        if (!(de = readdir(d)) || n == MAX_ENTRIES)
            break;
        pos[n] = p;
        names[n] = strdup(de->d_name);
        if (!names[n])
            return 1;
        n++;
    }
    CHECK_INT(n, atol(argv[2]) + 2); /* with "." and ".." */
    rewinddir(d);
    while ((de = readdir(d)) != NULL) {
        if (again >= n || strcmp(names[again], de->d_name))
            same = 0;
        again++;
    }
    CHECK(same && again == n);
    /* seek backwards through the recorded positions: each must give its entry */
    for (size_t k = 0; k < n; k++) {
        size_t i = n - 1 - k;
        seekdir(d, pos[i]);
        de = readdir(d);
        if (de && !strcmp(de->d_name, names[i]))
            seek_ok++;
    }
    CHECK_INT(seek_ok, n);
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return check_done();
}
