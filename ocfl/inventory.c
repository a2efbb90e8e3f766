/* inventory.c: inventories in memory: spec names, lookups, index, copy and free. */
#include "inventory_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Content path -> digest, sorted by path. */
struct path_table {
    struct ocfl_path_ref *refs;
    size_t n;
};

struct ocfl_inventory_index {
    struct ocfl_strset
        digests; /* manifest digests as written -> entry (the exact-case fast path) */
    struct path_table manifest;
    struct path_table *fixity; /* parallel to inv->fixity */
    size_t n_fixity;
};

static const struct {
    enum ocfl_spec spec;
    const char *number;
    const char *type;
} specs[] = {
    {OCFL_SPEC_1_0, "1.0", "https://ocfl.io/1.0/spec/#inventory"},
    {OCFL_SPEC_1_1, "1.1", "https://ocfl.io/1.1/spec/#inventory"},
};

const char *ocfl_spec_inventory_type(enum ocfl_spec spec)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (specs[i].spec == spec)
            return specs[i].type;
    return NULL;
}

enum ocfl_spec ocfl_spec_from_inventory_type(const char *type)
{
    for (size_t i = 0; type && i < sizeof(specs) / sizeof(specs[0]); i++)
        if (!strcmp(specs[i].type, type))
            return specs[i].spec;
    return OCFL_SPEC_UNKNOWN;
}

const char *ocfl_spec_number(enum ocfl_spec spec)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (specs[i].spec == spec)
            return specs[i].number;
    return NULL;
}

int ocfl_ascii_casecmp(const char *a, const char *b)
{
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;

    for (;; x++, y++) {
        int p = *x, q = *y;
        if (p == q) {
            if (!p)
                return 0;
            continue;
        }
        if (p >= 'A' && p <= 'Z')
            p += 'a' - 'A';
        if (q >= 'A' && q <= 'Z')
            q += 'a' - 'A';
        if (p != q)
            return p - q;
    }
}

int ocfl_cmp_manifest_entry(const void *a, const void *b)
{
    const struct ocfl_manifest_entry *x = a, *y = b;
    int c = ocfl_ascii_casecmp(x->digest, y->digest);
    return c ? c : strcmp(x->digest, y->digest);
}

int ocfl_cmp_state_entry(const void *a, const void *b)
{
    const struct ocfl_state_entry *x = a, *y = b;
    return strcmp(x->logical_path, y->logical_path);
}

int ocfl_cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void ocfl_sort_if_needed(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    const char *p = base;

    for (size_t i = 1; i < n; i++)
        if (cmp(p + (i - 1) * size, p + i * size) > 0) {
            qsort(base, n, size, cmp);
            return;
        }
}

int ocfl_sorted_paths_conflict(const char *const *paths, size_t n, size_t *ret_a, size_t *ret_b)
{
    size_t *stack, depth = 0;

    if (n < 2)
        return 0;
    stack = malloc(n * sizeof(*stack));
    if (!stack)
        return -ENOMEM;
    /*
     * The paths having one path as a prefix are contiguous in strcmp order,
     * right after it; the stack holds the earlier paths that are prefixes of
     * the current one (each a prefix of the next).  Only the innermost can
     * be followed by '/' in the current path without having conflicted with
     * the others already.
     */
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        while (depth) {
            const char *t = paths[stack[depth - 1]];
            size_t lt = strlen(t);
            if (!strncmp(t, p, lt)) {
                if (p[lt] == '/' || !p[lt]) {
                    *ret_a = stack[depth - 1];
                    *ret_b = i;
                    free(stack);
                    return 1;
                }
                break;
            }
            depth--;
        }
        stack[depth++] = i;
    }
    free(stack);
    return 0;
}

static int cmp_fixity_block(const void *a, const void *b)
{
    const struct ocfl_fixity_block *x = a, *y = b;
    return strcmp(x->algorithm, y->algorithm);
}

int ocfl_cmp_path_ref(const void *a, const void *b)
{
    const struct ocfl_path_ref *x = a, *y = b;
    return strcmp(x->path, y->path);
}

void ocfl_manifest_entries_free(struct ocfl_manifest_entry *e, size_t n)
{
    if (!e)
        return;
    for (size_t i = 0; i < n; i++) {
        free(e[i].digest);
        for (size_t k = 0; k < e[i].n_paths; k++)
            free(e[i].paths[k]);
        free(e[i].paths);
    }
    free(e);
}

void ocfl_version_release(struct ocfl_version *v)
{
    free(v->created);
    free(v->message);
    free(v->user_name);
    free(v->user_address);
    for (size_t i = 0; i < v->n_state; i++) {
        free(v->state[i].logical_path);
        free(v->state[i].digest);
    }
    free(v->state);
}

static void index_free(struct ocfl_inventory_index *ix)
{
    if (!ix)
        return;
    ocfl_strset_release(&ix->digests);
    free(ix->manifest.refs);
    for (size_t i = 0; i < ix->n_fixity; i++)
        free(ix->fixity[i].refs);
    free(ix->fixity);
    free(ix);
}

void ocfl_inventory_free(struct ocfl_inventory *inv)
{
    if (!inv)
        return;
    free(inv->id);
    free(inv->digest_algorithm);
    free(inv->head);
    free(inv->content_directory);
    ocfl_manifest_entries_free(inv->manifest, inv->n_manifest);
    for (size_t i = 0; i < inv->n_versions; i++)
        ocfl_version_release(&inv->versions[i]);
    free(inv->versions);
    for (size_t i = 0; i < inv->n_fixity; i++) {
        free(inv->fixity[i].algorithm);
        ocfl_manifest_entries_free(inv->fixity[i].entries, inv->fixity[i].n_entries);
    }
    free(inv->fixity);
    index_free(inv->index);
    free(inv);
}

static int table_build(struct path_table *t, const struct ocfl_manifest_entry *e, size_t n)
{
    size_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += e[i].n_paths;
    t->n = 0;
    t->refs = total ? malloc(total * sizeof(*t->refs)) : NULL;
    if (total && !t->refs)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e[i].n_paths; k++)
            t->refs[t->n++] = (struct ocfl_path_ref){e[i].paths[k], e[i].digest};
    ocfl_sort_if_needed(t->refs, t->n, sizeof(*t->refs), ocfl_cmp_path_ref);
    return 0;
}

static void sort_entries(struct ocfl_manifest_entry *e, size_t n)
{
    ocfl_sort_if_needed(e, n, sizeof(*e), ocfl_cmp_manifest_entry);
    for (size_t i = 0; i < n; i++)
        ocfl_sort_if_needed(e[i].paths, e[i].n_paths, sizeof(char *), ocfl_cmp_str_ptr);
}

int ocfl_inventory_reindex(struct ocfl_inventory *inv)
{
    return ocfl_inventory_reindex_with(inv, NULL, 0);
}

int ocfl_inventory_reindex_with(struct ocfl_inventory *inv, struct ocfl_path_ref *refs, size_t n)
{
    struct ocfl_inventory_index *ix;

    index_free(inv->index);
    inv->index = NULL;
    sort_entries(inv->manifest, inv->n_manifest);
    for (size_t i = 0; i < inv->n_versions; i++)
        ocfl_sort_if_needed(inv->versions[i].state, inv->versions[i].n_state,
                            sizeof(struct ocfl_state_entry), ocfl_cmp_state_entry);
    ocfl_sort_if_needed(inv->fixity, inv->n_fixity, sizeof(*inv->fixity), cmp_fixity_block);
    for (size_t i = 0; i < inv->n_fixity; i++)
        sort_entries(inv->fixity[i].entries, inv->fixity[i].n_entries);

    ix = calloc(1, sizeof(*ix));
    if (!ix) {
        free(refs);
        return -ENOMEM;
    }
    ix->manifest.refs = refs;
    ix->manifest.n = n;
    if (inv->n_fixity) {
        ix->fixity = calloc(inv->n_fixity, sizeof(*ix->fixity));
        if (!ix->fixity)
            goto oom;
        ix->n_fixity = inv->n_fixity;
    }
    if ((!refs && table_build(&ix->manifest, inv->manifest, inv->n_manifest) < 0) ||
        ocfl_strset_reserve(&ix->digests, inv->n_manifest) < 0)
        goto oom;
    for (size_t i = 0; i < inv->n_manifest; i++)
        if (ocfl_strset_add(&ix->digests, inv->manifest[i].digest, (unsigned)i) < 0)
            goto oom;
    for (size_t i = 0; i < inv->n_fixity; i++)
        if (table_build(&ix->fixity[i], inv->fixity[i].entries, inv->fixity[i].n_entries) < 0)
            goto oom;
    inv->index = ix;
    return 0;
oom:
    index_free(ix);
    return -ENOMEM;
}

static char *dup_or_null(const char *s, int *fail)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

static struct ocfl_manifest_entry *entries_dup(const struct ocfl_manifest_entry *e, size_t n,
                                               int *fail)
{
    struct ocfl_manifest_entry *d;

    if (!n)
        return NULL;
    d = calloc(n, sizeof(*d));
    if (!d) {
        *fail = 1;
        return NULL;
    }
    for (size_t i = 0; i < n && !*fail; i++) {
        d[i].digest = dup_or_null(e[i].digest, fail);
        if (!e[i].n_paths)
            continue;
        d[i].paths = calloc(e[i].n_paths, sizeof(char *));
        if (!d[i].paths) {
            *fail = 1;
            break;
        }
        d[i].n_paths = e[i].n_paths;
        for (size_t k = 0; k < e[i].n_paths; k++)
            d[i].paths[k] = dup_or_null(e[i].paths[k], fail);
    }
    return d;
}

struct ocfl_inventory *ocfl_inventory_dup(const struct ocfl_inventory *inv)
{
    struct ocfl_inventory *d;
    int fail = 0;

    if (!inv)
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->spec = inv->spec;
    d->padding = inv->padding;
    d->has_fixity_key = inv->has_fixity_key;
    d->id = dup_or_null(inv->id, &fail);
    d->digest_algorithm = dup_or_null(inv->digest_algorithm, &fail);
    d->head = dup_or_null(inv->head, &fail);
    d->content_directory = dup_or_null(inv->content_directory, &fail);
    d->manifest = entries_dup(inv->manifest, inv->n_manifest, &fail);
    d->n_manifest = d->manifest ? inv->n_manifest : 0;
    if (inv->n_versions && !fail) {
        d->versions = calloc(inv->n_versions, sizeof(*d->versions));
        if (!d->versions)
            fail = 1;
        else
            d->n_versions = inv->n_versions;
    }
    for (size_t i = 0; i < d->n_versions && !fail; i++) {
        const struct ocfl_version *v = &inv->versions[i];
        struct ocfl_version *w = &d->versions[i];
        w->num = v->num;
        w->created = dup_or_null(v->created, &fail);
        w->message = dup_or_null(v->message, &fail);
        w->user_name = dup_or_null(v->user_name, &fail);
        w->user_address = dup_or_null(v->user_address, &fail);
        if (!v->n_state)
            continue;
        w->state = calloc(v->n_state, sizeof(*w->state));
        if (!w->state) {
            fail = 1;
            break;
        }
        w->n_state = v->n_state;
        for (size_t k = 0; k < v->n_state; k++) {
            w->state[k].logical_path = dup_or_null(v->state[k].logical_path, &fail);
            w->state[k].digest = dup_or_null(v->state[k].digest, &fail);
        }
    }
    if (inv->n_fixity && !fail) {
        d->fixity = calloc(inv->n_fixity, sizeof(*d->fixity));
        if (!d->fixity)
            fail = 1;
        else
            d->n_fixity = inv->n_fixity;
    }
    for (size_t i = 0; i < d->n_fixity && !fail; i++) {
        d->fixity[i].algorithm = dup_or_null(inv->fixity[i].algorithm, &fail);
        d->fixity[i].entries = entries_dup(inv->fixity[i].entries, inv->fixity[i].n_entries, &fail);
        d->fixity[i].n_entries = d->fixity[i].entries ? inv->fixity[i].n_entries : 0;
    }
    if (!fail && inv->index && ocfl_inventory_reindex(d) < 0)
        fail = 1;
    if (fail) {
        ocfl_inventory_free(d);
        return NULL;
    }
    return d;
}

const struct ocfl_version *ocfl_inventory_head(const struct ocfl_inventory *inv)
{
    if (!inv || !inv->n_versions)
        return NULL;
    return &inv->versions[inv->n_versions - 1];
}

const struct ocfl_version *ocfl_inventory_version(const struct ocfl_inventory *inv, unsigned num)
{
    if (!inv || num == 0 || num > inv->n_versions)
        return NULL;
    return &inv->versions[num - 1];
}

int ocfl_inventory_version_name(const struct ocfl_inventory *inv, unsigned num, char *buf,
                                size_t size)
{
    unsigned width = inv ? inv->padding : 0;
    int n;

    if (num == 0)
        return -EINVAL;
    n = width ? snprintf(buf, size, "v%0*u", (int)width, num) : snprintf(buf, size, "v%u", num);
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    if (width && (unsigned)n > width + 1)
        return -ERANGE; /* the number no longer fits the zero-padded width */
    return 0;
}

const struct ocfl_state_entry *ocfl_version_lookup(const struct ocfl_version *v,
                                                   const char *logical_path)
{
    struct ocfl_state_entry key = {.logical_path = (char *)logical_path};

    if (!v || !v->n_state || !logical_path)
        return NULL;
    return bsearch(&key, v->state, v->n_state, sizeof(key), ocfl_cmp_state_entry);
}

/* Entries sort by lower-cased digest; find the first equal ignoring case. */
static const struct ocfl_manifest_entry *entries_lookup(const struct ocfl_manifest_entry *e,
                                                        size_t n, const char *digest, int sorted)
{
    size_t lo = 0, hi = n;

    if (!digest)
        return NULL;
    if (!sorted) {
        for (size_t i = 0; i < n; i++)
            if (!ocfl_ascii_casecmp(e[i].digest, digest))
                return &e[i];
        return NULL;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ocfl_ascii_casecmp(e[mid].digest, digest) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && !ocfl_ascii_casecmp(e[lo].digest, digest))
        return &e[lo];
    return NULL;
}

const struct ocfl_manifest_entry *ocfl_inventory_manifest_lookup(const struct ocfl_inventory *inv,
                                                                 const char *digest)
{
    unsigned i;

    if (!inv)
        return NULL;
    /* states name manifest digests exactly (E050), so the hash almost always answers */
    if (digest && inv->index && ocfl_strset_has(&inv->index->digests, digest, &i))
        return &inv->manifest[i];
    return entries_lookup(inv->manifest, inv->n_manifest, digest, inv->index != NULL);
}

const char *ocfl_inventory_content_path(const struct ocfl_inventory *inv, const char *digest)
{
    const struct ocfl_manifest_entry *e = ocfl_inventory_manifest_lookup(inv, digest);
    return e && e->n_paths ? e->paths[0] : NULL;
}

const char *ocfl_inventory_sorted_content_path(const struct ocfl_inventory *inv, size_t i)
{
    if (!inv || !inv->index || i >= inv->index->manifest.n)
        return NULL;
    return inv->index->manifest.refs[i].path;
}

const char *ocfl_inventory_content_dir(const struct ocfl_inventory *inv)
{
    return inv && inv->content_directory ? inv->content_directory : "content";
}

static const char *table_lookup(const struct path_table *t, const char *path)
{
    struct ocfl_path_ref key = {path, NULL};
    const struct ocfl_path_ref *r = bsearch(&key, t->refs, t->n, sizeof(key), ocfl_cmp_path_ref);
    return r ? r->digest : NULL;
}

static const char *scan_paths(const struct ocfl_manifest_entry *e, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < e[i].n_paths; k++)
            if (!strcmp(e[i].paths[k], path))
                return e[i].digest;
    return NULL;
}

const char *ocfl_inventory_content_digest(const struct ocfl_inventory *inv,
                                          const char *content_path)
{
    if (!inv || !content_path)
        return NULL;
    if (inv->index)
        return inv->index->manifest.n ? table_lookup(&inv->index->manifest, content_path) : NULL;
    return scan_paths(inv->manifest, inv->n_manifest, content_path);
}

const char *ocfl_inventory_fixity_lookup(const struct ocfl_inventory *inv, const char *alg,
                                         const char *content_path)
{
    if (!inv || !alg || !content_path)
        return NULL;
    for (size_t i = 0; i < inv->n_fixity; i++) {
        if (strcmp(inv->fixity[i].algorithm, alg))
            continue;
        if (inv->index && i < inv->index->n_fixity)
            return inv->index->fixity[i].n ? table_lookup(&inv->index->fixity[i], content_path)
                                           : NULL;
        return scan_paths(inv->fixity[i].entries, inv->fixity[i].n_entries, content_path);
    }
    return NULL;
}
