/* object_index.c: read and rewrite the mount's object index in SQLite. */
#include "object_index.h"

#include <errno.h>
#include <string.h>

static int db_fail(sqlite3 *db, struct ocfl_err *err, const char *what)
{
    const char *msg = sqlite3_errmsg(db);

    if (msg && strstr(msg, "no such table"))
        return ocfl_err_set(err, -ENOENT, "object index: %s: %s", what, msg);
    return ocfl_err_set(err, -EIO, "object index: %s: %s", what, msg ? msg : "unknown error");
}

int object_index_load(sqlite3 *db, int (*fn)(void *ctx, const struct object_index_row *row),
                      void *ctx, struct ocfl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = 0, s;

    if (sqlite3_prepare_v2(db,
                           "SELECT id, path, head, inventory_digest, mtime_ns FROM objects "
                           "ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot read");
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct object_index_row row = {
            .id = (const char *)sqlite3_column_text(st, 0),
            .path = (const char *)sqlite3_column_text(st, 1),
            .head = (const char *)sqlite3_column_text(st, 2),
            .inventory_digest = (const char *)sqlite3_column_text(st, 3),
            .mtime_ns = sqlite3_column_int64(st, 4),
        };
        if (!row.id || !row.path)
            continue;
        rc = fn(ctx, &row);
        if (rc)
            break;
    }
    if (!rc && s != SQLITE_DONE)
        rc = db_fail(db, err, "cannot read");
    sqlite3_finalize(st);
    return rc;
}

static int bind_row(sqlite3_stmt *st, const struct object_index_row *r)
{
    int s = SQLITE_OK;

    s |= sqlite3_bind_text(st, 1, r->id, -1, SQLITE_TRANSIENT);
    s |= sqlite3_bind_text(st, 2, r->path, -1, SQLITE_TRANSIENT);
    s |= r->head ? sqlite3_bind_text(st, 3, r->head, -1, SQLITE_TRANSIENT)
                 : sqlite3_bind_null(st, 3);
    s |= r->inventory_digest ? sqlite3_bind_text(st, 4, r->inventory_digest, -1, SQLITE_TRANSIENT)
                             : sqlite3_bind_null(st, 4);
    s |= sqlite3_bind_int64(st, 5, r->mtime_ns);
    return s == SQLITE_OK ? 0 : -1;
}

static const char upsert_sql[] =
    "INSERT INTO objects (id, path, head, inventory_digest, mtime_ns) VALUES (?1, ?2, ?3, ?4, ?5) "
    "ON CONFLICT(id) DO UPDATE SET path = ?2, head = ?3, inventory_digest = ?4, mtime_ns = ?5";

static int write_rows(sqlite3 *db, int replace, const struct object_index_row *rows, size_t n,
                      struct ocfl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = 0;

    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot begin");
    if (replace && sqlite3_exec(db, "DELETE FROM objects", NULL, NULL, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, "cannot clear");
        goto out;
    }
    if (sqlite3_prepare_v2(db, upsert_sql, -1, &st, NULL) != SQLITE_OK) {
        rc = db_fail(db, err, "cannot write");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (bind_row(st, &rows[i]) < 0 || sqlite3_step(st) != SQLITE_DONE) {
            rc = db_fail(db, err, "cannot write");
            goto out;
        }
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_fail(db, err, "cannot commit");
out:
    sqlite3_finalize(st);
    if (rc)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int object_index_replace(sqlite3 *db, const struct object_index_row *rows, size_t n,
                         struct ocfl_err *err)
{
    return write_rows(db, 1, rows, n, err);
}

int object_index_put(sqlite3 *db, const struct object_index_row *row, struct ocfl_err *err)
{
    return write_rows(db, 0, row, 1, err);
}

int64_t object_index_count(sqlite3 *db, struct ocfl_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t n;

    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM objects", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "cannot count");
    if (sqlite3_step(st) != SQLITE_ROW) {
        n = db_fail(db, err, "cannot count");
    } else {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}
