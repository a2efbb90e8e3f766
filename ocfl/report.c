/* report.c: a growing list of validation findings. */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ocfl_report_init(struct ocfl_report *r)
{
    memset(r, 0, sizeof(*r));
}

void ocfl_report_release(struct ocfl_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->items[i].path);
        free(r->items[i].message);
    }
    free(r->items);
    memset(r, 0, sizeof(*r));
}

static int is_code(const char *code)
{
    if (!code || (code[0] != 'E' && code[0] != 'W'))
        return 0;
    for (int i = 1; i < 4; i++)
        if (code[i] < '0' || code[i] > '9')
            return 0;
    return code[4] == '\0';
}

void ocfl_report_add(struct ocfl_report *r, const char *code, const char *path, const char *fmt,
                     ...)
{
    struct ocfl_finding *f;
    va_list ap;
    int n;

    if (!path)
        path = "";
    if (!is_code(code))
        code = "E000"; /* a caller bug must still read as an error */
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->items[i].code, code) && !strcmp(r->items[i].path, path))
            return;

    if (code[0] == 'E')
        r->n_errors++;
    else
        r->n_warnings++;

    if (r->n == r->alloc) {
        size_t alloc = r->alloc ? r->alloc * 2 : 16;
        struct ocfl_finding *items = realloc(r->items, alloc * sizeof(*items));
        if (!items) {
            r->oom = 1;
            return;
        }
        r->items = items;
        r->alloc = alloc;
    }
    f = &r->items[r->n];
    memset(f, 0, sizeof(*f));
    f->severity = code[0] == 'E' ? OCFL_ERROR : OCFL_WARNING;
    memcpy(f->code, code, 5);
    f->path = strdup(path);
    va_start(ap, fmt);
    n = vasprintf(&f->message, fmt, ap);
    va_end(ap);
    if (n < 0)
        f->message = NULL;
    if (!f->path || !f->message) {
        free(f->path);
        free(f->message);
        r->oom = 1;
        return;
    }
    r->n++;
}

int ocfl_report_has(const struct ocfl_report *r, const char *code)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->items[i].code, code))
            return 1;
    return 0;
}
