/* step_lookup.c: where a plan's content step put a staged file (for readers racing a commit). */
#include "journal_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int journal_step_moved_to(struct journal *j, int64_t plan_id, const char *source,
                          char **ret_object_path, char **ret_dest, struct ocfl_err *err)
{
    static const char sql[] =
        "SELECT p.object_path, s.dest FROM steps s JOIN plans p ON p.id = s.plan_id"
        " WHERE s.plan_id = ?1 AND s.source = ?2 AND s.kind = 'content' LIMIT 1";
    sqlite3_stmt *st = NULL;
    int rc, r = -ENOENT;

    *ret_object_path = *ret_dest = NULL;
    pthread_mutex_lock(&j->mu);
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, plan_id);
        sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_text(st, 0) && sqlite3_column_text(st, 1)) {
            *ret_object_path = strdup((const char *)sqlite3_column_text(st, 0));
            *ret_dest = strdup((const char *)sqlite3_column_text(st, 1));
            r = *ret_object_path && *ret_dest ? 0 : -ENOMEM;
        }
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->mu);
    if (rc != SQLITE_OK)
        r = jdb_fail(j->db, rc, "cannot look up a plan's step", err);
    else if (r == -ENOMEM)
        ocfl_err_set(err, r, "out of memory");
    if (r < 0) {
        free(*ret_object_path);
        free(*ret_dest);
        *ret_object_path = *ret_dest = NULL;
    }
    return r;
}
