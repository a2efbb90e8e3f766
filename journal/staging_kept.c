/* staging_kept.c: what OCFL does not version but the mount keeps: the mode and times of
 * committed files and of directories (table kept_attrs), and a directory's times moving when
 * its entries change. */
#include "staging_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal_int.h"

/* The columns of KEPT_COLS into @e, when the row was kept with @digest (NULL: a directory's).
 * A file's attributes belong to the content they were kept with: another tool's new version
 * of the path has its own (the version's time, the default mode). */
#define KEPT_COLS "digest, mode, mtime_ns, atime_ns, ctime_ns, owner, grp"
static void fill_kept(sqlite3_stmt *st, const char *digest, struct staging_entry *e)
{
    const char *kd = (const char *)sqlite3_column_text(st, 0);

    if (digest ? !kd || strcmp(kd, digest) : kd != NULL)
        return;
    e->mode = (uint32_t)sqlite3_column_int64(st, 1);
    e->mtime_ns = sqlite3_column_int64(st, 2);
    e->atime_ns = sqlite3_column_int64(st, 3);
    e->ctime_ns = sqlite3_column_int64(st, 4);
    e->uid = sqlite3_column_int64(st, 5) - 1;
    e->gid = sqlite3_column_int64(st, 6) - 1;
}

int sx_kept_get(struct sctx *c, const char *path, const char *digest, struct staging_entry *e)
{
    sqlite3_stmt *st;
    int rc = sx_prepare(c->db,
                        "SELECT " KEPT_COLS " FROM kept_attrs"
                        " WHERE object_id=?1 AND path=?2",
                        -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read kept attributes");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        fill_kept(st, digest, e);
    sx_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE
               ? 0
               : sx_sql_fail(c, rc, "cannot read kept attributes");
}

int sx_kept_put_top(struct sctx *c, int64_t mode, int64_t atime_ns, int64_t mtime_ns,
                    int64_t ctime_ns, int64_t uid, int64_t gid)
{
    sqlite3_stmt *st;
    int rc = sx_prepare(c->db,
                        "INSERT INTO kept_attrs (object_id, path, mode, atime_ns, mtime_ns,"
                        " ctime_ns, owner, grp) VALUES (?1, '', max(?2, 0), max(?3, 0),"
                        " max(?4, 0), ?5, ?6 + 1, ?7 + 1)"
                        " ON CONFLICT (object_id, path) DO UPDATE SET"
                        " mode=CASE WHEN ?2 >= 0 THEN ?2 ELSE mode END,"
                        " atime_ns=CASE WHEN ?3 >= 0 THEN ?3 ELSE atime_ns END,"
                        " mtime_ns=CASE WHEN ?4 >= 0 THEN ?4 ELSE mtime_ns END,"
                        " ctime_ns=?5,"
                        " owner=CASE WHEN ?6 >= 0 THEN ?6 + 1 ELSE owner END,"
                        " grp=CASE WHEN ?7 >= 0 THEN ?7 + 1 ELSE grp END",
                        -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot keep attributes");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, mode);
    sqlite3_bind_int64(st, 3, atime_ns);
    sqlite3_bind_int64(st, 4, mtime_ns);
    sqlite3_bind_int64(st, 5, ctime_ns);
    sqlite3_bind_int64(st, 6, uid);
    sqlite3_bind_int64(st, 7, gid);
    rc = sqlite3_step(st);
    sx_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot keep attributes");
}

/* The top row at or below generation @frozen of each path, as SQL (?1 object, ?2 frozen). */
#define TOP_FROZEN                                                                                 \
    " s.object_id=?1 AND s.gen<=?2 AND s.gen=(SELECT max(gen) FROM staged t"                       \
    " WHERE t.object_id=?1 AND t.path=s.path AND t.gen<=?2)"

int sx_kept_record(struct sctx *c, int64_t frozen)
{
    static const char *const sql[] = {
        /* a path removed by the version loses what was kept of it and below it */
        "DELETE FROM kept_attrs WHERE object_id=?1 AND EXISTS (SELECT 1 FROM staged s "
        "WHERE" TOP_FROZEN
        " AND s.kind=2 AND (kept_attrs.path=s.path OR (kept_attrs.path>s.path||'/'"
        " AND kept_attrs.path<s.path||'0')))",
        /* files with the digest they were committed with, directories without */
        "INSERT OR REPLACE INTO kept_attrs (object_id, path, digest, mode, mtime_ns, atime_ns,"
        " ctime_ns, owner, grp) SELECT ?1, s.path, CASE WHEN s.kind=1 THEN s.digest END,"
        " s.mode, s.mtime_ns, s.atime_ns, s.ctime_ns, s.owner, s.grp FROM staged s"
        " WHERE" TOP_FROZEN " AND ((s.kind=3 AND s.synced_size>=0) OR"
        " (s.kind=1 AND s.digest IS NOT NULL))",
    };

    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        sqlite3_stmt *st;
        int rc = sqlite3_prepare_v2(c->db, sql[i], -1, &st, NULL);
        if (rc != SQLITE_OK)
            return sx_sql_fail(c, rc, "cannot keep attributes");
        sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, frozen);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return sx_sql_fail(c, rc, "cannot keep attributes");
    }
    return 0;
}

int sx_touch_parent(struct sctx *c, const char *path)
{
    const char *slash = strrchr(path, '/');
    int64_t now = (int64_t)journal_now_ns(c->j);
    struct staging_entry e;
    struct srow row = {.kind = ROW_DIR, .size = -1};
    char *parent;
    int r;

    if (!slash)
        return sx_kept_put_top(c, -1, -1, now, now, -1, -1);
    if (!(parent = strndup(path, (size_t)(slash - path))))
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    r = sx_lookup(c, parent, &e);
    if (r == 0 && e.kind == STAGING_DIR) {
        row.mode = e.mode;
        row.owner = e.uid + 1;
        row.grp = e.gid + 1;
        row.atime_ns = e.atime_ns ? e.atime_ns : e.mtime_ns; /* an access is no entry change */
        row.mtime_ns = row.ctime_ns = now;
        r = sx_row_put(c, parent, &row);
    }
    free(parent);
    return r;
}

/* The second connection, opened at first use (kept_mu held); NULL when it cannot be. */
static sqlite3 *kept_db(struct journal *j)
{
    char *path;

    if (j->kept_db)
        return j->kept_db;
    if (asprintf(&path, "%s/ocflfs.db", j->state_dir) < 0)
        return NULL;
    if (sqlite3_open_v2(path, &j->kept_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close_v2(j->kept_db);
        j->kept_db = NULL;
    } else {
        sqlite3_busy_timeout(j->kept_db, 10000);
    }
    free(path);
    return j->kept_db;
}

int staging_kept_any(struct journal *j, const char *oid, struct ocfl_err *err)
{
    sqlite3_stmt *st = NULL;
    sqlite3 *db;
    int rc, r;

    pthread_mutex_lock(&j->kept_mu);
    db = kept_db(j);
    rc = db ? sqlite3_prepare_v2(db, "SELECT 1 FROM kept_attrs WHERE object_id=?1 LIMIT 1", -1, &st,
                                 NULL)
            : SQLITE_CANTOPEN;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    r = rc == SQLITE_ROW    ? 1
        : rc == SQLITE_DONE ? 0
                            : ocfl_err_set(err, -EIO, "cannot read kept attributes: %s",
                                           db ? sqlite3_errmsg(db) : "no connection");
    pthread_mutex_unlock(&j->kept_mu);
    return r;
}

int staging_kept_read(struct journal *j, const char *oid, const char *path, const char *digest,
                      struct staging_entry *e, struct ocfl_err *err)
{
    sqlite3_stmt *st;
    sqlite3 *db;
    int rc = SQLITE_OK;

    pthread_mutex_lock(&j->kept_mu);
    db = kept_db(j);
    /* one lookup per stat of a committed entry: prepared once, kept with the connection */
    if (db && !j->kept_read_st)
        rc = sqlite3_prepare_v2(
            db, "SELECT " KEPT_COLS " FROM kept_attrs WHERE object_id=?1 AND path=?2", -1,
            &j->kept_read_st, NULL);
    st = j->kept_read_st;
    if (!db)
        rc = SQLITE_CANTOPEN;
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_ROW)
        fill_kept(st, digest, e);
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    pthread_mutex_unlock(&j->kept_mu);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return ocfl_err_set(err, -EIO, "cannot read kept attributes: %s",
                            db ? sqlite3_errstr(rc) : "no connection");
    return 0;
}

void staging_ids_free(char **ids, size_t n)
{
    for (size_t i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

int staging_kept_objects(struct journal *j, char ***ret, size_t *ret_n, struct ocfl_err *err)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char **ids = NULL;
    size_t n = 0, alloc = 0;
    int rc, r = 0;

    *ret = NULL;
    *ret_n = 0;
    pthread_mutex_lock(&j->kept_mu);
    db = kept_db(j);
    rc = db ? sqlite3_prepare_v2(db, "SELECT DISTINCT object_id FROM kept_attrs ORDER BY object_id",
                                 -1, &st, NULL)
            : SQLITE_CANTOPEN;
    if (rc != SQLITE_OK) {
        pthread_mutex_unlock(&j->kept_mu);
        return ocfl_err_set(err, -EIO, "cannot read kept attributes: %s",
                            db ? sqlite3_errmsg(db) : "no connection");
    }
    while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            char **v = realloc(ids, na * sizeof(*v));
            if (!v) {
                r = -ENOMEM;
                break;
            }
            ids = v;
            alloc = na;
        }
        if (!(ids[n] = strdup((const char *)sqlite3_column_text(st, 0))))
            r = -ENOMEM;
        else
            n++;
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = ocfl_err_set(err, -EIO, "cannot read kept attributes: %s", sqlite3_errmsg(db));
    else if (r == -ENOMEM)
        ocfl_err_set(err, r, "out of memory");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->kept_mu);
    if (r < 0) {
        staging_ids_free(ids, n);
        return r;
    }
    *ret = ids;
    *ret_n = n;
    return 0;
}
