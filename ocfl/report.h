/* report.h: validation findings (error and warning codes of the OCFL spec). */
#ifndef OCFL_REPORT_H
#define OCFL_REPORT_H

#include <stdarg.h>
#include <stddef.h>

#include "checks.h"

enum ocfl_severity {
    OCFL_ERROR,   /* an E code: the object or root is invalid */
    OCFL_WARNING, /* a W code: valid, but against a SHOULD of the spec */
};

struct ocfl_finding {
    enum ocfl_severity severity;
    char code[5];        /* E040, W004 */
    enum ocfl_spec spec; /* the spec whose code list @code is from (UNKNOWN for a plain add) */
    char url[OCFL_CHECK_URL_MAX]; /* the spec's address of the code, "" for a plain add */
    char *path;                   /* where, relative to what was validated ("" for itself) */
    char *message;
    /*
     * The inventory files the finding was made in, in the order they were
     * checked: one problem of an early version that later inventories copy
     * is one finding, with every inventory that has it.  Empty (0, NULL) for
     * a finding that no inventory states (a file on disk, a sidecar).
     */
    char **inventories;
    size_t n_inventories;
};

/*
 * A growing list of findings.  Zero-initialise (struct ocfl_report r = {0})
 * or use ocfl_report_init(); release with ocfl_report_release().
 */
struct ocfl_report {
    struct ocfl_finding *items;
    size_t n, alloc;
    size_t n_errors, n_warnings;
    int oom; /* set when a finding could not be recorded for lack of memory */
    /* private: an index of the findings for the de-duplication below */
    size_t *slots;
    size_t n_slots;
};

void ocfl_report_init(struct ocfl_report *r);
void ocfl_report_release(struct ocfl_report *r);

/*
 * Record a finding.  @code is "Ennn" or "Wnnn" and decides the severity.
 * @path may be NULL (treated as "").  Never fails: on allocation failure the
 * counts still move and r->oom is set, so an invalid object never looks valid.
 * Adding the same code for the same path twice keeps only the first.
 */
void ocfl_report_add(struct ocfl_report *r, const char *code, const char *path, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/*
 * Record a finding of check @ck under its code in @spec's list
 * (ocfl_check_code(); unknown = 1.1), and under its second code too when it
 * has one, with the same message.  Nothing is recorded when @spec has no
 * rule for @ck.  The finding's url is the spec's address of the code.
 *
 * @inventory (NULL when none) is the inventory file the finding was made
 * in.  With @path NULL the finding is about that inventory itself (its path
 * is @inventory) and it is one finding per code and message: another
 * inventory with the same (a version block copied forward) joins the
 * finding's inventories instead of making another.  With @path given (a
 * content path) it is one finding per code and path, the same way.
 * Without @inventory this is ocfl_report_add() with the code of @ck (also
 * dropped when a finding about an inventory has that code and path).
 */
void ocfl_report_check(struct ocfl_report *r, enum ocfl_check ck, enum ocfl_spec spec,
                       const char *inventory, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void ocfl_report_vcheck(struct ocfl_report *r, enum ocfl_check ck, enum ocfl_spec spec,
                        const char *inventory, const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 6, 0)));

/* Whether a finding with @code was recorded. */
int ocfl_report_has(const struct ocfl_report *r, const char *code);

#endif
