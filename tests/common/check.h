/* check.h: the tiny assertion kit of the C tests (TAP output, exit 1 on failure). */
#ifndef OCFLFS_CHECK_H
#define OCFLFS_CHECK_H

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Each CHECK prints "ok N - expr" or "not ok N - expr (file:line)" and
 * counts; check_done() prints the plan line "1..N" and returns the exit
 * status (0 when every check passed).  Tests keep going after a failure so
 * one run names every problem.
 */
static int check_n_, check_failed_;

/* A diagnostic of a failed check: every line of it behind "#" (TAP). */
static inline void check_diag_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void check_diag_(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (char *line = buf, *nl; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        printf("#   %.*s\n", nl ? (int)(nl - line) : (int)strlen(line), line);
        if (nl && !nl[1])
            break;
    }
}

#define CHECK_AT_(cond, text, ...)                                                                 \
    do {                                                                                           \
        check_n_++;                                                                                \
        if (cond) {                                                                                \
            printf("ok %d - %s\n", check_n_, text);                                                \
        } else {                                                                                   \
            check_failed_++;                                                                       \
            printf("not ok %d - %s (%s:%d)\n", check_n_, text, __FILE__, __LINE__);                \
            check_diag_(__VA_ARGS__);                                                              \
        }                                                                                          \
    } while (0)

#define CHECK(cond) CHECK_AT_((cond), #cond, "condition false")

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        CHECK_AT_(a_ == b_, #a " == " #b, "got %lld, want %lld", a_, b_);                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        CHECK_AT_(a_ &&b_ && !strcmp(a_, b_), #a " == " #b, "got '%s', want '%s'",                 \
                  a_ ? a_ : "(null)", b_ ? b_ : "(null)");                                         \
    } while (0)

#define CHECK_OK(expr)                                                                             \
    do {                                                                                           \
        long long r_ = (long long)(expr);                                                          \
        CHECK_AT_(r_ >= 0, #expr " succeeds", "returned %lld", r_);                                \
    } while (0)

static inline int check_done(void)
{
    printf("1..%d\n", check_n_);
    if (check_failed_)
        printf("# %d of %d checks failed\n", check_failed_, check_n_);
    return check_failed_ ? 1 : 0;
}

/* Run a shell command made from @fmt; a failure ends the test (exit 2: the setup broke). */
static inline void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void sh(const char *fmt, ...)
{
    char cmd[4 * PATH_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        printf("# command failed: %s\n", cmd);
        exit(2);
    }
}

#endif
