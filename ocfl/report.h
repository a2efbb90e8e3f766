/* report.h: validation findings (error and warning codes of the OCFL spec). */
#ifndef OCFL_REPORT_H
#define OCFL_REPORT_H

#include <stddef.h>

enum ocfl_severity {
    OCFL_ERROR,   /* an E code: the object or root is invalid */
    OCFL_WARNING, /* a W code: valid, but against a SHOULD of the spec */
};

struct ocfl_finding {
    enum ocfl_severity severity;
    char code[5]; /* "E040", "W004" */
    char *path;   /* where, relative to what was validated ("" for itself) */
    char *message;
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

/* Whether a finding with @code was recorded. */
int ocfl_report_has(const struct ocfl_report *r, const char *code);

#endif
