/* object_json.c: log, show and diff documents of an object (see object_json.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "digest.h"
#include "inventory_priv.h"
#include "io.h"
#include "object_json.h"
#include "utf8.h"

int ocfl_version_changed(const struct ocfl_inventory *inv, size_t i, const char *path)
{
    const struct ocfl_state_entry *now = ocfl_version_lookup(&inv->versions[i], path);
    const struct ocfl_state_entry *before =
        i > 0 ? ocfl_version_lookup(&inv->versions[i - 1], path) : NULL;

    if (!now || !before)
        return now != before;
    return !ocfl_digest_equal(now->digest, before->digest);
}

static json_t *version_json(const struct ocfl_inventory *inv, const struct ocfl_version *v)
{
    char name[32];
    json_t *o = json_object(), *u;

    ocfl_inventory_version_name(inv, v->num, name, sizeof(name));
    json_object_set_new(o, "version", json_string(name));
    json_object_set_new(o, "created", json_string(v->created));
    json_object_set_new(o, "message", ocfl_json_string_lossy(v->message));
    if (v->user_name) {
        u = json_object();
        json_object_set_new(u, "name", ocfl_json_string_lossy(v->user_name));
        if (v->user_address)
            json_object_set_new(u, "address", ocfl_json_string_lossy(v->user_address));
        json_object_set_new(o, "user", u);
    } else {
        json_object_set_new(o, "user", json_null());
    }
    json_object_set_new(o, "files", json_integer((json_int_t)v->n_state));
    return o;
}

json_t *ocfl_log_json(const struct ocfl_object *obj, const char *only)
{
    json_t *doc = json_object(), *arr = json_array();

    if (!doc || !arr) {
        json_decref(doc);
        json_decref(arr);
        return NULL;
    }
    json_object_set_new(doc, "id", json_string(obj->inv->id));
    json_object_set_new(doc, "path", json_string(obj->path));
    json_object_set_new(doc, "head", json_string(obj->inv->head));
    for (size_t i = obj->inv->n_versions; i-- > 0;)
        if (!only || ocfl_version_changed(obj->inv, i, only))
            json_array_append_new(arr, version_json(obj->inv, &obj->inv->versions[i]));
    if (only)
        json_object_set_new(doc, "logical_path", json_string(only));
    json_object_set_new(doc, "versions", arr);
    return doc;
}

json_t *ocfl_show_json(const struct ocfl_object *obj, unsigned num, int paged, size_t offset,
                       size_t limit)
{
    const struct ocfl_version *v = ocfl_inventory_version(obj->inv, num);
    json_t *files = json_array(), *doc;
    char name[32];
    long long total_size = 0;

    if (!v || !files) {
        json_decref(files);
        return NULL;
    }
    for (size_t i = 0; i < v->n_state; i++) {
        const struct ocfl_state_entry *e = &v->state[i];
        int shown = !paged || (i >= offset && i - offset < limit);
        const char *cp = ocfl_inventory_content_path(obj->inv, e->digest);
        struct stat st;
        long long size = cp && ocfl_io_stat(obj->fd, cp, &st) == 0 ? (long long)st.st_size : -1;
        total_size += size > 0 ? size : 0;
        if (shown)
            json_array_append_new(files, json_pack("{s:s, s:I, s:s}", "path", e->logical_path,
                                                   "size", (json_int_t)size, "digest", e->digest));
    }
    ocfl_inventory_version_name(obj->inv, num, name, sizeof(name));
    doc = json_pack("{s:s, s:s, s:s, s:o}", "id", obj->inv->id, "version", name, "digest_algorithm",
                    obj->inv->digest_algorithm, "files", files);
    if (doc && paged) {
        json_object_set_new(doc, "total_files", json_integer((json_int_t)v->n_state));
        json_object_set_new(doc, "total_size", json_integer((json_int_t)total_size));
        json_object_set_new(doc, "offset", json_integer((json_int_t)offset));
        json_object_set_new(doc, "limit", json_integer((json_int_t)limit));
    }
    return doc;
}

/* An added path (in @b, not in @a) by its digest, for finding rename targets. */
struct added_ref {
    const char *digest;
    size_t i; /* index in b->state */
};

static int cmp_added_ref(const void *x, const void *y)
{
    const struct added_ref *p = x, *q = y;
    int c = ocfl_ascii_casecmp(p->digest, q->digest);

    return c ? c : (p->i > q->i) - (p->i < q->i);
}

/* The first added path (in b's order) whose digest is @digest, as an index into @refs, or -1. */
static ssize_t first_added(const struct added_ref *refs, size_t n, const char *digest)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ocfl_ascii_casecmp(refs[mid].digest, digest) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && !ocfl_ascii_casecmp(refs[lo].digest, digest) ? (ssize_t)lo : -1;
}

/*
 * O(n log n): membership by binary search in the sorted states, rename
 * targets by binary search in the added paths sorted by digest.  A removed
 * path is renamed to the first added path (in path order) with its content;
 * an added path some removed one was renamed to is not listed as added.
 */
json_t *ocfl_diff_json(const struct ocfl_inventory *inv, const struct ocfl_version *a,
                       const struct ocfl_version *b)
{
    json_t *added = json_array(), *modified = json_array(), *removed = json_array(),
           *renamed = json_array();
    struct added_ref *refs = calloc(b->n_state ? b->n_state : 1, sizeof(*refs));
    unsigned char *target = calloc(b->n_state ? b->n_state : 1, 1);
    size_t n_refs = 0;

    if (!added || !modified || !removed || !renamed || !refs || !target) {
        json_decref(added), json_decref(modified), json_decref(removed), json_decref(renamed);
        free(refs), free(target);
        return NULL;
    }
    for (size_t j = 0; j < b->n_state; j++)
        if (!a || !ocfl_version_lookup(a, b->state[j].logical_path))
            refs[n_refs++] = (struct added_ref){b->state[j].digest, j};
    qsort(refs, n_refs, sizeof(*refs), cmp_added_ref);
    for (size_t i = 0; a && i < a->n_state; i++) {
        const struct ocfl_state_entry *e = &a->state[i],
                                      *f = ocfl_version_lookup(b, e->logical_path);
        ssize_t t;
        if (f && !ocfl_digest_equal(e->digest, f->digest)) {
            json_array_append_new(modified, json_string(e->logical_path));
        } else if (!f && (t = first_added(refs, n_refs, e->digest)) >= 0) {
            target[refs[t].i] = 1;
            json_array_append_new(renamed, json_pack("{s:s, s:s}", "from", e->logical_path, "to",
                                                     b->state[refs[t].i].logical_path));
        } else if (!f) {
            json_array_append_new(removed, json_string(e->logical_path));
        }
    }
    for (size_t j = 0; j < b->n_state; j++)
        if ((!a || !ocfl_version_lookup(a, b->state[j].logical_path)) && !target[j])
            json_array_append_new(added, json_string(b->state[j].logical_path));
    free(refs), free(target);
    return json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "id", inv->id, "from",
                     (json_int_t)(a ? a->num : 0), "to", (json_int_t)b->num, "added", added,
                     "modified", modified, "removed", removed, "renamed", renamed);
}
