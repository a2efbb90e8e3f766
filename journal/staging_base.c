/* staging_base.c: which head each object's staged changes were made on (to refuse stale commits).
 */
#include <errno.h>
#include <string.h>

#include "staging.h"
#include "staging_int.h"

/* Run one statement binding @oid (1) and @digest (2) under the journal's lock. */
static int exec_locked(struct journal *j, const char *sql, const char *oid, const char *digest,
                       struct ocfl_err *err)
{
    sqlite3 *db = journal_sqlite(j);
    sqlite3_stmt *st;
    int rc;

    journal_lock(j);
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, digest, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
    }
    if (rc != SQLITE_DONE) {
        int r = ocfl_err_set(err, -EIO, "staging index of '%s': %s", oid, sqlite3_errmsg(db));
        journal_unlock(j);
        return r;
    }
    journal_unlock(j);
    return 0;
}

int staging_note_head(struct journal *j, const char *oid, const char *digest, struct ocfl_err *err)
{
    return exec_locked(
        j, "INSERT OR REPLACE INTO temp.staging_heads (object_id, digest) VALUES (?1, ?2)", oid,
        digest, err);
}

int staging_set_base(struct journal *j, const char *oid, const char *digest, struct ocfl_err *err)
{
    return exec_locked(j, "UPDATE staged_objects SET base_digest=?2 WHERE object_id=?1", oid,
                       digest, err);
}

int staging_base_locked(struct journal *j, const char *oid, char digest[OCFL_DIGEST_HEX_MAX],
                        struct ocfl_err *err)
{
    sqlite3 *db = journal_sqlite(j);
    sqlite3_stmt *st;
    int rc, r = 0;

    digest[0] = '\0';
    rc = sqlite3_prepare_v2(db, "SELECT base_digest FROM staged_objects WHERE object_id=?1", -1,
                            &st, NULL);
    if (rc != SQLITE_OK)
        return ocfl_err_set(err, -EIO, "staging index of '%s': %s", oid, sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_text(st, 0)) {
        const char *d = (const char *)sqlite3_column_text(st, 0);
        if (strlen(d) < OCFL_DIGEST_HEX_MAX) {
            memcpy(digest, d, strlen(d) + 1);
            r = 1;
        }
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        r = ocfl_err_set(err, -EIO, "staging index of '%s': %s", oid, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    return r;
}

int staging_base(struct journal *j, const char *oid, char digest[OCFL_DIGEST_HEX_MAX],
                 struct ocfl_err *err)
{
    int r;

    journal_lock(j);
    r = staging_base_locked(j, oid, digest, err);
    journal_unlock(j);
    return r;
}
