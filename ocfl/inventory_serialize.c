/* inventory_serialize.c: an inventory as deterministic JSON bytes (optionally digested meanwhile).
 */
#include "inventory_priv.h"
#include "jsonbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Written by hand rather than with json_dumps(): the key order is fixed by
 * us (id, type, digestAlgorithm, head, ... not alphabetical, which is all
 * JSON_SORT_KEYS gives), and building a jansson tree first would double the
 * memory of an inventory with 100,000 files.  Strings are escaped here:
 * '"', '\\' and control characters; other UTF-8 passes through unchanged.
 *
 * Speed matters: a commit to an object of 100,000 files writes ~50 MB of
 * JSON.  ocfl_inventory_serialize_digest() digests it on a second thread as
 * it is written (jsonbuf.c), and nothing is sorted that is already in order
 * (a parsed inventory is).
 */

static void put_key(struct ocfl_jbuf *b, int level, const char *key, int first)
{
    ocfl_jbuf_item(b, !first, level, key, ": ", 2);
}

/* Whether @items is in strcmp order already (a parsed or reindexed inventory is). */
static int strs_sorted(char *const *items, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(items[i - 1], items[i]) > 0)
            return 0;
    return 1;
}

static void put_str_array(struct ocfl_jbuf *b, int level, char **items, size_t n)
{
    char **sorted = items;

    if (!n) {
        ocfl_jbuf_puts(b, "[]");
        return;
    }
    if (!strs_sorted(items, n)) {
        sorted = malloc(n * sizeof(*sorted));
        if (!sorted) {
            b->oom = 1;
            return;
        }
        memcpy(sorted, items, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), ocfl_cmp_str_ptr);
    }
    ocfl_jbuf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++)
        ocfl_jbuf_item(b, i > 0, level + 1, sorted[i], "", 0);
    ocfl_jbuf_indent(b, level);
    ocfl_jbuf_put(b, "]", 1);
    if (sorted != items)
        free(sorted);
}

static int cmp_entry_ptr(const void *a, const void *b)
{
    const struct ocfl_manifest_entry *x = *(const struct ocfl_manifest_entry *const *)a;
    const struct ocfl_manifest_entry *y = *(const struct ocfl_manifest_entry *const *)b;
    return strcmp(x->digest, y->digest);
}

/* A manifest or fixity block: digests sorted (strcmp), then their sorted paths. */
static void put_entries(struct ocfl_jbuf *b, int level, const struct ocfl_manifest_entry *e,
                        size_t n)
{
    const struct ocfl_manifest_entry **order = NULL;
    size_t i;

    if (!n) {
        ocfl_jbuf_puts(b, "{}");
        return;
    }
    for (i = 1; i < n && strcmp(e[i - 1].digest, e[i].digest) <= 0; i++)
        ;
    if (i < n) { /* not in order (lower-case digests of a sorted manifest are) */
        order = malloc(n * sizeof(*order));
        if (!order) {
            b->oom = 1;
            return;
        }
        for (i = 0; i < n; i++)
            order[i] = &e[i];
        qsort(order, n, sizeof(*order), cmp_entry_ptr);
    }
    ocfl_jbuf_put(b, "{", 1);
    for (i = 0; i < n; i++) {
        const struct ocfl_manifest_entry *x = order ? order[i] : &e[i];
        put_key(b, level + 1, x->digest, i == 0);
        put_str_array(b, level + 1, x->paths, x->n_paths);
        ocfl_jbuf_publish(b);
    }
    ocfl_jbuf_indent(b, level);
    ocfl_jbuf_put(b, "}", 1);
    free(order);
}

/*
 * A state's strings are visited in digest order, which is not the order
 * they were allocated in: without prefetching, each is a cache (and TLB)
 * miss, a quarter of the serializer's time for 100,000 paths.
 */
#define PREFETCH_AHEAD 16

/* A state entry with the first 8 bytes of its digest as a number ordering like strcmp. */
struct state_key {
    uint64_t prefix;
    const char *digest, *path; /* copied here: no hop through the state array */
};

static uint64_t prefix_of(const char *s)
{
    uint64_t k = 0;
    size_t i = 0;

    for (; i < 8 && s[i]; i++)
        k = k << 8 | (unsigned char)s[i];
    return k << (8 * (8 - i)); /* a shorter string is smaller, as with strcmp */
}

static int cmp_state_key(const void *a, const void *b)
{
    const struct state_key *x = a, *y = b;
    int c;

    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    c = strcmp(x->digest, y->digest);
    return c ? c : strcmp(x->path, y->path);
}

/*
 * Sort @k by (digest, path): a stable LSD radix sort on the 8-byte prefixes
 * (no comparisons, a few passes over 16-byte items: 4x faster than qsort
 * for a state of 100,000 paths), then a comparison sort of each run of equal
 * prefixes (files sharing content, rarely different digests).  0 or -ENOMEM.
 */
static int sort_state_keys(struct state_key *k, size_t n)
{
    struct state_key *tmp = malloc(n * sizeof(*tmp)), *from = k, *to = tmp;

    if (!tmp)
        return -ENOMEM;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0}, pos = 0;
        for (size_t i = 0; i < n; i++)
            count[(from[i].prefix >> shift) & 0xff]++;
        if (count[(from[0].prefix >> shift) & 0xff] == n)
            continue; /* every key has the same byte here */
        for (unsigned c = 0; c < 256; c++) {
            size_t m = count[c];
            count[c] = pos;
            pos += m;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].prefix >> shift) & 0xff]++] = from[i];
        struct state_key *t = from;
        from = to;
        to = t;
    }
    if (from != k)
        memcpy(k, from, n * sizeof(*k));
    free(tmp);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && k[j].prefix == k[i].prefix; j++)
            ;
        if (j - i > 1)
            qsort(k + i, j - i, sizeof(*k), cmp_state_key);
    }
    return 0;
}

/* A state: grouped by digest, digests and paths sorted. */
static void put_state(struct ocfl_jbuf *b, int level, const struct ocfl_version *v)
{
    struct state_key *order;
    size_t i = 0, ahead = 0;

    if (!v->n_state) {
        ocfl_jbuf_puts(b, "{}");
        return;
    }
    order = malloc(v->n_state * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (size_t k = 0; k < v->n_state; k++) {
        if (k + PREFETCH_AHEAD < v->n_state)
            __builtin_prefetch(v->state[k + PREFETCH_AHEAD].digest);
        order[k] = (struct state_key){prefix_of(v->state[k].digest), v->state[k].digest,
                                      v->state[k].logical_path};
    }
    if (sort_state_keys(order, v->n_state) < 0) {
        free(order);
        b->oom = 1;
        return;
    }
    ocfl_jbuf_put(b, "{", 1);
    while (i < v->n_state) {
        const char *digest = order[i].digest;
        size_t j = i;

        for (; ahead < v->n_state && ahead < i + PREFETCH_AHEAD; ahead++) {
            __builtin_prefetch(order[ahead].digest);
            __builtin_prefetch(order[ahead].path);
        }
        ocfl_jbuf_item(b, i > 0, level + 1, digest, ": [", 3);
        for (; j < v->n_state && order[j].prefix == order[i].prefix &&
               !strcmp(order[j].digest, digest);
             j++)
            ocfl_jbuf_item(b, j > i, level + 2, order[j].path, "", 0);
        ocfl_jbuf_indent(b, level + 1);
        ocfl_jbuf_put(b, "]", 1);
        ocfl_jbuf_publish(b);
        i = j;
    }
    ocfl_jbuf_indent(b, level);
    ocfl_jbuf_put(b, "}", 1);
    free(order);
}

static int put_version(struct ocfl_jbuf *b, const struct ocfl_inventory *inv,
                       const struct ocfl_version *v, int first)
{
    char name[32];
    int r = ocfl_inventory_version_name(inv, v->num, name, sizeof(name));

    if (r < 0)
        return r;
    put_key(b, 2, name, first);
    ocfl_jbuf_put(b, "{", 1);
    put_key(b, 3, "created", 1);
    ocfl_jbuf_str(b, v->created ? v->created : "");
    if (v->message) {
        put_key(b, 3, "message", 0);
        ocfl_jbuf_str(b, v->message);
    }
    put_key(b, 3, "state", 0);
    put_state(b, 3, v);
    if (v->user_name) {
        put_key(b, 3, "user", 0);
        ocfl_jbuf_put(b, "{", 1);
        put_key(b, 4, "name", 1);
        ocfl_jbuf_str(b, v->user_name);
        if (v->user_address) {
            put_key(b, 4, "address", 0);
            ocfl_jbuf_str(b, v->user_address);
        }
        ocfl_jbuf_indent(b, 3);
        ocfl_jbuf_put(b, "}", 1);
    }
    ocfl_jbuf_indent(b, 2);
    ocfl_jbuf_put(b, "}", 1);
    return 0;
}

static int cmp_fixity_ptr(const void *a, const void *b)
{
    const struct ocfl_fixity_block *x = *(const struct ocfl_fixity_block *const *)a;
    const struct ocfl_fixity_block *y = *(const struct ocfl_fixity_block *const *)b;
    return strcmp(x->algorithm, y->algorithm);
}

static void put_fixity(struct ocfl_jbuf *b, const struct ocfl_inventory *inv)
{
    const struct ocfl_fixity_block **order;

    if (!inv->n_fixity) {
        ocfl_jbuf_puts(b, "{}");
        return;
    }
    order = malloc(inv->n_fixity * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < inv->n_fixity; i++)
        order[i] = &inv->fixity[i];
    qsort(order, inv->n_fixity, sizeof(*order), cmp_fixity_ptr);
    ocfl_jbuf_put(b, "{", 1);
    for (size_t i = 0; i < inv->n_fixity; i++) {
        put_key(b, 2, order[i]->algorithm, i == 0);
        put_entries(b, 2, order[i]->entries, order[i]->n_entries);
    }
    ocfl_jbuf_indent(b, 1);
    ocfl_jbuf_put(b, "}", 1);
    free(order);
}

/* The whole document into @b; 0 or a negative errno (with @err set). */
static int put_inventory(struct ocfl_jbuf *b, const struct ocfl_inventory *inv,
                         struct ocfl_err *err)
{
    const char *type = ocfl_spec_inventory_type(inv->spec);

    ocfl_jbuf_put(b, "{", 1);
    put_key(b, 1, "id", 1);
    ocfl_jbuf_str(b, inv->id);
    put_key(b, 1, "type", 0);
    ocfl_jbuf_str(b, type);
    put_key(b, 1, "digestAlgorithm", 0);
    ocfl_jbuf_str(b, inv->digest_algorithm);
    put_key(b, 1, "head", 0);
    ocfl_jbuf_str(b, inv->head);
    if (inv->content_directory) {
        put_key(b, 1, "contentDirectory", 0);
        ocfl_jbuf_str(b, inv->content_directory);
    }
    put_key(b, 1, "manifest", 0);
    put_entries(b, 1, inv->manifest, inv->n_manifest);
    put_key(b, 1, "versions", 0);
    if (!inv->n_versions)
        ocfl_jbuf_puts(b, "{}");
    else
        ocfl_jbuf_put(b, "{", 1);
    for (size_t i = 0; i < inv->n_versions; i++) {
        int r = put_version(b, inv, &inv->versions[i], i == 0);
        if (r < 0)
            return ocfl_err_set(err, r, "cannot name version %u of inventory '%s'",
                                inv->versions[i].num, inv->id);
    }
    if (inv->n_versions) {
        ocfl_jbuf_indent(b, 1);
        ocfl_jbuf_put(b, "}", 1);
    }
    if (inv->has_fixity_key || inv->n_fixity) {
        put_key(b, 1, "fixity", 0);
        put_fixity(b, inv);
    }
    ocfl_jbuf_puts(b, "\n}\n");
    if (b->oom)
        return ocfl_err_set(err, -ENOMEM, "cannot serialize inventory '%s': out of memory",
                            inv->id);
    b->buf[b->len] = '\0'; /* room() always leaves a byte for it */
    return 0;
}

static int check_serializable(const struct ocfl_inventory *inv, struct ocfl_err *err)
{
    if (!inv->id || !ocfl_spec_inventory_type(inv->spec) || !inv->digest_algorithm || !inv->head)
        return ocfl_err_set(err, -EINVAL,
                            "cannot serialize inventory: id, type, digestAlgorithm or head unset");
    for (size_t i = 0; i < inv->n_versions; i++)
        if (inv->versions[i].num != i + 1)
            return ocfl_err_set(err, -EINVAL,
                                "cannot serialize inventory '%s': version %zu is "
                                "numbered %u",
                                inv->id, i + 1, inv->versions[i].num);
    return 0;
}

int ocfl_inventory_serialize(const struct ocfl_inventory *inv, char **ret_buf, size_t *ret_len,
                             struct ocfl_err *err)
{
    struct ocfl_jbuf b = {0};
    int r = check_serializable(inv, err);

    if (r < 0)
        return r;
    r = put_inventory(&b, inv, err);
    if (r < 0) {
        free(b.buf);
        return r;
    }
    *ret_buf = b.buf;
    *ret_len = b.len;
    return 0;
}

int ocfl_inventory_serialize_digest(const struct ocfl_inventory *inv, enum ocfl_digest_alg alg,
                                    char **ret_buf, size_t *ret_len, char *ret_hex,
                                    struct ocfl_err *err)
{
    struct ocfl_jbuf b = {0};
    struct ocfl_hasher *h = NULL;
    char hex[OCFL_DIGEST_HEX_MAX];
    int threaded, r = check_serializable(inv, err);

    if (r < 0)
        return r;
    r = ocfl_hasher_new(1u << alg, &h, err);
    if (r < 0)
        return r;
    threaded = ocfl_jbuf_digest_start(&b, h) == 0;
    r = put_inventory(&b, inv, err);
    ocfl_jbuf_digest_finish(&b);
    if (r >= 0 && !threaded) /* no thread to be had: digest afterwards */
        ocfl_hasher_update(h, b.buf, b.len);
    if (r >= 0) {
        r = ocfl_hasher_final(h, alg, hex);
        if (r < 0)
            ocfl_err_set(err, r, "cannot digest inventory '%s'", inv->id);
    }
    ocfl_hasher_free(h);
    if (r < 0) {
        free(b.buf);
        return r;
    }
    memcpy(ret_hex, hex, sizeof(hex));
    *ret_buf = b.buf;
    *ret_len = b.len;
    return 0;
}
