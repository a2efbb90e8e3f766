/* inventory_serialize.c: an inventory as deterministic JSON bytes. */
#include "inventory_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

/*
 * Written by hand rather than with json_dumps(): the key order is fixed by
 * us (id, type, digestAlgorithm, head, ... not alphabetical, which is all
 * JSON_SORT_KEYS gives), and building a jansson tree first would double the
 * memory of an inventory with 100,000 files.  Strings are escaped here:
 * '"', '\\' and control characters; other UTF-8 passes through unchanged.
 */
struct sbuf {
    char *buf;
    size_t len, alloc;
    int oom;
};

static void put(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->alloc) {
        size_t alloc = b->alloc ? b->alloc : 4096;
        char *nb;
        while (alloc < b->len + n + 1) {
            if (alloc > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            alloc *= 2;
        }
        nb = realloc(b->buf, alloc);
        if (!nb) {
            b->oom = 1;
            return;
        }
        b->buf = nb;
        b->alloc = alloc;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void indent(struct sbuf *b, int level)
{
    static const char spaces[] = "                                ";
    put(b, "\n", 1);
    put(b, spaces, (size_t)level * 2 < sizeof(spaces) - 1 ? (size_t)level * 2 : sizeof(spaces) - 1);
}

static void put_str(struct sbuf *b, const char *s)
{
    const char *run = s;

    put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[8];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        put(b, run, (size_t)(s - run));
        switch (ch) {
        case '"':
            puts_(b, "\\\"");
            break;
        case '\\':
            puts_(b, "\\\\");
            break;
        case '\n':
            puts_(b, "\\n");
            break;
        case '\t':
            puts_(b, "\\t");
            break;
        case '\r':
            puts_(b, "\\r");
            break;
        case '\b':
            puts_(b, "\\b");
            break;
        case '\f':
            puts_(b, "\\f");
            break;
        default:
            snprintf(esc, sizeof(esc), "\\u%04x", ch);
            puts_(b, esc);
        }
        run = s + 1;
    }
    put(b, run, (size_t)(s - run));
    put(b, "\"", 1);
}

static void put_key(struct sbuf *b, int level, const char *key, int first)
{
    if (!first)
        put(b, ",", 1);
    indent(b, level);
    put_str(b, key);
    puts_(b, ": ");
}

static void put_str_array(struct sbuf *b, int level, char **items, size_t n)
{
    char **sorted;

    if (!n) {
        puts_(b, "[]");
        return;
    }
    sorted = malloc(n * sizeof(*sorted));
    if (!sorted) {
        b->oom = 1;
        return;
    }
    memcpy(sorted, items, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), ocfl_cmp_str_ptr);
    put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(b, ",", 1);
        indent(b, level + 1);
        put_str(b, sorted[i]);
    }
    indent(b, level);
    put(b, "]", 1);
    free(sorted);
}

static int cmp_entry_ptr(const void *a, const void *b)
{
    const struct ocfl_manifest_entry *x = *(const struct ocfl_manifest_entry *const *)a;
    const struct ocfl_manifest_entry *y = *(const struct ocfl_manifest_entry *const *)b;
    return strcmp(x->digest, y->digest);
}

/* A manifest or fixity block: digests sorted (strcmp), then their sorted paths. */
static void put_entries(struct sbuf *b, int level, const struct ocfl_manifest_entry *e, size_t n)
{
    const struct ocfl_manifest_entry **order;

    if (!n) {
        puts_(b, "{}");
        return;
    }
    order = malloc(n * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &e[i];
    qsort(order, n, sizeof(*order), cmp_entry_ptr);
    put(b, "{", 1);
    for (size_t i = 0; i < n; i++) {
        put_key(b, level + 1, order[i]->digest, i == 0);
        put_str_array(b, level + 1, order[i]->paths, order[i]->n_paths);
    }
    indent(b, level);
    put(b, "}", 1);
    free(order);
}

static int cmp_state_by_digest(const void *a, const void *b)
{
    const struct ocfl_state_entry *x = *(const struct ocfl_state_entry *const *)a;
    const struct ocfl_state_entry *y = *(const struct ocfl_state_entry *const *)b;
    int c = strcmp(x->digest, y->digest);
    return c ? c : strcmp(x->logical_path, y->logical_path);
}

/* A state: grouped by digest, digests and paths sorted. */
static void put_state(struct sbuf *b, int level, const struct ocfl_version *v)
{
    const struct ocfl_state_entry **order;
    size_t i = 0;

    if (!v->n_state) {
        puts_(b, "{}");
        return;
    }
    order = malloc(v->n_state * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (size_t k = 0; k < v->n_state; k++)
        order[k] = &v->state[k];
    qsort(order, v->n_state, sizeof(*order), cmp_state_by_digest);
    put(b, "{", 1);
    while (i < v->n_state) {
        size_t j = i;
        put_key(b, level + 1, order[i]->digest, i == 0);
        put(b, "[", 1);
        for (; j < v->n_state && !strcmp(order[j]->digest, order[i]->digest); j++) {
            if (j > i)
                put(b, ",", 1);
            indent(b, level + 2);
            put_str(b, order[j]->logical_path);
        }
        indent(b, level + 1);
        put(b, "]", 1);
        i = j;
    }
    indent(b, level);
    put(b, "}", 1);
    free(order);
}

static int put_version(struct sbuf *b, const struct ocfl_inventory *inv,
                       const struct ocfl_version *v, int first)
{
    char name[32];
    int r = ocfl_inventory_version_name(inv, v->num, name, sizeof(name));

    if (r < 0)
        return r;
    put_key(b, 2, name, first);
    put(b, "{", 1);
    put_key(b, 3, "created", 1);
    put_str(b, v->created ? v->created : "");
    if (v->message) {
        put_key(b, 3, "message", 0);
        put_str(b, v->message);
    }
    put_key(b, 3, "state", 0);
    put_state(b, 3, v);
    if (v->user_name) {
        put_key(b, 3, "user", 0);
        put(b, "{", 1);
        put_key(b, 4, "name", 1);
        put_str(b, v->user_name);
        if (v->user_address) {
            put_key(b, 4, "address", 0);
            put_str(b, v->user_address);
        }
        indent(b, 3);
        put(b, "}", 1);
    }
    indent(b, 2);
    put(b, "}", 1);
    return 0;
}

static int cmp_fixity_ptr(const void *a, const void *b)
{
    const struct ocfl_fixity_block *x = *(const struct ocfl_fixity_block *const *)a;
    const struct ocfl_fixity_block *y = *(const struct ocfl_fixity_block *const *)b;
    return strcmp(x->algorithm, y->algorithm);
}

static void put_fixity(struct sbuf *b, const struct ocfl_inventory *inv)
{
    const struct ocfl_fixity_block **order;

    if (!inv->n_fixity) {
        puts_(b, "{}");
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
    put(b, "{", 1);
    for (size_t i = 0; i < inv->n_fixity; i++) {
        put_key(b, 2, order[i]->algorithm, i == 0);
        put_entries(b, 2, order[i]->entries, order[i]->n_entries);
    }
    indent(b, 1);
    put(b, "}", 1);
    free(order);
}

int ocfl_inventory_serialize(const struct ocfl_inventory *inv, char **ret_buf, size_t *ret_len,
                             struct ocfl_err *err)
{
    struct sbuf b = {0};
    const char *type = ocfl_spec_inventory_type(inv->spec);

    if (!inv->id || !type || !inv->digest_algorithm || !inv->head)
        return ocfl_err_set(err, -EINVAL,
                            "cannot serialize inventory: id, type, digestAlgorithm or head unset");
    for (size_t i = 0; i < inv->n_versions; i++)
        if (inv->versions[i].num != i + 1)
            return ocfl_err_set(err, -EINVAL,
                                "cannot serialize inventory '%s': version %zu is "
                                "numbered %u",
                                inv->id, i + 1, inv->versions[i].num);
    put(&b, "{", 1);
    put_key(&b, 1, "id", 1);
    put_str(&b, inv->id);
    put_key(&b, 1, "type", 0);
    put_str(&b, type);
    put_key(&b, 1, "digestAlgorithm", 0);
    put_str(&b, inv->digest_algorithm);
    put_key(&b, 1, "head", 0);
    put_str(&b, inv->head);
    if (inv->content_directory) {
        put_key(&b, 1, "contentDirectory", 0);
        put_str(&b, inv->content_directory);
    }
    put_key(&b, 1, "manifest", 0);
    put_entries(&b, 1, inv->manifest, inv->n_manifest);
    put_key(&b, 1, "versions", 0);
    if (!inv->n_versions)
        puts_(&b, "{}");
    else
        put(&b, "{", 1);
    for (size_t i = 0; i < inv->n_versions; i++) {
        int r = put_version(&b, inv, &inv->versions[i], i == 0);
        if (r < 0) {
            free(b.buf);
            return ocfl_err_set(err, r, "cannot name version %u of inventory '%s'",
                                inv->versions[i].num, inv->id);
        }
    }
    if (inv->n_versions) {
        indent(&b, 1);
        put(&b, "}", 1);
    }
    if (inv->has_fixity_key || inv->n_fixity) {
        put_key(&b, 1, "fixity", 0);
        put_fixity(&b, inv);
    }
    puts_(&b, "\n}\n");
    if (b.oom) {
        free(b.buf);
        return ocfl_err_set(err, -ENOMEM, "cannot serialize inventory '%s': out of memory",
                            inv->id);
    }
    *ret_buf = b.buf;
    *ret_len = b.len;
    return 0;
}
