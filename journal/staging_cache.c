/* staging_cache.c: prepared statements of the staging index kept between transactions, and
 * the error they report. */
#include "staging_int.h"

#include <string.h>

/*
 * One cache per process, for one connection (the mount's journal): every
 * use is under journal_lock() of that journal, which serializes it.  The
 * SQL text is matched by address (the callers pass string literals); a
 * statement still in use (a nested use of the same text) is prepared anew
 * and finalized as before, so the cache is never shared by two users.
 */
#define CACHE_MAX 48

static struct {
    sqlite3 *db;
    size_t n;
    struct {
        const char *sql;
        sqlite3_stmt *st;
        int in_use;
    } v[CACHE_MAX];
} cache;

void staging_cache_open(struct journal *j)
{
    if (j && !cache.db)
        cache.db = journal_sqlite(j);
}

void staging_cache_close(struct journal *j)
{
    if (!j || cache.db != journal_sqlite(j))
        return;
    for (size_t i = 0; i < cache.n; i++)
        sqlite3_finalize(cache.v[i].st);
    memset(&cache, 0, sizeof(cache));
}

int sx_prepare(sqlite3 *db, const char *sql, int nbyte, sqlite3_stmt **ret, const char **tail)
{
    size_t i;
    int rc;

    if (db != cache.db || tail)
        return sqlite3_prepare_v2(db, sql, nbyte, ret, tail);
    for (i = 0; i < cache.n && cache.v[i].sql != sql; i++)
        ;
    if (i < cache.n && !cache.v[i].in_use) {
        cache.v[i].in_use = 1;
        *ret = cache.v[i].st;
        return SQLITE_OK;
    }
    if (i < cache.n || cache.n == CACHE_MAX)
        return sqlite3_prepare_v2(db, sql, nbyte, ret, NULL);
    rc = sqlite3_prepare_v3(db, sql, nbyte, SQLITE_PREPARE_PERSISTENT, ret, NULL);
    if (rc != SQLITE_OK || !*ret)
        return rc;
    cache.v[cache.n].sql = sql;
    cache.v[cache.n].st = *ret;
    cache.v[cache.n++].in_use = 1;
    return SQLITE_OK;
}

void sx_finalize(sqlite3_stmt *st)
{
    if (!st)
        return;
    if (cache.db && sqlite3_db_handle(st) == cache.db)
        for (size_t i = 0; i < cache.n; i++)
            if (cache.v[i].st == st) {
                sqlite3_reset(st);
                sqlite3_clear_bindings(st);
                cache.v[i].in_use = 0;
                return;
            }
    sqlite3_finalize(st);
}

int sx_exec(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int rc = sx_prepare(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    sx_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int sx_sql_fail(struct sctx *c, int rc, const char *what)
{
    int code = (rc & 0xff) == SQLITE_BUSY ? -EBUSY : (rc & 0xff) == SQLITE_FULL ? -ENOSPC : -EIO;

    return ocfl_err_set(c->err, code, "staging: %s: %s", what, sqlite3_errmsg(c->db));
}
