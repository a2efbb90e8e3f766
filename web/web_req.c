/* web_req.c: a request's arguments, the object and version it names, the journal it reads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "journal.h"
#include "object.h"
#include "root.h"
#include "utf8.h"
#include "web_int.h"
#include "web_url.h"

int web_arg(const struct web_req *q, const char *key, char **ret, struct ocfl_err *err)
{
    const char *raw = NULL;
    size_t len = 0;
    int r;

    if (MHD_lookup_connection_value_n(q->c, MHD_GET_ARGUMENT_KIND, key, strlen(key), &raw, &len) !=
            MHD_YES ||
        !raw)
        return -ENOENT;
    if ((r = web_url_decode(raw, len, 1, ret)) == -EINVAL)
        return ocfl_err_set(err, r,
                            "argument '%s': a bad escape, a NUL or control character, or not "
                            "UTF-8",
                            key);
    if (r == -E2BIG)
        return ocfl_err_set(err, r, "argument '%s': longer than %d bytes", key, WEB_VALUE_MAX);
    if (r < 0)
        return ocfl_err_set(err, r, "out of memory");
    return 0;
}

int web_arg_uint(const struct web_req *q, const char *key, uint64_t dflt, uint64_t max,
                 uint64_t *ret, struct ocfl_err *err)
{
    char *s = NULL, *end;
    unsigned long long v;
    int r = web_arg(q, key, &s, err);

    if (r == -ENOENT || (r == 0 && !*s)) {
        free(s);
        *ret = dflt;
        return 0;
    }
    if (r < 0)
        return r;
    errno = 0;
    v = strtoull(s, &end, 10);
    r = *end || errno || s[0] == '-' || v > max ? -EINVAL : 0;
    if (r < 0)
        ocfl_err_set(err, r, "argument '%s': '%.*s' is not a number from 0 to %llu", key,
                     (int)ocfl_utf8_prefix(s, 40), s, (unsigned long long)max);
    else
        *ret = v;
    free(s);
    return r;
}

int web_journal(struct web *w, struct journal **ret, int *ret_gone, struct ocfl_err *err)
{
    struct journal_options o = {.flags = JOURNAL_READONLY};
    int r = journal_open(w->state_dir, &o, ret, err);

    if (ret_gone)
        *ret_gone = journal_lock_held(w->state_dir) == 0;
    return r;
}

/*
 * Where @id lives, without reading other objects' inventories: with a layout its path (an
 * id it cannot map, as "extensions" or "a/b" in 0002, is no object: the library would walk
 * the root for it, every inventory on every request); without one, the listing's path.
 */
static int find(struct web *w, const char *id, char **ret, struct ocfl_err *err)
{
    char *mapped = NULL;
    int r;

    if (!w->root->layout) {
        r = web_catalog_path(w, id, ret);
        return r == -ENOMEM ? ocfl_err_set(err, r, "out of memory") : r;
    }
    if ((r = ocfl_layout_map(w->root->layout, id, &mapped, NULL)) < 0)
        return r == -ENOMEM ? ocfl_err_set(err, r, "out of memory") : -ENOENT;
    free(mapped);
    return ocfl_root_find_object(w->root, id, ret, err);
}

int web_open_object(struct web *w, const struct web_req *q, struct ocfl_object **ret, char **ret_id,
                    struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    char *id = NULL, *path = NULL;
    int r = web_arg(q, "id", &id, err);

    if (r == -ENOENT)
        return ocfl_err_set(err, -EINVAL, "which object? (argument 'id')");
    if (r < 0)
        return r;
    if (!*id) {
        r = ocfl_err_set(err, -EINVAL, "an empty object id");
        goto out;
    }
    if ((r = find(w, id, &path, err)) < 0) {
        /* a layout's path that holds something else is no object of that id either */
        if (r == -EEXIST || r == -ENOTDIR || r == -ELOOP || r == -ENAMETOOLONG)
            r = -ENOENT;
        if (r == -ENOENT)
            ocfl_err_set(err, r, "no object '%s' in this root", id);
        goto out;
    }
    /* the layout made a path of the id: it must stay in the root, away from the state */
    if (!web_object_path_ok(path, w->state_rel)) {
        r = ocfl_err_set(err, -ENOENT, "no object '%s' in this root", id);
        goto out;
    }
    if ((r = ocfl_object_open(w->root->fd, path, &obj, err)) < 0)
        goto out;
    if (strcmp(obj->inv->id, id)) {
        r = ocfl_err_set(err, -ENOENT, "no object '%s' in this root", id);
        goto out;
    }
    *ret = obj;
    obj = NULL;
    if (ret_id) {
        *ret_id = id;
        id = NULL;
    }
out:
    ocfl_object_close(obj);
    free(id);
    free(path);
    return r;
}

int web_version_arg(const struct web_req *q, const char *key, const struct ocfl_object *obj,
                    unsigned dflt, unsigned *ret, struct ocfl_err *err)
{
    const struct ocfl_inventory *inv = obj->inv;
    char *s = NULL, *end;
    unsigned long n;
    int r = web_arg(q, key, &s, err);

    if (r == -ENOENT || (r == 0 && !*s)) {
        free(s);
        *ret = dflt ? dflt : (unsigned)inv->n_versions;
        return 0;
    }
    if (r < 0)
        return r;
    errno = 0;
    n = strtoul(s + (s[0] == 'v'), &end, 10);
    if (*end || errno || n == 0 || n > inv->n_versions || s[s[0] == 'v'] == '-' ||
        s[s[0] == 'v'] == '+') {
        r = ocfl_err_set(err, -ENOENT, "object '%s' has no version '%.*s' (head %s)", inv->id,
                         (int)ocfl_utf8_prefix(s, 40), s, inv->head);
    } else {
        *ret = (unsigned)n;
    }
    free(s);
    return r;
}
