/* report.c: a growing list of validation findings, one per problem however many inventories
 * repeat it. */
#include "report.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The two keys a finding is found by: its code and path, and (for a finding about an
 * inventory itself) its code and message. */
enum { KEY_PATH = 0, KEY_SELF = 1 };

void ocfl_report_init(struct ocfl_report *r)
{
    memset(r, 0, sizeof(*r));
}

static void finding_release(struct ocfl_finding *f)
{
    free(f->path);
    free(f->message);
    for (size_t i = 0; i < f->n_inventories; i++)
        free(f->inventories[i]);
    free(f->inventories);
}

void ocfl_report_release(struct ocfl_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        finding_release(&r->items[i]);
    free(r->items);
    free(r->slots);
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

/* ---- the index: open addressing over (finding index, key kind) */

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return (h ^ 0xffu) * 1099511628211u; /* a separator between the parts */
}

static size_t key_hash(int kind, const char *code, const char *s)
{
    return (size_t)fnv(fnv(14695981039346656037u ^ (uint64_t)kind, code), s);
}

/* A finding about an inventory itself: its path is the first of its inventories. */
static int is_self(const struct ocfl_finding *f)
{
    return f->n_inventories && !strcmp(f->path, f->inventories[0]);
}

static int matches(const struct ocfl_finding *f, int kind, const char *code, const char *s)
{
    if (strcmp(f->code, code))
        return 0;
    if (kind == KEY_PATH)
        return !strcmp(f->path, s);
    return is_self(f) && !strcmp(f->message, s);
}

static struct ocfl_finding *lookup(struct ocfl_report *r, int kind, const char *code, const char *s)
{
    size_t mask = r->n_slots - 1;

    if (!r->slots) { /* no memory for the index: scan */
        for (size_t i = 0; i < r->n; i++)
            if (matches(&r->items[i], kind, code, s))
                return &r->items[i];
        return NULL;
    }
    for (size_t i = key_hash(kind, code, s) & mask;; i = (i + 1) & mask) {
        size_t v = r->slots[i];
        if (!v)
            return NULL;
        v--;
        if ((int)(v & 1) == kind && matches(&r->items[v >> 1], kind, code, s))
            return &r->items[v >> 1];
    }
}

static void insert_key(struct ocfl_report *r, size_t idx, int kind)
{
    const struct ocfl_finding *f = &r->items[idx];
    size_t mask = r->n_slots - 1;
    size_t i = key_hash(kind, f->code, kind == KEY_PATH ? f->path : f->message) & mask;

    while (r->slots[i])
        i = (i + 1) & mask;
    r->slots[i] = idx * 2 + (size_t)kind + 1;
}

static void index_finding(struct ocfl_report *r, size_t idx)
{
    insert_key(r, idx, KEY_PATH);
    if (is_self(&r->items[idx]))
        insert_key(r, idx, KEY_SELF);
}

/* Room for one more finding (at most two keys each, the table at most half full). */
static void grow_index(struct ocfl_report *r)
{
    size_t want = 64;

    if (r->slots && 4 * (r->n + 1) <= r->n_slots)
        return;
    while (want < 4 * (r->n + 1))
        want *= 2;
    free(r->slots);
    r->slots = calloc(want, sizeof(*r->slots));
    r->n_slots = r->slots ? want : 0;
    for (size_t i = 0; r->slots && i < r->n; i++)
        index_finding(r, i);
}

/* ---- recording */

static int add_inventory(struct ocfl_report *r, struct ocfl_finding *f, const char *inventory)
{
    char **nv;

    for (size_t i = 0; i < f->n_inventories; i++)
        if (!strcmp(f->inventories[i], inventory))
            return 0;
    nv = realloc(f->inventories, (f->n_inventories + 1) * sizeof(*nv));
    if (!nv)
        goto oom;
    f->inventories = nv;
    if (!(nv[f->n_inventories] = strdup(inventory)))
        goto oom;
    f->n_inventories++;
    return 0;
oom:
    r->oom = 1;
    return -1;
}

static void count(struct ocfl_report *r, const char *code)
{
    if (code[0] == 'E')
        r->n_errors++;
    else
        r->n_warnings++;
}

/* Record @code (valid) with the message @msg (NULL when it could not be made). */
static void record(struct ocfl_report *r, const char *code, enum ocfl_spec spec,
                   const char *inventory, const char *path, const char *msg)
{
    const char *where = path ? path : inventory ? inventory : "";
    struct ocfl_finding *f;

    if (!msg) {
        count(r, code); /* unrecorded, but counted: an invalid object never looks valid */
        r->oom = 1;
        return;
    }
    /* about an inventory itself: the same problem is the same message, in any inventory;
     * else the same code for the same path (whatever the message) */
    f = inventory && !path ? lookup(r, KEY_SELF, code, msg) : lookup(r, KEY_PATH, code, where);
    if (f) {
        if (inventory)
            add_inventory(r, f, inventory);
        return;
    }
    count(r, code);
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
    f->spec = spec;
    if (spec && ocfl_check_url(code, spec, f->url, sizeof(f->url)) < 0)
        f->url[0] = '\0';
    f->path = strdup(where);
    f->message = strdup(msg);
    if (!f->path || !f->message || (inventory && add_inventory(r, f, inventory) < 0)) {
        finding_release(f);
        r->oom = 1;
        return;
    }
    r->n++;
    grow_index(r);
    if (r->slots)
        index_finding(r, r->n - 1);
}

void ocfl_report_add(struct ocfl_report *r, const char *code, const char *path, const char *fmt,
                     ...)
{
    char *msg = NULL;
    va_list ap;

    if (!is_code(code))
        code = "E000"; /* a caller bug must still read as an error */
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    record(r, code, OCFL_SPEC_UNKNOWN, NULL, path ? path : "", msg);
    free(msg);
}

void ocfl_report_vcheck(struct ocfl_report *r, enum ocfl_check ck, enum ocfl_spec spec,
                        const char *inventory, const char *path, const char *fmt, va_list ap)
{
    const char *code = ocfl_check_code(ck, spec), *also = ocfl_check_also(ck, spec);
    char *msg = NULL;

    if (!code)
        return; /* that version of the spec has no rule for it */
    if (!spec)
        spec = OCFL_SPEC_1_1; /* the codes are the latest list's: so is the address */
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    if (!path && !inventory)
        path = "";
    record(r, code, spec, inventory, path, msg);
    if (also && strcmp(also, code))
        record(r, also, spec, inventory, path, msg);
    free(msg);
}

void ocfl_report_check(struct ocfl_report *r, enum ocfl_check ck, enum ocfl_spec spec,
                       const char *inventory, const char *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ocfl_report_vcheck(r, ck, spec, inventory, path, fmt, ap);
    va_end(ap);
}

int ocfl_report_has(const struct ocfl_report *r, const char *code)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->items[i].code, code))
            return 1;
    return 0;
}
