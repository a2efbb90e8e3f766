/* mount_log.c: the daemon's log (a file, stderr in the foreground, else syslog) and its clock. */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

void mount_log(const struct mount *m, const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (m->log_fd >= 0) {
        /* one write(2) per line on an O_APPEND file: lines of threads never interleave */
        char out[2200], stamp[32];
        time_t t = time(NULL);
        struct tm tm;
        int n;
        gmtime_r(&t, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        n = snprintf(out, sizeof(out), "%s ocflfs[%ld]: %s\n", stamp, (long)getpid(), line);
        if (write(m->log_fd, out, n > 0 && (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1) <
            0) {
            /* nowhere else to say it */
        }
    } else if (m->foreground) {
        fprintf(stderr, "ocflfs: %s\n", line);
    } else {
        syslog(LOG_WARNING, "%s", line);
    }
}

double mount_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
