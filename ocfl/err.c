/* err.c: filling struct ocfl_err. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* "..." at the end of a full @buf, cut on a UTF-8 boundary (a cut character would make the
 * message no text: JSON refuses it). */
static void mark_truncated(char *buf, size_t size)
{
    if (size >= 4)
        memcpy(buf + ocfl_utf8_prefix(buf, size - 4), "...", 4);
}

static void vformat(struct ocfl_err *err, int code, int with_errno, const char *fmt, va_list ap)
{
    int n;

    err->code = code;
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    if (n < 0) {
        snprintf(err->msg, sizeof(err->msg), "%s", "error message could not be formatted");
        return;
    }
    if ((size_t)n >= sizeof(err->msg)) {
        mark_truncated(err->msg, sizeof(err->msg));
        return;
    }
    if (with_errno) {
        size_t used = (size_t)n;
        int m = snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", strerror(-code));
        if (m < 0 || (size_t)m >= sizeof(err->msg) - used)
            mark_truncated(err->msg, sizeof(err->msg));
    }
}

int ocfl_err_set(struct ocfl_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    va_start(ap, fmt);
    vformat(err, code, 0, fmt, ap);
    va_end(ap);
    return code;
}

int ocfl_err_sys(struct ocfl_err *err, int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return code;
    va_start(ap, fmt);
    vformat(err, code, 1, fmt, ap);
    va_end(ap);
    return code;
}

int ocfl_err_prefix(struct ocfl_err *err, const char *fmt, ...)
{
    char old[sizeof(err->msg)];
    va_list ap;
    int n;

    if (!err)
        return -EIO;
    memcpy(old, err->msg, sizeof(old));
    va_start(ap, fmt);
    n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(err->msg)) {
        mark_truncated(err->msg, sizeof(err->msg));
        return err->code;
    }
    if ((size_t)snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, ": %s", old) >=
        sizeof(err->msg) - (size_t)n)
        mark_truncated(err->msg, sizeof(err->msg));
    return err->code;
}

void ocfl_err_clear(struct ocfl_err *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *ocfl_errno_name(int code)
{
    if (code < 0)
        code = -code;
    if (code == ENOTSUP) /* EOPNOTSUPP too on Linux: POSIX's name for files */
        return "ENOTSUP";
    return code ? strerrorname_np(code) : NULL;
}

int ocfl_errno_from_name(const char *name)
{
    /* names the C library gives another (the same number) */
    static const struct {
        const char *name;
        int code;
    } aliases[] = {{"ENOTSUP", ENOTSUP}, {"EWOULDBLOCK", EWOULDBLOCK}, {"EDEADLOCK", EDEADLOCK}};

    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (!strcmp(aliases[i].name, name))
            return aliases[i].code;
    /* errnos are small on Linux (EHWPOISON is 133); the C library names them */
    for (int e = 1; e < 256; e++) {
        const char *n = strerrorname_np(e);
        if (n && !strcmp(n, name))
            return e;
    }
    return 0;
}
