/* staging.c: the staging index's rows, transactions and the merged view's lookups. */
#include "staging_int.h"
#include "journal_int.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "path.h"

int staging_entry_writable(const struct staging_entry *e)
{
    return e && e->kind == STAGING_FILE && e->staged && e->scratch[0] && !e->frozen &&
           !e->damaged[0];
}

int sx_check_path(const char *path, struct ocfl_err *err)
{
    if (!path)
        return ocfl_err_set(err, -EINVAL, "no path");
    if (!ocfl_utf8_valid(path, strlen(path)))
        return ocfl_err_set(err, -EILSEQ, "name is not valid UTF-8");
    if (!*path)
        return 0;
    if (ocfl_path_check(path) != OCFL_PATH_OK)
        return ocfl_err_set(err, -EINVAL, "'%s' is not a valid logical path", path);
    if (strlen(path) > OCFL_PATH_MAX_BYTES)
        return ocfl_err_set(err, -ENAMETOOLONG, "'%.300s...' is longer than %d bytes", path,
                            OCFL_PATH_MAX_BYTES);
    /* no file system under a storage root holds a longer name in a content path */
    for (const char *s = path, *slash; *s; s = slash ? slash + 1 : s + strlen(s)) {
        slash = strchr(s, '/');
        if ((slash ? (size_t)(slash - s) : strlen(s)) > NAME_MAX)
            return ocfl_err_set(err, -ENAMETOOLONG, "'%.300s...': a name longer than %d bytes",
                                path, NAME_MAX);
    }
    return 0;
}

static int read_gens(struct sctx *c)
{
    sqlite3_stmt *st;
    int rc = sx_prepare(c->db, "SELECT gen, frozen_gen FROM staged_objects WHERE object_id=?", -1,
                        &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the object");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    c->gen = 1;
    c->frozen = 0;
    if (rc == SQLITE_ROW) {
        c->gen = sqlite3_column_int64(st, 0);
        c->frozen = sqlite3_column_int64(st, 1);
    }
    sx_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot read the object");
}

int sx_attach(struct sctx *c, struct journal *j, const char *oid, struct ocfl_err *err)
{
    memset(c, 0, sizeof(*c));
    c->j = j;
    c->db = journal_sqlite(j);
    c->oid = oid;
    c->err = err;
    return read_gens(c);
}

static int begin(struct sctx *c, struct journal *j, const char *oid,
                 const struct ocfl_inventory *inv, int write, struct ocfl_err *err)
{
    sqlite3 *db = journal_sqlite(j);
    int relaxed = 0, r;

    if (!oid || !*oid)
        return ocfl_err_set(err, -EINVAL, "no object id");
    journal_lock(j);
    /* the level cannot change inside a transaction: set before BEGIN, reset after COMMIT */
    /* NORMAL is safe with WAL only: a rollback journal (cluster mode) stays FULL */
    if (write && !journal_rollback_mode(j) &&
        sx_exec(db, "PRAGMA synchronous = NORMAL") == SQLITE_OK)
        relaxed = 1;
    if (sx_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN") != SQLITE_OK)
        r = ocfl_err_set(err, -EBUSY, "staging: cannot begin: %s", sqlite3_errmsg(db));
    else if ((r = sx_attach(c, j, oid, err)) < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (r < 0) {
        if (relaxed)
            sx_exec(db, "PRAGMA synchronous = FULL");
        journal_unlock(j);
        return r;
    }
    c->relaxed = relaxed;
    c->own_tx = 1;
    c->head = inv ? ocfl_inventory_head(inv) : NULL;
    return 0;
}

int sx_begin(struct sctx *c, struct journal *j, const char *oid, const struct ocfl_inventory *inv,
             struct ocfl_err *err)
{
    return begin(c, j, oid, inv, 1, err);
}

int sx_begin_read(struct sctx *c, struct journal *j, const char *oid,
                  const struct ocfl_inventory *inv, struct ocfl_err *err)
{
    return begin(c, j, oid, inv, 0, err);
}

/* Scratch files queued for deletion that a row still uses (moved by a rename) stay. */
static void keep_referenced(struct sctx *c)
{
    sqlite3_stmt *st;

    if (sx_prepare(c->db, "SELECT 1 FROM staged WHERE scratch=? LIMIT 1", -1, &st, NULL) !=
        SQLITE_OK)
        return;
    for (size_t i = 0; i < c->n_unlink; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->unlink_after[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            free(c->unlink_after[i]);
            c->n_unlink--;
            c->unlink_wait[i] = c->unlink_wait[c->n_unlink];
            c->unlink_after[i--] = c->unlink_after[c->n_unlink];
        }
    }
    sx_finalize(st);
}

int sx_end(struct sctx *c, int r)
{
    int full = 0, rc;

    if (r >= 0)
        keep_referenced(c);
    if (r >= 0 && (rc = sx_exec(c->db, "COMMIT")) != SQLITE_OK)
        r = sx_sql_fail(c, rc, "cannot commit"); /* SQLITE_FULL: -ENOSPC */
    if (r < 0 && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    if (r < 0 && c->seq_reserved)
        c->j->seq_next = c->j->seq_end = 0; /* the reservation went with it */
    c->seq_reserved = 0;
    /* the journal's own transactions on this connection stay FULL */
    if (c->relaxed && sx_exec(c->db, "PRAGMA synchronous = FULL") != SQLITE_OK)
        r = r < 0 ? r : sx_sql_fail(c, SQLITE_ERROR, "cannot reset the sync level");
    c->relaxed = 0;
    for (size_t i = 0; i < c->n_unlink; i++) {
        if (r >= 0 && c->unlink_wait[i]) {
            full |= sx_graveyard_add(c->j, c->unlink_after[i]);
            continue;
        }
        if (r >= 0)
            unlinkat(journal_state_fd(c->j), c->unlink_after[i], 0);
        free(c->unlink_after[i]);
    }
    journal_unlock(c->j);
    free(c->unlink_after);
    free(c->unlink_wait);
    c->unlink_after = NULL;
    c->unlink_wait = NULL;
    c->n_unlink = 0;
    if (full)
        sx_graveyard_flush(c->j, 0);
    return r;
}

int sx_unlink_later(struct sctx *c, const char *scratch)
{
    char **v = realloc(c->unlink_after, (c->n_unlink + 1) * sizeof(*v));
    unsigned char *w;

    if (!v)
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    c->unlink_after = v;
    if (!(w = realloc(c->unlink_wait, c->n_unlink + 1)))
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    c->unlink_wait = w;
    if (!(v[c->n_unlink] = strdup(scratch)))
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    w[c->n_unlink++] = (unsigned char)sx_scratch_synced(c, scratch);
    return 0;
}

int sx_ensure_object(struct sctx *c)
{
    sqlite3_stmt *st;
    int rc = sx_prepare(
        c->db,
        "INSERT OR IGNORE INTO staged_objects (object_id, gen, base_digest) VALUES (?1, ?2,"
        " (SELECT digest FROM temp.staging_heads WHERE object_id=?1))",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot add the object");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->gen);
    rc = sqlite3_step(st);
    sx_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot add the object");
}

static void copy_text(char *dst, size_t size, const unsigned char *s)
{
    snprintf(dst, size, "%s", s ? (const char *)s : "");
}

static int row_query(struct sctx *c, const char *sql, const char *path, struct srow *ret)
{
    sqlite3_stmt *st;
    int rc = sx_prepare(c->db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read a row");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, c->gen);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        ret->kind = sqlite3_column_int(st, 0);
        ret->gen = sqlite3_column_int64(st, 1);
        copy_text(ret->digest, sizeof(ret->digest), sqlite3_column_text(st, 2));
        copy_text(ret->scratch, sizeof(ret->scratch), sqlite3_column_text(st, 3));
        ret->size = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 4);
        ret->mode = sqlite3_column_int64(st, 5);
        ret->mtime_ns = sqlite3_column_int64(st, 6);
        ret->synced_size = sqlite3_column_int64(st, 7);
        copy_text(ret->damaged, sizeof(ret->damaged), sqlite3_column_text(st, 8));
        ret->atime_ns = sqlite3_column_int64(st, 9);
        ret->ctime_ns = sqlite3_column_int64(st, 10);
        ret->owner = sqlite3_column_int64(st, 11);
        ret->grp = sqlite3_column_int64(st, 12);
    }
    sx_finalize(st);
    if (rc == SQLITE_ROW && ret->scratch[0] && !sx_scratch_name_ok(ret->scratch))
        return ocfl_err_set(c->err, -EBADMSG,
                            "staging: the row of '%s' names '%.80s', not a scratch file", path,
                            ret->scratch);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot read a row");
}

int sx_row_top(struct sctx *c, const char *path, struct srow *ret)
{
    return row_query(c,
                     "SELECT " SX_ROW_COLS " FROM staged"
                     " WHERE object_id=?1 AND path=?2 AND ?3 IS NOT NULL ORDER BY gen DESC LIMIT 1",
                     path, ret);
}

int sx_row_lower(struct sctx *c, const char *path, struct srow *ret)
{
    return row_query(c,
                     "SELECT " SX_ROW_COLS " FROM staged"
                     " WHERE object_id=?1 AND path=?2 AND gen<?3 ORDER BY gen DESC LIMIT 1",
                     path, ret);
}

static void bind_opt_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s && *s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

int sx_row_put(struct sctx *c, const char *path, const struct srow *row)
{
    sqlite3_stmt *st;
    const char *slash = strrchr(path, '/');
    struct srow old;
    int rc, r;

    r = sx_ensure_object(c);
    if (r < 0)
        return r;
    /* A scratch file of this generation that the new row no longer uses goes. */
    r = row_query(c,
                  "SELECT " SX_ROW_COLS " FROM staged"
                  " WHERE object_id=?1 AND path=?2 AND gen=?3",
                  path, &old);
    if (r < 0)
        return r;
    if (r == 1 && old.scratch[0] && strcmp(old.scratch, row->scratch) != 0) {
        r = sx_unlink_later(c, old.scratch);
        if (r < 0)
            return r;
    }
    rc = sx_prepare(c->db,
                    "INSERT OR REPLACE INTO staged (object_id, path, gen, parent, kind,"
                    " digest, scratch, size, mode, mtime_ns, synced_size, damaged, atime_ns,"
                    " ctime_ns, owner, grp) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot write a row");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, c->gen);
    sqlite3_bind_text(st, 4, path, slash ? (int)(slash - path) : 0, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, row->kind);
    bind_opt_text(st, 6, row->digest);
    bind_opt_text(st, 7, row->scratch);
    if (row->size >= 0)
        sqlite3_bind_int64(st, 8, row->size);
    else
        sqlite3_bind_null(st, 8);
    sqlite3_bind_int64(st, 9, row->mode);
    sqlite3_bind_int64(st, 10, row->mtime_ns);
    /* acknowledged bytes belong to a scratch file: a digest-backed row has none */
    sqlite3_bind_int64(st, 11, row->scratch[0] ? row->synced_size : 0);
    bind_opt_text(st, 12, row->damaged);
    sqlite3_bind_int64(st, 13, row->atime_ns);
    sqlite3_bind_int64(st, 14, row->ctime_ns);
    sqlite3_bind_int64(st, 15, row->owner);
    sqlite3_bind_int64(st, 16, row->grp);
    rc = sqlite3_step(st);
    sx_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot write a row");
}

int sx_row_del(struct sctx *c, const char *path)
{
    sqlite3_stmt *st;
    struct srow old;
    int rc, r;

    r = row_query(c,
                  "SELECT " SX_ROW_COLS " FROM staged"
                  " WHERE object_id=?1 AND path=?2 AND gen=?3",
                  path, &old);
    if (r <= 0)
        return r;
    if (old.scratch[0] && (r = sx_unlink_later(c, old.scratch)) < 0)
        return r;
    rc = sx_prepare(c->db, "DELETE FROM staged WHERE object_id=? AND path=? AND gen=?", -1, &st,
                    NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot delete a row");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, c->gen);
    rc = sqlite3_step(st);
    sx_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot delete a row");
}

int sx_remove(struct sctx *c, const char *path)
{
    struct srow low;
    int r = sx_row_lower(c, path, &low);

    if (r < 0)
        return r;
    if ((r == 1 && low.kind != ROW_WHITEOUT) ||
        (r == 0 && c->head && ocfl_version_lookup(c->head, path))) {
        struct srow wo = {.kind = ROW_WHITEOUT, .size = -1};
        return sx_row_put(c, path, &wo);
    }
    return sx_row_del(c, path);
}

/* First index whose path is >= @key. */
static size_t lower_bound(const struct ocfl_version *v, const char *key)
{
    size_t lo = 0, hi = v->n_state;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(v->state[mid].logical_path, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void sx_head_range(const struct ocfl_version *head, const char *dir, size_t *lo, size_t *hi)
{
    char *key;
    size_t n = strlen(dir);

    *lo = *hi = 0;
    if (!head)
        return;
    if (!n) {
        *hi = head->n_state;
        return;
    }
    key = malloc(n + 2);
    if (!key)
        return;
    memcpy(key, dir, n);
    key[n] = '/', key[n + 1] = 0;
    *lo = lower_bound(head, key);
    key[n] = '0'; /* '/' + 1: the first path past the subtree */
    *hi = lower_bound(head, key);
    free(key);
}

int sx_dir_has_content(struct sctx *c, const char *path)
{
    sqlite3_stmt *st;
    size_t n = strlen(path), lo, hi;
    char *a = malloc(n + 2), *b = malloc(n + 2);
    int rc, found = 0;

    if (!a || !b) {
        free(a), free(b);
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    }
    memcpy(a, path, n), memcpy(b, path, n);
    a[n] = '/', b[n] = '0', a[n + 1] = b[n + 1] = 0;
    rc = sx_prepare(c->db,
                    "SELECT 1 FROM staged s WHERE object_id=?1 AND path>?2 AND path<?3"
                    " AND kind!=2 AND gen=(SELECT max(gen) FROM staged t"
                    " WHERE t.object_id=?1 AND t.path=s.path) LIMIT 1",
                    -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        found = rc == SQLITE_ROW;
        sx_finalize(st);
    }
    free(a), free(b);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return sx_sql_fail(c, rc, "cannot read a directory");
    if (found)
        return 1;
    sx_head_range(c->head, path, &lo, &hi);
    for (size_t i = lo; i < hi; i++) {
        struct srow row;
        int r = sx_row_top(c, c->head->state[i].logical_path, &row);
        if (r <= 0)
            return r < 0 ? r : 1; /* a head file nobody touched */
        if (row.kind != ROW_WHITEOUT)
            return 1;
    }
    return 0;
}

void sx_entry_from_row(const struct sctx *c, const struct srow *row, struct staging_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->kind = row->kind == ROW_DIR ? STAGING_DIR : STAGING_FILE;
    e->staged = 1;
    e->gen = row->gen;
    e->frozen = c->frozen && row->gen <= c->frozen;
    memcpy(e->digest, row->digest, sizeof(e->digest));
    memcpy(e->scratch, row->scratch, sizeof(e->scratch));
    e->size = row->size;
    e->mode = (uint32_t)row->mode;
    e->mtime_ns = row->mtime_ns;
    e->atime_ns = row->atime_ns;
    e->ctime_ns = row->ctime_ns;
    e->synced_size = row->synced_size;
    e->uid = row->owner - 1;
    e->gid = row->grp - 1;
    snprintf(e->damaged, sizeof(e->damaged), "%s", row->damaged);
}

int sx_lookup(struct sctx *c, const char *path, struct staging_entry *ret)
{
    const struct ocfl_state_entry *se;
    struct srow row;
    int r;

    memset(ret, 0, sizeof(*ret));
    ret->size = -1;
    ret->uid = ret->gid = -1;
    if (!*path) {
        ret->kind = STAGING_DIR;
        return sx_kept_get(c, "", NULL, ret);
    }
    r = sx_row_top(c, path, &row);
    if (r < 0)
        return r;
    if (r == 1) {
        if (row.kind != ROW_WHITEOUT)
            sx_entry_from_row(c, &row, ret);
        return 0;
    }
    if (c->head && (se = ocfl_version_lookup(c->head, path))) {
        ret->kind = STAGING_FILE;
        snprintf(ret->digest, sizeof(ret->digest), "%s", se->digest);
        return sx_kept_get(c, path, se->digest, ret);
    }
    r = sx_dir_has_content(c, path);
    if (r < 0)
        return r;
    if (r) {
        ret->kind = STAGING_DIR;
        return sx_kept_get(c, path, NULL, ret);
    }
    return 0;
}

int sx_check_parent(struct sctx *c, const char *path)
{
    const char *slash = strrchr(path, '/');
    struct staging_entry e;
    char *parent;
    int r;

    if (!slash)
        return 0;
    parent = strndup(path, (size_t)(slash - path));
    if (!parent)
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    r = sx_lookup(c, parent, &e);
    if (r == 0 && e.kind == STAGING_NONE)
        r = ocfl_err_set(c->err, -ENOENT, "'%s' does not exist", parent);
    else if (r == 0 && e.kind != STAGING_DIR)
        r = ocfl_err_set(c->err, -ENOTDIR, "'%s' is not a directory", parent);
    free(parent);
    return r;
}

int sx_check_new(struct sctx *c, const char *path)
{
    struct staging_entry e;
    int r = sx_check_parent(c, path);

    if (r == 0)
        r = sx_lookup(c, path, &e);
    if (r == 0 && e.kind != STAGING_NONE)
        r = ocfl_err_set(c->err, -EEXIST, "'%s' exists", path);
    return r;
}

int staging_lookup(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *path, struct staging_entry *ret, struct ocfl_err *err)
{
    struct sctx c;
    int r = sx_check_path(path, err);

    memset(ret, 0, sizeof(*ret));
    if (r < 0)
        return r;
    r = sx_begin_read(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    return sx_end(&c, sx_lookup(&c, path, ret));
}
