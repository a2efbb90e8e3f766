/* mount_log.c: the daemon's log (stderr in the foreground, syslog otherwise) and its clock. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "mount.h"

void mount_log(const struct mount *m, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    if (m->foreground) {
        char line[2048];
        vsnprintf(line, sizeof(line), fmt, ap);
        fprintf(stderr, "ocflfs: %s\n", line);
    } else {
        vsyslog(LOG_WARNING, fmt, ap);
    }
    va_end(ap);
}

double mount_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
