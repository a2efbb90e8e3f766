/* staging_discard.c: drop the staged changes at some paths of an object, the rest kept. */
#include "staging_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "@head FROM staged WHERE" the current generation's rows at @path and beneath it, prepared
 * and bound; SQLITE_OK or the error code. */
static int on_subtree(struct sctx *c, const char *head, const char *path, sqlite3_stmt **st)
{
    /* beneath PATH: PATH/ < p < PATH0 ('0' follows '/'), no LIKE and its wildcards */
    char sql[256];
    int rc;

    snprintf(sql, sizeof(sql),
             "%s FROM staged WHERE object_id=?1 AND gen=?2 AND"
             " (path=?3 OR (path > ?3 || '/' AND path < ?3 || '0'))",
             head);
    rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(*st, 1, c->oid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(*st, 2, c->gen);
        sqlite3_bind_text(*st, 3, path, -1, SQLITE_STATIC);
    }
    return rc;
}

/* Queue the scratch files of the rows at @path and beneath it, then delete those rows
 * (current generation).  The number of rows, or a negative errno. */
static int drop_subtree(struct sctx *c, const char *path)
{
    sqlite3_stmt *st;
    int rc, r = 0;

    if ((rc = on_subtree(c, "SELECT scratch", path, &st)) != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the staging index");
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_text(st, 0))
            r = sx_unlink_later(c, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (r < 0)
        return r;
    if ((rc = on_subtree(c, "DELETE", path, &st)) != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    return sqlite3_changes(c->db);
}

/*
 * What came back at @path must hang in the tree: each of its directories that the staged
 * changes removed comes back too (its whiteout goes; the whiteouts of its other entries stay,
 * so nothing else returns).  A directory the staged changes replaced by a file cannot come
 * back without dropping that file: -ENOTDIR, naming it.
 */
static int restore_parents(struct sctx *c, const char *path)
{
    char *dir = strdup(path), *slash;
    struct srow row;
    int r = 0;

    if (!dir)
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    for (slash = strchr(dir, '/'); r >= 0 && slash; slash = strchr(slash + 1, '/')) {
        *slash = 0;
        r = sx_row_top(c, dir, &row);
        if (r == 1 && row.kind == ROW_WHITEOUT)
            r = sx_row_del(c, dir);
        else if (r == 1 && row.kind == ROW_FILE)
            r = ocfl_err_set(c->err, -ENOTDIR,
                             "'%s' of '%s' is a staged file where the committed version has a "
                             "directory: discard '%s' as well",
                             dir, c->oid, dir);
        *slash = '/';
    }
    free(dir);
    return r < 0 ? r : 0;
}

int staging_discard_paths(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                          const char *const *paths, size_t n, struct ocfl_err *err)
{
    struct staging_entry e;
    struct sctx c;
    int r = 0, total = 0;

    for (size_t i = 0; r == 0 && i < n; i++) {
        r = sx_check_path(paths[i], err);
        if (r == -EILSEQ) /* (the path itself cannot be printed) */
            r = ocfl_err_set(err, r, "path %zu to discard in '%s' is not valid UTF-8", i + 1, oid);
        if (r == 0 && !*paths[i])
            r = ocfl_err_set(err, -EINVAL, "an empty path: discard the whole object instead");
    }
    if (r < 0)
        return r;
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    if (c.frozen)
        r = ocfl_err_set(err, -EBUSY, "'%s' is being committed", oid);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        r = drop_subtree(&c, paths[i]);
        if (r == 0)
            r = ocfl_err_set(err, -ENOENT, "nothing is staged at '%s' in '%s'", paths[i], oid);
        if (r > 0) {
            total += r;
            r = sx_lookup(&c, paths[i], &e);
        }
        if (r == 0 && e.kind != STAGING_NONE)
            r = restore_parents(&c, paths[i]);
    }
    if (r >= 0) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(c.db,
                                    "DELETE FROM staged_objects WHERE object_id=?1 AND"
                                    " new_object=0 AND NOT EXISTS"
                                    " (SELECT 1 FROM staged WHERE object_id=?1)",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(c.db);
            sqlite3_finalize(st);
        }
        r = rc == SQLITE_OK ? total : sx_sql_fail(&c, rc, "cannot update the staging index");
    }
    return sx_end(&c, r);
}
