/* staging_list.c: the children of a directory in the merged view (staged rows over the head). */
#include "staging_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dlist {
    struct staging_dirent *v;
    size_t n, alloc;
};

static int dlist_add(struct dlist *d, const char *name, size_t len, enum staging_kind kind)
{
    if (d->n == d->alloc) {
        size_t na = d->alloc ? d->alloc * 2 : 16;
        struct staging_dirent *v = realloc(d->v, na * sizeof(*v));
        if (!v)
            return -ENOMEM;
        d->v = v, d->alloc = na;
    }
    if (!(d->v[d->n].name = strndup(name, len)))
        return -ENOMEM;
    d->v[d->n++].kind = kind;
    return 0;
}

static int dirent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct staging_dirent *)a)->name,
                  ((const struct staging_dirent *)b)->name);
}

static int staged_children(struct sctx *c, const char *dir, struct dlist *staged)
{
    sqlite3_stmt *st;
    size_t skip = *dir ? strlen(dir) + 1 : 0;
    int rc = sx_prepare(c->db,
                        "SELECT path, kind FROM staged s WHERE object_id=?1 AND parent=?2"
                        " AND gen=(SELECT max(gen) FROM staged t WHERE t.object_id=?1"
                        " AND t.path=s.path) ORDER BY path",
                        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot list");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, dir, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        int kind = sqlite3_column_int(st, 1);
        /* a whiteout is kept as STAGING_NONE: it hides the head's name */
        if (dlist_add(staged, p + skip, strlen(p + skip),
                      kind == ROW_DIR    ? STAGING_DIR
                      : kind == ROW_FILE ? STAGING_FILE
                                         : STAGING_NONE) < 0) {
            sx_finalize(st);
            return ocfl_err_set(c->err, -ENOMEM, "out of memory");
        }
    }
    sx_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot list");
}

static int list_locked(struct sctx *c, const char *dir, struct dlist *out)
{
    struct dlist staged = {0};
    struct staging_entry e;
    size_t lo, hi, skip = *dir ? strlen(dir) + 1 : 0;
    char *sub = NULL;
    int r;

    r = sx_lookup(c, dir, &e);
    if (r < 0)
        return r;
    if (e.kind == STAGING_NONE)
        return ocfl_err_set(c->err, -ENOENT, "'%s' does not exist", dir);
    if (e.kind != STAGING_DIR)
        return ocfl_err_set(c->err, -ENOTDIR, "'%s' is not a directory", dir);
    r = staged_children(c, dir, &staged);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < staged.n; i++)
        if (staged.v[i].kind != STAGING_NONE &&
            (r = dlist_add(out, staged.v[i].name, strlen(staged.v[i].name), staged.v[i].kind)) < 0)
            goto out;
    sx_head_range(c->head, dir, &lo, &hi);
    for (size_t i = lo; i < hi;) {
        const char *name = c->head->state[i].logical_path + skip;
        const char *slash = strchr(name, '/');
        size_t len = slash ? (size_t)(slash - name) : strlen(name), next = i + 1;
        struct staging_dirent key = {0};
        int known;

        /* the rest of this child's subtree shares the prefix name + '/' */
        while (slash && next < hi &&
               !strncmp(c->head->state[next].logical_path + skip, name, len + 1))
            next++;
        key.name = strndup(name, len);
        if (!key.name) {
            r = -ENOMEM;
            goto out;
        }
        known =
            staged.n && bsearch(&key, staged.v, staged.n, sizeof(*staged.v), dirent_cmp) != NULL;
        if (!known && !slash) {
            r = dlist_add(out, name, len, STAGING_FILE);
        } else if (!known) {
            free(sub);
            sub = NULL;
            if (asprintf(&sub, "%s%s%s", dir, *dir ? "/" : "", key.name) < 0) {
                sub = NULL;
                r = -ENOMEM;
            } else {
                r = sx_dir_has_content(c, sub);
                if (r > 0)
                    r = dlist_add(out, name, len, STAGING_DIR);
            }
        }
        free(key.name);
        if (r < 0)
            goto out;
        i = next;
    }
    if (out->n) /* no array at all when empty */
        qsort(out->v, out->n, sizeof(*out->v), dirent_cmp);
    r = 0;
out:
    if (r == -ENOMEM)
        ocfl_err_set(c->err, r, "out of memory");
    free(sub);
    staging_dirents_free(staged.v, staged.n);
    return r;
}

int staging_list(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                 const char *dir, struct staging_dirent **ret, size_t *ret_n, struct ocfl_err *err)
{
    struct dlist out = {0};
    struct sctx c;
    int r = sx_check_path(dir, err);

    if (r < 0)
        return r;
    r = sx_begin_read(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = sx_end(&c, list_locked(&c, dir, &out));
    if (r < 0) {
        staging_dirents_free(out.v, out.n);
        return r;
    }
    *ret = out.v;
    *ret_n = out.n;
    return 0;
}

void staging_dirents_free(struct staging_dirent *d, size_t n)
{
    for (size_t i = 0; d && i < n; i++)
        free(d[i].name);
    free(d);
}
