/* staging_state.c: merged states (status, commit), generations: freeze, finish, unfreeze,
 * recover. */
#include "staging_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void staging_state_release(struct staging_state *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++) {
        free(s->files[i].path);
        free(s->files[i].digest);
        free(s->files[i].scratch);
    }
    free(s->files);
    for (size_t i = 0; i < s->n_empty_dirs; i++)
        free(s->empty_dirs[i]);
    free(s->empty_dirs);
    memset(s, 0, sizeof(*s));
}

static int add_file(struct staging_state *s, size_t *alloc, const char *path, const char *digest,
                    const char *scratch, int64_t size)
{
    if (s->n_files == *alloc) {
        size_t na = *alloc ? *alloc * 2 : 64;
        struct staging_file *v = realloc(s->files, na * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->files = v, *alloc = na;
    }
    if (scratch && *scratch && !sx_scratch_name_ok(scratch))
        return -EBADMSG; /* a damaged index: never a path outside scratch/ */
    struct staging_file *f = &s->files[s->n_files];
    f->path = strdup(path);
    f->digest = digest && *digest ? strdup(digest) : NULL;
    f->scratch = scratch && *scratch ? strdup(scratch) : NULL;
    f->size = size;
    s->n_files++;
    if (!f->path || (digest && *digest && !f->digest) || (scratch && *scratch && !f->scratch))
        return -ENOMEM;
    return 0;
}

static int has_file_under(const struct staging_state *s, const char *dir)
{
    size_t n = strlen(dir), lo = 0, hi = s->n_files;

    while (lo < hi) { /* first path >= dir + "/" */
        size_t mid = lo + (hi - lo) / 2;
        int c = strncmp(s->files[mid].path, dir, n);
        if (c < 0 || (c == 0 && (unsigned char)s->files[mid].path[n] < '/'))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_files && !strncmp(s->files[lo].path, dir, n) && s->files[lo].path[n] == '/';
}

int sx_compute(struct sctx *c, int64_t max_gen, struct staging_state *out)
{
    sqlite3_stmt *st;
    size_t alloc = 0, h = 0, nh = c->head ? c->head->n_state : 0;
    char **dirs = NULL;
    size_t n_dirs = 0;
    int rc, r = 0;

    rc = sqlite3_prepare_v2(c->db,
                            "SELECT path, kind, digest, scratch, size FROM staged s"
                            " WHERE object_id=?1 AND (?2=0 OR gen<=?2) AND gen=(SELECT max(gen)"
                            " FROM staged t WHERE t.object_id=?1 AND t.path=s.path"
                            " AND (?2=0 OR t.gen<=?2)) ORDER BY path",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, max_gen);
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        int kind = sqlite3_column_int(st, 1);
        /* head paths before this one are untouched */
        while (r == 0 && h < nh && strcmp(c->head->state[h].logical_path, p) < 0) {
            r = add_file(out, &alloc, c->head->state[h].logical_path, c->head->state[h].digest,
                         NULL, -1);
            h++;
        }
        if (h < nh && !strcmp(c->head->state[h].logical_path, p))
            h++;
        if (r < 0)
            break;
        if (kind == ROW_FILE) {
            r = add_file(out, &alloc, p, (const char *)sqlite3_column_text(st, 2),
                         (const char *)sqlite3_column_text(st, 3),
                         sqlite3_column_type(st, 4) == SQLITE_NULL ? -1
                                                                   : sqlite3_column_int64(st, 4));
        } else if (kind == ROW_DIR) {
            char **v = realloc(dirs, (n_dirs + 1) * sizeof(*v));
            if (!v || !(v[n_dirs] = strdup(p)))
                r = -ENOMEM;
            if (v)
                dirs = v, n_dirs += r == 0;
        }
    }
    sqlite3_finalize(st);
    if (r == 0 && rc != SQLITE_DONE)
        r = sx_sql_fail(c, rc, "cannot read the staging index");
    for (; r == 0 && h < nh; h++)
        r = add_file(out, &alloc, c->head->state[h].logical_path, c->head->state[h].digest, NULL,
                     -1);
    if (r == 0 && !(out->empty_dirs = calloc(n_dirs ? n_dirs : 1, sizeof(char *))))
        r = -ENOMEM;
    for (size_t i = 0; i < n_dirs; i++) {
        if (r == 0 && !has_file_under(out, dirs[i])) {
            out->empty_dirs[out->n_empty_dirs++] = dirs[i];
            continue;
        }
        free(dirs[i]);
    }
    free(dirs);
    if (r == -ENOMEM)
        ocfl_err_set(c->err, r, "out of memory");
    else if (r == -EBADMSG)
        ocfl_err_set(c->err, r, "staging: a row of '%s' names no scratch file", c->oid);
    return r;
}

int staging_state_compute(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                          int64_t max_gen, struct staging_state *ret, struct ocfl_err *err)
{
    struct sctx c;
    int r;

    memset(ret, 0, sizeof(*ret));
    r = sx_begin_read(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = sx_end(&c, sx_compute(&c, max_gen, ret));
    if (r < 0)
        staging_state_release(ret);
    return r;
}

/* ---- status */

static int json_add_file(json_t *arr, const char *path, int64_t size)
{
    json_t *o = json_object();

    if (!o || json_object_set_new(o, "path", json_string(path)) < 0 ||
        (size >= 0 && json_object_set_new(o, "size", json_integer(size)) < 0))
        return json_decref(o), -ENOMEM;
    return json_array_append_new(arr, o) < 0 ? -ENOMEM : 0;
}

/* A staged file's size as `ls -l` sees it: a scratch file's own (its row's lags while a writer
 * has it open), else the recorded one. */
static int64_t live_size(struct sctx *c, const struct staging_file *f)
{
    struct stat st;

    if (f->scratch && fstatat(journal_state_fd(c->j), f->scratch, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return st.st_size;
    return f->size;
}

static int status_build(struct sctx *c, const struct ocfl_inventory *inv,
                        const struct staging_state *s, json_t *root)
{
    json_t *added = json_array(), *modified = json_array(), *removed = json_array(),
           *renamed = json_array(), *dirs = json_array();
    const struct ocfl_version *head = c->head;
    size_t nh = head ? head->n_state : 0, i = 0, h = 0;
    char *used = calloc(nh ? nh : 1, 1), *fresh = calloc(s->n_files ? s->n_files : 1, 1);
    int r = 0;

    if (!added || !modified || !removed || !renamed || !dirs || !used || !fresh) {
        r = -ENOMEM;
        goto out;
    }
    /* merge-join: the new state against the head */
    while (i < s->n_files || h < nh) {
        int cmp = i >= s->n_files ? 1
                  : h >= nh       ? -1
                                  : strcmp(s->files[i].path, head->state[h].logical_path);
        if (cmp < 0) {
            fresh[i++] = 1;
        } else if (cmp > 0) {
            used[h++] = 0;
        } else {
            used[h] = 1;
            const struct staging_file *f = &s->files[i];
            if (!f->digest || !ocfl_digest_equal(f->digest, head->state[h].digest))
                r = json_add_file(modified, f->path, live_size(c, f));
            i++, h++;
        }
        if (r < 0)
            goto out;
    }
    /* renamed: a removed head path whose digest appears at an added path */
    for (size_t k = 0; k < nh; k++) {
        if (used[k])
            continue;
        size_t hit = s->n_files;
        for (size_t a = 0; a < s->n_files && hit == s->n_files; a++)
            if (fresh[a] == 1 && s->files[a].digest &&
                ocfl_digest_equal(s->files[a].digest, head->state[k].digest))
                hit = a;
        if (hit < s->n_files) {
            json_t *o = json_pack("{s:s,s:s}", "from", head->state[k].logical_path, "to",
                                  s->files[hit].path);
            if (o && live_size(c, &s->files[hit]) >= 0)
                json_object_set_new(o, "size", json_integer(live_size(c, &s->files[hit])));
            if (!o || json_array_append_new(renamed, o) < 0) {
                r = -ENOMEM;
                goto out;
            }
            fresh[hit] = 2;
        } else {
            json_t *o = json_pack("{s:s}", "path", head->state[k].logical_path);
            if (!o || json_array_append_new(removed, o) < 0) {
                r = -ENOMEM;
                goto out;
            }
        }
    }
    for (size_t a = 0; a < s->n_files && r == 0; a++)
        if (fresh[a] == 1)
            r = json_add_file(added, s->files[a].path, live_size(c, &s->files[a]));
    for (size_t d = 0; d < s->n_empty_dirs && r == 0; d++)
        r = json_array_append_new(dirs, json_string(s->empty_dirs[d])) < 0 ? -ENOMEM : 0;
    if (r < 0)
        goto out;
    json_object_set_new(root, "head", inv && inv->head ? json_string(inv->head) : json_null());
    json_object_set_new(root, "generation", json_integer(c->gen));
    json_object_set_new(root, "frozen_generation",
                        c->frozen ? json_integer(c->frozen) : json_null());
    json_object_set(root, "added", added);
    json_object_set(root, "modified", modified);
    json_object_set(root, "removed", removed);
    json_object_set(root, "renamed", renamed);
    json_object_set(root, "empty_dirs", dirs);
out:
    json_decref(added), json_decref(modified), json_decref(removed), json_decref(renamed);
    json_decref(dirs);
    free(used), free(fresh);
    return r;
}

/* "damaged": [{"path", "reason"}]: staged files whose data is not what was acknowledged. */
static int status_damaged(struct sctx *c, json_t *root)
{
    json_t *arr = json_array();
    sqlite3_stmt *st;
    int rc;

    if (!arr)
        return -ENOMEM;
    rc = sqlite3_prepare_v2(c->db,
                            "SELECT path, damaged FROM staged s WHERE object_id=?1 AND damaged IS"
                            " NOT NULL AND gen=(SELECT max(gen) FROM staged t WHERE"
                            " t.object_id=?1 AND t.path=s.path) ORDER BY path",
                            -1, &st, NULL);
    if (rc != SQLITE_OK) {
        json_decref(arr);
        return sx_sql_fail(c, rc, "cannot read the staging index");
    }
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_pack("{s:s,s:s}", "path", sqlite3_column_text(st, 0),
                                             "reason", sqlite3_column_text(st, 1)));
    sqlite3_finalize(st);
    json_object_set_new(root, "damaged", arr);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot read the staging index");
}

static int object_flags(struct sctx *c, int *ret_new, int64_t *ret_plan)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        c->db, "SELECT new_object, plan_id FROM staged_objects WHERE object_id=?", -1, &st, NULL);

    *ret_new = 0, *ret_plan = 0;
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the object");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        *ret_new = sqlite3_column_int(st, 0);
        *ret_plan = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot read the object");
}

int staging_status_json(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                        char **ret, struct ocfl_err *err)
{
    struct staging_state s = {0};
    struct sctx c;
    json_t *root = json_object();
    int64_t plan = 0;
    int is_new = 0, r;

    if (!root)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    r = sx_begin_read(&c, j, oid, inv, err);
    if (r < 0) {
        json_decref(root);
        return r;
    }
    r = object_flags(&c, &is_new, &plan);
    if (r == 0)
        r = sx_compute(&c, 0, &s);
    if (r == 0) {
        json_object_set_new(root, "object", json_string(oid));
        json_object_set_new(root, "new_object", json_boolean(is_new || !inv));
        json_object_set_new(root, "plan", plan ? json_integer(plan) : json_null());
        r = status_build(&c, inv, &s, root);
        if (r == 0)
            r = status_damaged(&c, root);
        if (r == -ENOMEM)
            ocfl_err_set(err, r, "out of memory");
    }
    r = sx_end(&c, r);
    staging_state_release(&s);
    if (r == 0 && !(*ret = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)))
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
    json_decref(root);
    return r;
}

/* ---- generations */

static int exec_obj(struct sctx *c, const char *sql, int64_t a, int64_t b)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a);
    sqlite3_bind_int64(st, 3, b);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    return sqlite3_changes(c->db);
}

int64_t staging_freeze_locked(struct journal *j, const char *oid, struct ocfl_err *err)
{
    struct sctx c;
    int is_new;
    int64_t plan;
    int r = sx_attach(&c, j, oid, err);

    if (r < 0)
        return r;
    if (c.frozen)
        return ocfl_err_set(err, -EBUSY, "'%s' is being committed", oid);
    r = object_flags(&c, &is_new, &plan);
    if (r < 0)
        return r;
    sqlite3_stmt *st;
    int any = 0;
    if (sqlite3_prepare_v2(c.db, "SELECT 1 FROM staged WHERE object_id=? AND gen=? LIMIT 1", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, c.gen);
        any = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    if (!any && !is_new)
        return ocfl_err_set(err, -ENODATA, "nothing to commit in '%s'", oid);
    r = exec_obj(&c,
                 "UPDATE staged_objects SET frozen_gen=?2, gen=?2+1, plan_id=NULL"
                 " WHERE object_id=?1 AND ?3=0",
                 c.gen, 0);
    if (r < 0)
        return r;
    return c.gen;
}

int staging_set_plan_locked(struct journal *j, const char *oid, int64_t plan_id,
                            struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_attach(&c, j, oid, err);

    if (r < 0)
        return r;
    r = exec_obj(&c, "UPDATE staged_objects SET plan_id=?2 WHERE object_id=?1 AND ?3=0", plan_id,
                 0);
    return r < 0 ? r : 0;
}

/* Run @sql binding the object id (1) and @text (2) in @c's transaction. */
static int exec_text(struct sctx *c, const char *sql, const char *text)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot update the staging index");
}

int staging_finish(struct journal *j, const char *oid, const char *new_base, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_begin(&c, j, oid, NULL, err);

    if (r < 0)
        return r;
    if (!c.frozen)
        return sx_end(&c, 0);
    /* In the same transaction as the drop of the frozen rows: what stays staged, and what is
     * staged from now on, sits on the version just written.  Else a write between the two
     * would record the old head as its base and the next commit see a conflict. */
    if (new_base) {
        r = exec_text(&c, "UPDATE staged_objects SET base_digest=?2 WHERE object_id=?1", new_base);
        if (r >= 0)
            r = exec_text(&c,
                          "INSERT OR REPLACE INTO temp.staging_heads (object_id, digest)"
                          " VALUES (?1, ?2)",
                          new_base);
        if (r < 0)
            return sx_end(&c, r);
    }
    /* what the version holds keeps the mode and times the view showed; then the plan moved or
     * released the frozen scratch files */
    r = sx_kept_record(&c, c.frozen);
    if (r >= 0)
        r = exec_obj(&c, "DELETE FROM staged WHERE object_id=?1 AND gen<=?2 AND ?3=0", c.frozen, 0);
    if (r >= 0)
        r = exec_obj(&c,
                     "UPDATE staged_objects SET frozen_gen=NULL, plan_id=NULL, new_object=0"
                     " WHERE object_id=?1 AND ?2=?3",
                     0, 0);
    if (r >= 0)
        r = exec_obj(&c,
                     "DELETE FROM staged_objects WHERE object_id=?1 AND ?2=?3 AND NOT EXISTS"
                     " (SELECT 1 FROM staged WHERE object_id=?1)",
                     0, 0);
    return sx_end(&c, r < 0 ? r : 0);
}

static int unfreeze_locked(struct sctx *c)
{
    sqlite3_stmt *st;
    int rc, r = 0;

    /* A frozen scratch superseded by a later row: hand it to a later digest-backed row of the
     * same digest (a rename or chmod after the freeze), else delete it. */
    rc = sqlite3_prepare_v2(c->db,
                            "SELECT f.path, f.scratch, f.digest FROM staged f WHERE"
                            " f.object_id=?1 AND f.gen=?2 AND f.scratch IS NOT NULL AND EXISTS"
                            " (SELECT 1 FROM staged l WHERE l.object_id=?1 AND l.path=f.path"
                            " AND l.gen>?2)",
                            -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->frozen);
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *scratch = (const char *)sqlite3_column_text(st, 1);
        const char *digest = (const char *)sqlite3_column_text(st, 2);
        sqlite3_stmt *up;
        int handed = 0;
        if (digest && sqlite3_prepare_v2(c->db,
                                         "UPDATE staged SET scratch=?3 WHERE object_id=?1 AND"
                                         " path=(SELECT path FROM staged WHERE object_id=?1 AND"
                                         " gen>?4 AND kind=1 AND scratch IS NULL AND digest=?2"
                                         " LIMIT 1) AND gen>?4",
                                         -1, &up, NULL) == SQLITE_OK) {
            sqlite3_bind_text(up, 1, c->oid, -1, SQLITE_STATIC);
            sqlite3_bind_text(up, 2, digest, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(up, 3, scratch, -1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(up, 4, c->frozen);
            handed = sqlite3_step(up) == SQLITE_DONE && sqlite3_changes(c->db) > 0;
            sqlite3_finalize(up);
        }
        if (!handed)
            r = sx_unlink_later(c, scratch);
    }
    sqlite3_finalize(st);
    if (r < 0)
        return r;
    r = exec_obj(c,
                 "DELETE FROM staged WHERE object_id=?1 AND gen=?2 AND EXISTS (SELECT 1 FROM"
                 " staged l WHERE l.object_id=?1 AND l.path=staged.path AND l.gen>?2) AND ?3=0",
                 c->frozen, 0);
    if (r >= 0)
        r = exec_obj(c, "UPDATE staged SET gen=?3 WHERE object_id=?1 AND gen=?2", c->frozen,
                     c->gen);
    if (r >= 0) /* no longer dropped: the next commit may keep them */
        r = exec_obj(c, "UPDATE staged SET synced_size=0 WHERE object_id=?1 AND kind=3 AND ?2=?3",
                     0, 0);
    if (r >= 0)
        r = exec_obj(c,
                     "UPDATE staged_objects SET frozen_gen=NULL, plan_id=NULL"
                     " WHERE object_id=?1 AND ?2=?3",
                     0, 0);
    return r < 0 ? r : 0;
}

int staging_unfreeze(struct journal *j, const char *oid, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_begin(&c, j, oid, NULL, err);

    if (r < 0)
        return r;
    return sx_end(&c, c.frozen ? unfreeze_locked(&c) : 0);
}

/* Scratch directories sK/ left empty by commits and discards go (others fail rmdir). */
static void remove_empty_scratch_dirs(struct journal *j)
{
    int fd = openat(journal_state_fd(j), "scratch", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *e;
    DIR *d = fd < 0 ? NULL : fdopendir(fd);

    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    while ((e = readdir(d)))
        if (e->d_name[0] == 's' && e->d_name[1] >= '0' && e->d_name[1] <= '9' &&
            (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN))
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    closedir(d);
}

int staging_recover(struct journal *j, struct ocfl_err *err)
{
    struct staging_object_info *objs = NULL;
    size_t n = 0;
    int left = 0, r = staging_objects(j, &objs, &n, err);

    if (r < 0)
        return r;
    for (size_t i = 0; r >= 0 && i < n; i++) {
        struct journal_plan_info p;
        if (!objs[i].frozen_gen)
            continue;
        if (!objs[i].plan_id) {
            r = staging_unfreeze(j, objs[i].object_id, err); /* crashed before recording */
            continue;
        }
        r = journal_plan_get(j, objs[i].plan_id, &p, NULL, NULL, err);
        if (r == -ENOENT) {
            ocfl_err_clear(err);
            r = staging_unfreeze(j, objs[i].object_id, err);
            continue;
        }
        if (r < 0)
            break;
        if (p.state == JOURNAL_PLAN_DONE)
            r = staging_finish(j, objs[i].object_id, p.inventory_digest, err);
        else if (p.state == JOURNAL_PLAN_REVERTED || p.state == JOURNAL_PLAN_CANCELLED)
            r = staging_unfreeze(j, objs[i].object_id, err);
        else
            left++;
        journal_plan_info_release(&p);
    }
    staging_object_infos_free(objs, n);
    /* every scratch file against its row: sizes from the disk, damage found (before empty
     * directories go: a missing file's directory is made again) */
    if (r >= 0 && (r = sx_verify_scratch(j, err)) >= 0) {
        remove_empty_scratch_dirs(j);
        r = 0;
    }
    return r < 0 ? r : left;
}
