/* cli_util.c: error output and progress lines for the command line. */
#include "cli_util.h"
#include "identity.h"
#include "root.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("ocflfs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_fail(const struct ocfl_err *err)
{
    cli_error("%s", err->msg[0] ? err->msg : "unknown error");
    return EXIT_FAIL;
}

int cli_usage(const char *synopsis, const char *fmt, ...)
{
    va_list ap;

    fputs("ocflfs: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: ocflfs %s\n", synopsis);
    return EXIT_USAGE;
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(struct cli_progress *p)
{
    p->enabled = isatty(STDERR_FILENO);
    p->last = 0;
    p->shown = 0;
}

void cli_progress_update(struct cli_progress *p, const char *what, uint64_t done, uint64_t total)
{
    double t;

    if (!p->enabled)
        return;
    t = now_seconds();
    if (p->shown && t - p->last < 0.2 && done != total)
        return;
    p->last = t;
    p->shown = 1;
    if (total)
        fprintf(stderr, "\r%s: %3u%% (%llu / %llu MiB)\033[K", what, (unsigned)(done * 100 / total),
                (unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
    else
        fprintf(stderr, "\r%s: %llu MiB\033[K", what, (unsigned long long)(done >> 20));
}

void cli_progress_done(struct cli_progress *p)
{
    if (p->enabled && p->shown)
        fputc('\n', stderr);
    p->shown = 0;
}

int cli_read_file(const char *path, size_t max, char **ret, struct ocfl_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, rc = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0) {
        rc = ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
        rc = ocfl_err_set(err, -EFBIG, "'%s': not a regular file of at most %zu bytes", path, max);
        goto out;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        rc = ocfl_err_set(err, -ENOMEM, "'%s': out of memory", path);
        goto out;
    }
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ocfl_err_sys(err, -errno, "cannot read '%s'", path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *ret = buf;
    buf = NULL;
out:
    free(buf);
    close(fd);
    return rc;
}

int cli_json_option(int argc, char **argv, const char *synopsis, int *ret_json)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    *ret_json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'j') {
            *ret_json = 1;
        } else if (c == 'h') {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK;
        } else {
            return cli_usage(synopsis, "%s: bad option", argv[0]);
        }
    }
    return -1;
}

void cli_print_json(json_t *doc)
{
    json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    fputc('\n', stdout);
    json_decref(doc);
}

void cli_created_now(char *buf, size_t size)
{
    const char *fixed = getenv("OCFLFS_TEST_CREATED");
    time_t t = time(NULL);
    struct tm tm;

    if (fixed && *fixed) {
        snprintf(buf, size, "%s", fixed);
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_root_open(const char *path, struct ocfl_root **ret, struct ocfl_err *err)
{
    const char *walk = getenv("OCFLFS_FIND_MISPLACED");
    int r = ocfl_root_open(path, ret, err);

    if (r == 0)
        (*ret)->find_misplaced = walk && !strcmp(walk, "1");
    return r;
}

int cli_user_or_me(const char **user, struct identity *me, struct ocfl_err *err)
{
    int r = *user ? 0 : identity_of(NULL, NULL, getuid(), me, err);

    if (r == 0 && !*user)
        *user = me->name;
    return r;
}
