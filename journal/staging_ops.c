/* staging_ops.c: namespace changes in the staging index: unlink, mkdir, rmdir, rename, discard,
 * new objects. */
#include "staging_int.h"
#include "path.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* After a removal: a directory of the head emptied by it stays in the view (as POSIX). */
static int keep_parent(struct sctx *c, const char *path)
{
    const char *slash = strrchr(path, '/');
    struct staging_entry e;
    struct srow dir = {.kind = ROW_DIR, .size = -1};
    char *parent;
    int r;

    if (!slash)
        return 0;
    if (!(parent = strndup(path, (size_t)(slash - path))))
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    r = sx_lookup(c, parent, &e);
    if (r == 0 && e.kind == STAGING_NONE) {
        /* the directory emptied keeps the mode, owner and times kept for it */
        e.uid = e.gid = -1;
        r = sx_kept_get(c, parent, NULL, &e);
        dir.mode = e.mode;
        dir.mtime_ns = e.mtime_ns;
        dir.atime_ns = e.atime_ns;
        dir.ctime_ns = e.ctime_ns;
        dir.owner = e.uid + 1;
        dir.grp = e.gid + 1;
        if (r == 0)
            r = sx_row_put(c, parent, &dir);
    }
    free(parent);
    return r;
}

int staging_unlink(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *path, struct ocfl_err *err)
{
    struct staging_entry e;
    struct sctx c;
    int r = sx_check_path(path, err);

    if (r < 0)
        return r;
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = sx_lookup(&c, path, &e);
    if (r == 0 && e.kind == STAGING_NONE)
        r = ocfl_err_set(err, -ENOENT, "'%s' does not exist", path);
    else if (r == 0 && e.kind == STAGING_DIR)
        r = ocfl_err_set(err, -EISDIR, "'%s' is a directory", path);
    if (r == 0)
        r = sx_remove(&c, path);
    if (r == 0)
        r = keep_parent(&c, path);
    if (r == 0)
        r = sx_touch_parent(&c, path);
    return sx_end(&c, r);
}

int staging_mkdir(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                  const char *path, uint32_t mode, int64_t uid, int64_t gid, struct ocfl_err *err)
{
    struct srow row = {.kind = ROW_DIR, .size = -1};
    struct sctx c;
    int r = sx_check_path(path, err);

    if (r < 0)
        return r;
    if (!*path)
        return ocfl_err_set(err, -EEXIST, "the object's top directory exists");
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = sx_check_new(&c, path);
    if (r == 0) {
        row.mode = (mode & 07777) | STAGING_MODE_SET;
        row.mtime_ns = row.atime_ns = row.ctime_ns = (int64_t)journal_now_ns(j);
        row.owner = uid >= 0 ? uid + 1 : 0;
        row.grp = gid >= 0 ? gid + 1 : 0;
        r = sx_row_put(&c, path, &row);
    }
    if (r == 0)
        r = sx_touch_parent(&c, path);
    return sx_end(&c, r);
}

static int rmdir_locked(struct sctx *c, const char *path)
{
    struct staging_entry e;
    int r = sx_lookup(c, path, &e);

    if (r < 0)
        return r;
    if (e.kind == STAGING_NONE)
        return ocfl_err_set(c->err, -ENOENT, "'%s' does not exist", path);
    if (e.kind != STAGING_DIR)
        return ocfl_err_set(c->err, -ENOTDIR, "'%s' is not a directory", path);
    r = sx_dir_has_content(c, path);
    if (r > 0)
        return ocfl_err_set(c->err, -ENOTEMPTY, "'%s' is not empty", path);
    if (r == 0)
        r = sx_remove(c, path);
    return r;
}

int staging_rmdir(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                  const char *path, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_check_path(path, err);

    if (r < 0)
        return r;
    if (!*path)
        return ocfl_err_set(err, -EBUSY, "cannot remove the object's top directory");
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = rmdir_locked(&c, path);
    if (r == 0)
        r = keep_parent(&c, path);
    if (r == 0)
        r = sx_touch_parent(&c, path);
    return sx_end(&c, r);
}

/* The row that carries entry @e to a new path (no data copied). */
static int carried_row(struct sctx *c, const char *path, const struct staging_entry *e,
                       struct srow *row)
{
    memset(row, 0, sizeof(*row));
    row->kind = e->kind == STAGING_DIR ? ROW_DIR : ROW_FILE;
    row->size = e->size;
    row->mode = e->mode;
    row->mtime_ns = e->mtime_ns;
    row->atime_ns = e->atime_ns;
    row->ctime_ns = (int64_t)journal_now_ns(c->j); /* a rename changes the entry */
    row->owner = e->uid + 1;
    row->grp = e->gid + 1;
    memcpy(row->digest, e->digest, sizeof(row->digest));
    if (e->scratch[0] && !e->frozen) {
        memcpy(row->scratch, e->scratch, sizeof(row->scratch));
        row->synced_size = e->synced_size;
        memcpy(row->damaged, e->damaged, sizeof(row->damaged));
    } else if (e->scratch[0] && !e->digest[0])
        return ocfl_err_set(c->err, -EBUSY, "'%s' is being committed", path);
    return 0;
}

struct moves {
    char **paths; /* source paths (relative to the moved directory) */
    struct staging_entry *entries;
    size_t n, alloc;
};

static int moves_add(struct moves *m, const char *rel, const struct staging_entry *e)
{
    if (m->n == m->alloc) {
        size_t na = m->alloc ? m->alloc * 2 : 64;
        char **p = realloc(m->paths, na * sizeof(*p));
        if (!p)
            return -ENOMEM;
        m->paths = p;
        struct staging_entry *v = realloc(m->entries, na * sizeof(*v));
        if (!v)
            return -ENOMEM;
        m->entries = v;
        m->alloc = na;
    }
    if (!(m->paths[m->n] = strdup(rel)))
        return -ENOMEM;
    m->entries[m->n++] = *e;
    return 0;
}

static void moves_free(struct moves *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->paths[i]);
    free(m->paths);
    free(m->entries);
}

/* Everything of the view under @from/: staged rows of the highest generation, then head files
 * without any row, and every directory in between (as explicit rows at the target). */
static int collect_subtree(struct sctx *c, const char *from, struct moves *m)
{
    size_t n = strlen(from), lo, hi;
    char *a = malloc(n + 2), *b = malloc(n + 2);
    sqlite3_stmt *st = NULL;
    int rc, r = 0;

    if (!a || !b) {
        r = -ENOMEM;
        goto out;
    }
    memcpy(a, from, n), memcpy(b, from, n);
    a[n] = '/', b[n] = '0', a[n + 1] = b[n + 1] = 0;
    rc = sqlite3_prepare_v2(c->db,
                            "SELECT path FROM staged s WHERE object_id=?1 AND path>?2 AND path<?3"
                            " AND kind!=2 AND gen=(SELECT max(gen) FROM staged t"
                            " WHERE t.object_id=?1 AND t.path=s.path)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = sx_sql_fail(c, rc, "cannot read a directory");
        goto out;
    }
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        struct staging_entry e;
        struct srow row;
        r = sx_row_top(c, p, &row);
        if (r == 1) {
            sx_entry_from_row(c, &row, &e);
            r = moves_add(m, p + n + 1, &e);
        }
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sx_sql_fail(c, rc, "cannot read a directory");
    sx_head_range(c->head, from, &lo, &hi);
    for (size_t i = lo; r == 0 && i < hi; i++) {
        const char *p = c->head->state[i].logical_path;
        struct staging_entry e = {.kind = STAGING_FILE, .size = -1, .uid = -1, .gid = -1};
        struct srow row;
        r = sx_row_top(c, p, &row);
        if (r == 1) {
            r = 0; /* a row decides (already collected, or a whiteout) */
            continue;
        }
        if (r < 0)
            break;
        snprintf(e.digest, sizeof(e.digest), "%s", c->head->state[i].digest);
        r = sx_kept_get(c, p, e.digest, &e); /* what was kept goes along */
        if (r == 0)
            r = moves_add(m, p + n + 1, &e);
        /* the head's directories along the way become explicit rows */
        for (const char *s = strchr(p + n + 1, '/'); r == 0 && s; s = strchr(s + 1, '/')) {
            struct staging_entry d = {.kind = STAGING_DIR, .size = -1, .uid = -1, .gid = -1};
            char *rel = strndup(p + n + 1, (size_t)(s - (p + n + 1)));
            if (!rel) {
                r = -ENOMEM;
                break;
            }
            int dup = 0;
            for (size_t k = m->n; k-- > 0 && !dup;)
                dup = m->entries[k].kind == STAGING_DIR && !strcmp(m->paths[k], rel);
            if (!dup) {
                char *full = NULL;
                if (asprintf(&full, "%s/%s", from, rel) < 0)
                    r = -ENOMEM;
                else
                    r = sx_kept_get(c, full, NULL, &d);
                free(full);
            }
            if (!dup && r == 0)
                r = moves_add(m, rel, &d);
            free(rel);
        }
    }
out:
    sqlite3_finalize(st);
    free(a), free(b);
    if (r == -ENOMEM)
        ocfl_err_set(c->err, r, "out of memory");
    return r;
}

static int move_dir(struct sctx *c, const char *from, const char *to,
                    const struct staging_entry *top)
{
    struct moves m = {0};
    struct srow row;
    char *src = NULL, *dst = NULL;
    int r = collect_subtree(c, from, &m);

    /* a name the view accepted must never make a commit fail: refuse the move that would push
     * a path below past the limit, before anything changes */
    for (size_t i = 0; r == 0 && i < m.n; i++)
        if (strlen(to) + 1 + strlen(m.paths[i]) > OCFL_PATH_MAX_BYTES)
            r = ocfl_err_set(c->err, -ENAMETOOLONG,
                             "moving '%s' to '%s' would make '%.200s...' longer than %d bytes",
                             from, to, m.paths[i], OCFL_PATH_MAX_BYTES);
    if (r == 0)
        r = carried_row(c, from, top, &row);
    if (r == 0) {
        row.kind = ROW_DIR;
        r = sx_row_put(c, to, &row);
    }
    for (size_t i = 0; r == 0 && i < m.n; i++) {
        free(src), free(dst);
        src = dst = NULL;
        if (asprintf(&src, "%s/%s", from, m.paths[i]) < 0 ||
            asprintf(&dst, "%s/%s", to, m.paths[i]) < 0) {
            src = dst = NULL;
            r = ocfl_err_set(c->err, -ENOMEM, "out of memory");
            break;
        }
        r = carried_row(c, src, &m.entries[i], &row);
        if (r == 0)
            r = sx_row_put(c, dst, &row);
    }
    for (size_t i = 0; r == 0 && i < m.n; i++) {
        free(src);
        if (asprintf(&src, "%s/%s", from, m.paths[i]) < 0) {
            src = NULL;
            r = ocfl_err_set(c->err, -ENOMEM, "out of memory");
        } else if (m.entries[i].staged) {
            r = sx_remove(c, src); /* implied head directories have no row */
        } else if (m.entries[i].kind == STAGING_FILE) {
            r = sx_remove(c, src);
        }
    }
    if (r == 0)
        r = sx_remove(c, from);
    free(src), free(dst);
    moves_free(&m);
    return r;
}

static int rename_locked(struct sctx *c, const char *from, const char *to)
{
    struct staging_entry ef, et;
    struct srow row;
    size_t nf = strlen(from);
    int r;

    if (!strcmp(from, to))
        return 0;
    if (!strncmp(to, from, nf) && to[nf] == '/')
        return ocfl_err_set(c->err, -EINVAL, "cannot move '%s' into itself", from);
    r = sx_lookup(c, from, &ef);
    if (r == 0 && ef.kind == STAGING_NONE)
        r = ocfl_err_set(c->err, -ENOENT, "'%s' does not exist", from);
    if (r == 0)
        r = sx_check_parent(c, to);
    if (r == 0)
        r = sx_lookup(c, to, &et);
    if (r < 0)
        return r;
    if (ef.kind == STAGING_FILE && et.kind == STAGING_DIR)
        return ocfl_err_set(c->err, -EISDIR, "'%s' is a directory", to);
    if (ef.kind == STAGING_DIR && et.kind == STAGING_FILE)
        return ocfl_err_set(c->err, -ENOTDIR, "'%s' is not a directory", to);
    if (ef.kind == STAGING_DIR && et.kind == STAGING_DIR) {
        r = rmdir_locked(c, to);
        if (r < 0)
            return r;
    }
    if (ef.kind == STAGING_DIR)
        r = move_dir(c, from, to, &ef);
    else {
        r = carried_row(c, from, &ef, &row);
        if (r == 0)
            r = sx_row_put(c, to, &row);
        if (r == 0)
            r = sx_remove(c, from);
    }
    if (r == 0)
        r = keep_parent(c, from);
    if (r == 0)
        r = sx_touch_parent(c, from);
    if (r == 0)
        r = sx_touch_parent(c, to);
    return r;
}

int staging_rename(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *from, const char *to, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_check_path(from, err);

    if (r == 0)
        r = sx_check_path(to, err);
    if (r < 0)
        return r;
    if (!*from || !*to)
        return ocfl_err_set(err, -EBUSY, "cannot rename the object's top directory");
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    return sx_end(&c, rename_locked(&c, from, to));
}

/* Run @sql with (oid, gen) bound; returns the number of changed rows. */
static int exec2(struct sctx *c, const char *sql, int64_t gen)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, gen);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    return sqlite3_changes(c->db);
}

/* Queue the scratch files of generation @gen's rows for deletion. */
static int queue_scratch(struct sctx *c, int64_t gen)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db,
                                "SELECT scratch FROM staged WHERE object_id=? AND gen=?"
                                " AND scratch IS NOT NULL",
                                -1, &st, NULL),
        r = 0;

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, gen);
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        r = sx_unlink_later(c, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return r;
}

int staging_discard(struct journal *j, const char *oid, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_begin(&c, j, oid, NULL, err);

    if (r < 0)
        return r;
    if (c.frozen)
        r = ocfl_err_set(err, -EBUSY, "'%s' is being committed", oid);
    if (r == 0)
        r = queue_scratch(&c, c.gen);
    if (r == 0)
        r = exec2(&c, "DELETE FROM staged WHERE object_id=?1 AND gen=?2", c.gen);
    if (r >= 0) {
        int n = r;
        r = exec2(&c, "DELETE FROM staged_objects WHERE object_id=?1 AND new_object=0 AND ?2>0", 1);
        r = r < 0 ? r : n;
    }
    return sx_end(&c, r);
}

int staging_object_new(struct journal *j, const char *oid, uint32_t mode, int64_t uid, int64_t gid,
                       struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_check_path(oid, NULL) == -EILSEQ ? ocfl_err_set(err, -EILSEQ, "id is not UTF-8") : 0;

    if (r < 0)
        return r;
    r = sx_begin(&c, j, oid, NULL, err);
    if (r < 0)
        return r;
    r = exec2(&c,
              "INSERT OR IGNORE INTO staged_objects (object_id, new_object, gen) VALUES (?1,1,?2)",
              c.gen);
    if (r == 0)
        r = ocfl_err_set(err, -EEXIST, "object '%s' is already staged", oid);
    if (r > 0)
        r = exec2(&c, "DELETE FROM kept_attrs WHERE object_id=?1 AND ?2=?2", 0);
    if (r >= 0) {
        int64_t now = (int64_t)journal_now_ns(j);
        r = sx_kept_put_top(&c, (mode & 07777) | STAGING_MODE_SET, now, now, now, uid, gid);
    }
    return sx_end(&c, r < 0 ? r : 0);
}

int staging_object_remove(struct journal *j, const char *oid, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_begin(&c, j, oid, NULL, err);

    if (r < 0)
        return r;
    sqlite3_stmt *st;
    int found = 0,
        rc = sqlite3_prepare_v2(
            c.db, "SELECT 1 FROM staged_objects WHERE object_id=? AND new_object=1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    if (r >= 0 && !found)
        r = ocfl_err_set(err, -ENOENT, "'%s' is not a new object", oid);
    else if (r >= 0 && c.frozen)
        r = ocfl_err_set(err, -EBUSY, "'%s' is being committed", oid);
    else if (r >= 0 && (r = sx_dir_has_content(&c, "")) > 0)
        r = ocfl_err_set(err, -ENOTEMPTY, "'%s' is not empty", oid);
    if (r >= 0)
        r = queue_scratch(&c, c.gen);
    if (r >= 0)
        r = exec2(&c, "DELETE FROM staged WHERE object_id=?1 AND ?2>0", 1);
    if (r >= 0)
        r = exec2(&c, "DELETE FROM staged_objects WHERE object_id=?1 AND ?2>0", 1);
    if (r >= 0) /* its top's owner and mode would go to the next object of that id */
        r = exec2(&c, "DELETE FROM kept_attrs WHERE object_id=?1 AND ?2>0", 1);
    return sx_end(&c, r < 0 ? r : 0);
}

int staging_objects(struct journal *j, struct staging_object_info **ret, size_t *ret_n,
                    struct ocfl_err *err)
{
    sqlite3 *db = journal_sqlite(j);
    sqlite3_stmt *st;
    struct staging_object_info *v = NULL;
    size_t n = 0;
    int rc, r = 0;

    journal_lock(j);
    rc = sqlite3_prepare_v2(db,
                            "SELECT o.object_id, o.new_object, o.gen, o.frozen_gen, o.plan_id,"
                            " (SELECT count(*) FROM staged s WHERE s.object_id=o.object_id)"
                            " FROM staged_objects o ORDER BY o.object_id",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        journal_unlock(j);
        return ocfl_err_set(err, -EIO, "staging: %s", sqlite3_errmsg(db));
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct staging_object_info *nv = realloc(v, (n + 1) * sizeof(*v));
        if (!nv || !(nv[n].object_id = strdup((const char *)sqlite3_column_text(st, 0)))) {
            v = nv ? nv : v;
            r = ocfl_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        v = nv;
        v[n].new_object = sqlite3_column_int(st, 1);
        v[n].gen = sqlite3_column_int64(st, 2);
        v[n].frozen_gen = sqlite3_column_int64(st, 3);
        v[n].plan_id = sqlite3_column_int64(st, 4);
        v[n].n_rows = (size_t)sqlite3_column_int64(st, 5);
        n++;
    }
    sqlite3_finalize(st);
    journal_unlock(j);
    if (r < 0) {
        staging_object_infos_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

void staging_object_infos_free(struct staging_object_info *o, size_t n)
{
    for (size_t i = 0; o && i < n; i++)
        free(o[i].object_id);
    free(o);
}
