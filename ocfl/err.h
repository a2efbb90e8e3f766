/* err.h: the error convention shared by every ocflfs library function. */
#ifndef OCFL_ERR_H
#define OCFL_ERR_H

#include <stddef.h>

/*
 * Fallible functions return 0 (or a non-negative count) on success and a
 * negative errno on failure.  Their optional last argument is a
 * struct ocfl_err *, which receives a human message only on failure; pass
 * NULL when the message is not wanted.  Callers decide on err->code (or on
 * the return value), never on the text.
 *
 * Messages are lower-case, say what failed first and quote the path or id:
 *     cannot open 'v3/inventory.json': Permission denied
 */
struct ocfl_err {
    int code;       /* the negative errno that was returned */
    char msg[1024]; /* NUL-terminated, possibly truncated with "..." */
};

/*
 * Fill @err (may be NULL) with @code and a printf-style message, and return
 * @code so that callers can write `return ocfl_err_set(err, -ENOENT, ...)`.
 * @code must be negative.
 */
int ocfl_err_set(struct ocfl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Like ocfl_err_set(), and append ": " and strerror(-code) to the message.
 */
int ocfl_err_sys(struct ocfl_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Prefix the message already in @err with a printf-style context and ": ".
 * Returns err->code (or -EIO when @err is NULL).  Used when a caller adds
 * what it was doing to an error from below.
 */
int ocfl_err_prefix(struct ocfl_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reset @err to "no error". */
void ocfl_err_clear(struct ocfl_err *err);

/* The symbolic name of errno @code, positive or negative ("EIO" for -5); NULL when the C
 * library knows none.  The string is static. */
const char *ocfl_errno_name(int code);

/* The reverse: the positive errno named @name ("EIO", case as written), or 0 when none is. */
int ocfl_errno_from_name(const char *name);

#endif
