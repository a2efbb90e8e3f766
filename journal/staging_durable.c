/* staging_durable.c: what the staging index may claim after a power loss: the bytes of each
 * scratch file proven on disk, the check of every scratch file at mount, damage, the clean
 * unmount, and scratch files whose deletion waits for the index. */
#include "journal_int.h"
#include "staging_int.h"

#include "io.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <sys/statvfs.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The rule: a staged file's recorded size and digest describe bytes that were in the page
 * cache when the row was written, and rows reach the disk whenever any later commit fsyncs
 * the WAL: nothing orders them after the scratch data.  So after an unclean stop only two
 * things in a row are trusted: synced_size, written in the same FULL transaction that
 * followed an fdatasync of those bytes (or a copy-up's), and the row's existence.  Sizes and
 * digests are taken again from the scratch files; a file shorter than its synced_size lost
 * acknowledged bytes and is marked damaged.  After a clean unmount (every scratch file
 * fsynced, then the flag "clean" set) a file whose size still matches keeps its digest.
 */

#define GRAVEYARD_MAX 1024 /* scratch files waiting for a WAL sync before they go */

int sx_sync_wal(struct journal *j, struct ocfl_err *err)
{
    sqlite3 *db = journal_sqlite(j);
    int r = 0;

    /* one FULL commit that changes a page fsyncs the WAL, and with it the frames of the
     * NORMAL commits before it (fsync covers the whole file) */
    journal_lock(j);
    if (sqlite3_exec(db,
                     "BEGIN IMMEDIATE; INSERT INTO staging_seq DEFAULT VALUES;"
                     " DELETE FROM staging_seq; COMMIT",
                     NULL, NULL, NULL) != SQLITE_OK) {
        r = ocfl_err_set(err, -EIO, "staging: cannot flush the index: %s", sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    journal_unlock(j);
    return r < 0 ? r : sx_graveyard_flush(j, 1);
}

int sx_graveyard_flush(struct journal *j, int synced)
{
    char **v;
    size_t n;
    int r = 0;

    if (!synced && (r = sx_sync_wal(j, NULL)) < 0)
        return r; /* sx_sync_wal flushes the graveyard itself */
    journal_lock(j);
    v = j->graveyard;
    n = j->n_graveyard;
    j->graveyard = NULL;
    j->n_graveyard = 0;
    journal_unlock(j);
    for (size_t i = 0; i < n; i++) {
        unlinkat(j->state_fd, v[i], 0);
        free(v[i]);
    }
    free(v);
    return 0;
}

/* Whether the state directory's file system is nearly full: then a removed file's room is
 * wanted now, worth a WAL sync (less than 64 MiB free: an absolute figure, so that a large
 * volume with room to spare does not sync on every removal). */
static int space_low(struct journal *j)
{
    struct statvfs sv;

    if (fstatvfs(j->state_fd, &sv) < 0)
        return 0;
    return (uint64_t)sv.f_bavail * sv.f_frsize < (64ull << 20);
}

int sx_graveyard_add(struct journal *j, char *scratch)
{
    char **v = realloc(j->graveyard, (j->n_graveyard + 1) * sizeof(*v));

    if (!v) {
        /* keeping the file is safe (an orphan); deleting it now might not be */
        free(scratch);
        return 0;
    }
    j->graveyard = v;
    v[j->n_graveyard++] = scratch;
    return j->n_graveyard >= GRAVEYARD_MAX || space_low(j);
}

int sx_scratch_synced(struct sctx *c, const char *scratch)
{
    sqlite3_stmt *st;
    int synced = 1; /* when in doubt, wait for the WAL */

    if (sx_prepare(c->db, "SELECT max(synced_size) FROM staged WHERE scratch=?", -1, &st, NULL) !=
        SQLITE_OK)
        return 1;
    sqlite3_bind_text(st, 1, scratch, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        synced = sqlite3_column_int64(st, 0) > 0;
    sx_finalize(st);
    return synced;
}

int sx_sync_entry(struct journal *j, const char *scratch, struct ocfl_err *err)
{
    const char *slash = strrchr(scratch, '/');
    char dir[64];
    int r = 0;

    if (slash && (size_t)(slash - scratch) < sizeof(dir)) {
        memcpy(dir, scratch, (size_t)(slash - scratch));
        dir[slash - scratch] = 0;
        if (strcmp(dir, "scratch"))
            r = ocfl_io_fsync_dir(j->state_fd, dir, err);
    }
    return r < 0 ? r : ocfl_io_fsync_dir(j->state_fd, "scratch", err);
}

int sx_sync_scratch_fd(struct journal *j, int fd, const char *scratch, int64_t *ret_size,
                       struct ocfl_err *err)
{
    struct stat st;

    /* bytes below the size seen before the flush are on disk once it returns */
    if (fstat(fd, &st) < 0)
        return ocfl_err_sys(err, -errno, "cannot stat '%s/%s'", j->state_dir, scratch);
    if (fdatasync(fd) < 0)
        return ocfl_err_sys(err, -errno, "cannot flush '%s/%s'", j->state_dir, scratch);
    *ret_size = st.st_size;
    return sx_sync_entry(j, scratch, err);
}

int staging_sync_scratch(struct journal *j, const char *scratch, int64_t synced_size,
                         struct ocfl_err *err)
{
    sqlite3 *db = journal_sqlite(j);
    sqlite3_stmt *st;
    int r, rc;

    if (!sx_scratch_name_ok(scratch))
        return ocfl_err_set(err, -EINVAL, "'%s' is not a scratch file", scratch);
    r = sx_sync_entry(j, scratch, err);
    if (r < 0)
        return r;
    journal_lock(j);
    /* a FULL transaction: the row is durable only after the bytes it vouches for */
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "UPDATE staged SET synced_size=?2 WHERE scratch=?1", -1, &st,
                                NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, scratch, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, synced_size);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
    }
    /* a change of a page, so that the commit fsyncs the WAL even when no row matched */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db,
                          "INSERT INTO staging_seq DEFAULT VALUES; DELETE FROM staging_seq;"
                          " COMMIT",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        r = ocfl_err_set(err, -EIO, "staging: cannot record that '%s' is durable: %s", scratch,
                         sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    journal_unlock(j);
    return r < 0 ? r : sx_graveyard_flush(j, 1);
}

int sx_lower_synced(struct sctx *c, const char *scratch, int64_t size)
{
    sqlite3_stmt *st;
    int rc =
        sx_prepare(c->db, "UPDATE staged SET synced_size=?2 WHERE scratch=?1 AND synced_size>?2",
                   -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot record a size");
    sqlite3_bind_text(st, 1, scratch, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, size);
    rc = sqlite3_step(st);
    sx_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot record a size");
}

int staging_lower_synced(struct journal *j, const char *scratch, int64_t size, struct ocfl_err *err)
{
    sqlite3_stmt *st;
    int rc, changed = 0;

    journal_lock(j);
    rc = sqlite3_prepare_v2(j->db, "SELECT 1 FROM staged WHERE scratch=?1 AND synced_size>?2", -1,
                            &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, scratch, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, size);
        changed = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    /* a FULL transaction: durable before the file shrinks */
    if (rc == SQLITE_OK && changed)
        rc = sqlite3_prepare_v2(j->db,
                                "UPDATE staged SET synced_size=?2 WHERE scratch=?1 AND"
                                " synced_size>?2",
                                -1, &st, NULL);
    if (rc == SQLITE_OK && changed) {
        sqlite3_bind_text(st, 1, scratch, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, size);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
    }
    journal_unlock(j);
    return rc == SQLITE_OK ? 0
                           : ocfl_err_set(err, -EIO, "staging: cannot record a size: %s",
                                          sqlite3_errmsg(j->db));
}

int staging_mark_damaged(struct journal *j, const char *scratch, const char *why,
                         struct ocfl_err *err)
{
    sqlite3_stmt *st;
    int rc;

    journal_lock(j);
    rc = sqlite3_prepare_v2(j->db, "UPDATE staged SET damaged=?2 WHERE scratch=?1", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, scratch, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, why, -1, SQLITE_STATIC);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(st);
    }
    journal_unlock(j);
    return rc == SQLITE_OK ? 0
                           : ocfl_err_set(err, -EIO, "staging: cannot mark '%s' damaged: %s",
                                          scratch, sqlite3_errmsg(j->db));
}

/* ---- the check at mount */

static int flag_get(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st;
    int on = 0;

    if (sqlite3_prepare_v2(db, "SELECT 1 FROM journal_flags WHERE name=?", -1, &st, NULL) !=
        SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    on = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return on;
}

/* A row's scratch file as found on disk. */
struct found {
    char *oid, *path, *scratch;
    int64_t size, synced, disk; /* disk -1: missing */
};

static void found_free(struct found *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(f[i].oid);
        free(f[i].path);
        free(f[i].scratch);
    }
    free(f);
}

/* Every scratch row of a generation that is not frozen, undamaged yet, with its file stat'ed. */
static int collect(struct journal *j, struct found **ret, size_t *ret_n, struct ocfl_err *err)
{
    sqlite3_stmt *st;
    struct found *v = NULL;
    size_t n = 0, alloc = 0;
    int rc, r = 0;

    journal_lock(j);
    rc = sqlite3_prepare_v2(j->db,
                            "SELECT s.object_id, s.path, s.scratch, s.size, s.synced_size"
                            " FROM staged s JOIN staged_objects o"
                            " ON o.object_id=s.object_id WHERE s.scratch IS NOT NULL AND"
                            " s.damaged IS NULL AND (o.frozen_gen IS NULL OR s.gen>o.frozen_gen)"
                            /* a frozen file (shared by a later row's chmod) is the plan's */
                            " AND NOT EXISTS (SELECT 1 FROM staged f WHERE f.object_id="
                            "s.object_id AND f.scratch=s.scratch AND f.gen<=o.frozen_gen)",
                            -1, &st, NULL);
    while (rc == SQLITE_OK && r == 0 && sqlite3_step(st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 2);
        struct stat sb;
        if (!s || !sx_scratch_name_ok(s))
            continue; /* never followed (row_query refuses it too) */
        if (n == alloc) {
            struct found *g = realloc(v, (alloc = alloc ? 2 * alloc : 64) * sizeof(*g));
            if (!g) {
                r = -ENOMEM;
                break;
            }
            v = g;
        }
        struct found *f = &v[n];
        memset(f, 0, sizeof(*f));
        f->oid = strdup((const char *)sqlite3_column_text(st, 0));
        f->path = strdup((const char *)sqlite3_column_text(st, 1));
        f->scratch = strdup(s);
        n++;
        if (!f->oid || !f->path || !f->scratch) {
            r = -ENOMEM;
            break;
        }
        f->size = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 3);
        f->synced = sqlite3_column_int64(st, 4);
        if (fstatat(j->state_fd, s, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            f->disk = S_ISREG(sb.st_mode) ? sb.st_size : -1; /* else: no staged data there */
        else if (errno == ENOENT)
            f->disk = -1;
        else
            r = ocfl_err_sys(err, -errno, "cannot stat '%s/%s'", j->state_dir, s);
    }
    if (rc == SQLITE_OK)
        sqlite3_finalize(st);
    else
        r = ocfl_err_set(err, -EIO, "staging: cannot read the index: %s", sqlite3_errmsg(j->db));
    journal_unlock(j);
    if (r == -ENOMEM)
        ocfl_err_set(err, r, "out of memory");
    if (r < 0) {
        found_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* An empty scratch file for a row whose file a crash took before it was ever fsynced. */
static void recreate(struct journal *j, const char *s)
{
    int fd = openat(j->state_fd, s, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    const char *slash = strrchr(s, '/');

    if (fd < 0 && errno == ENOENT && slash && slash - s < 64) {
        char dir[64]; /* its directory went too (scratch/sK/fN) */
        memcpy(dir, s, (size_t)(slash - s));
        dir[slash - s] = 0;
        if (mkdirat(j->state_fd, dir, 0700) == 0 || errno == EEXIST)
            fd = openat(j->state_fd, s, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    }
    if (fd >= 0)
        close(fd);
}

static int apply(struct journal *j, const struct found *f, size_t n, int clean, int *ret_damaged,
                 struct ocfl_err *err)
{
    sqlite3_stmt *fix = NULL, *bad = NULL;
    int rc, r = 0, damaged = 0;

    journal_lock(j);
    rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(j->db, "UPDATE staged SET size=?2, digest=NULL WHERE scratch=?1",
                                -1, &fix, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(j->db, "UPDATE staged SET damaged=?2 WHERE scratch=?1", -1, &bad,
                                NULL);
    for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
        char why[160];
        if (f[i].synced > 0 && f[i].disk < f[i].synced) {
            if (f[i].disk < 0)
                snprintf(why, sizeof(why),
                         "its staged data '%s' is missing (%lld bytes were acknowledged)",
                         f[i].scratch, (long long)f[i].synced);
            else
                snprintf(why, sizeof(why),
                         "its staged data '%s' holds %lld bytes, %lld were acknowledged",
                         f[i].scratch, (long long)f[i].disk, (long long)f[i].synced);
            sqlite3_reset(bad);
            sqlite3_bind_text(bad, 1, f[i].scratch, -1, SQLITE_STATIC);
            sqlite3_bind_text(bad, 2, why, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(bad) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
            damaged++;
            continue;
        }
        if (f[i].disk < 0)
            recreate(j, f[i].scratch); /* never acknowledged: an empty file, as made */
        int64_t disk = f[i].disk < 0 ? 0 : f[i].disk;
        if (clean && disk == f[i].size)
            continue; /* flushed at the clean unmount: size and digest hold */
        sqlite3_reset(fix);
        sqlite3_bind_text(fix, 1, f[i].scratch, -1, SQLITE_STATIC);
        sqlite3_bind_int64(fix, 2, disk);
        rc = sqlite3_step(fix) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
    }
    sqlite3_finalize(fix);
    sqlite3_finalize(bad);
    /* FULL: the damage found is not found again differently after another cut */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(j->db, "DELETE FROM journal_flags WHERE name='clean'; COMMIT", NULL, NULL,
                          NULL);
    if (rc != SQLITE_OK) {
        r = ocfl_err_set(err, -EIO, "staging: cannot check the scratch files: %s",
                         sqlite3_errmsg(j->db));
        if (!sqlite3_get_autocommit(j->db))
            sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    }
    journal_unlock(j);
    *ret_damaged = damaged;
    return r;
}

int sx_verify_scratch(struct journal *j, struct ocfl_err *err)
{
    struct found *f = NULL;
    size_t n = 0;
    int clean, damaged = 0, r;

    journal_lock(j);
    clean = flag_get(j->db, "clean");
    journal_unlock(j);
    r = collect(j, &f, &n, err);
    if (r == 0)
        r = apply(j, f, n, clean, &damaged, err);
    found_free(f, n);
    return r < 0 ? r : damaged;
}

int staging_damaged(struct journal *j, const char *oid, int64_t max_gen, char **ret,
                    struct ocfl_err *err)
{
    sqlite3_stmt *st;
    char *text = NULL;
    size_t len = 0;
    int n = 0, rc;
    FILE *out;

    *ret = NULL;
    if (!(out = open_memstream(&text, &len)))
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    journal_lock(j);
    rc = sqlite3_prepare_v2(j->db,
                            "SELECT path, damaged FROM staged s WHERE object_id=?1 AND"
                            " (?2=0 OR gen<=?2) AND damaged IS NOT NULL AND gen=(SELECT max(gen)"
                            " FROM staged t WHERE t.object_id=?1 AND t.path=s.path AND"
                            " (?2=0 OR t.gen<=?2)) ORDER BY path",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, oid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, max_gen);
        while (sqlite3_step(st) == SQLITE_ROW)
            fprintf(out, "%s'%s' (%s)", n++ ? "; " : "", sqlite3_column_text(st, 0),
                    sqlite3_column_text(st, 1));
        sqlite3_finalize(st);
    }
    journal_unlock(j);
    fclose(out);
    if (rc != SQLITE_OK) {
        free(text);
        return ocfl_err_set(err, -EIO, "staging: cannot read the index: %s", sqlite3_errmsg(j->db));
    }
    if (n)
        *ret = text;
    else
        free(text);
    return n;
}

/* ---- the clean unmount */

int staging_close_clean(struct journal *j, struct ocfl_err *err)
{
    struct found *f = NULL;
    size_t n = 0;
    int r = collect(j, &f, &n, err);

    /* every scratch file the index names is flushed, its size noted as acknowledged */
    for (size_t i = 0; r == 0 && i < n; i++) {
        int fd;
        if (f[i].disk < 0)
            continue;
        fd = openat(j->state_fd, f[i].scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fdatasync(fd) < 0)
            r = ocfl_err_sys(err, -errno, "cannot flush '%s/%s'", j->state_dir, f[i].scratch);
        if (fd >= 0)
            close(fd);
    }
    if (r == 0)
        r = sx_sync_scratch_dirs(j, err);
    if (r == 0) {
        sqlite3_stmt *st = NULL;
        int rc;
        journal_lock(j);
        rc = sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_prepare_v2(j->db,
                                    "UPDATE staged SET synced_size=?2, size=?2, digest=CASE"
                                    " WHEN size=?2 THEN digest END WHERE scratch=?1",
                                    -1, &st, NULL);
        for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
            if (f[i].disk < 0)
                continue;
            sqlite3_reset(st);
            sqlite3_bind_text(st, 1, f[i].scratch, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, f[i].disk);
            rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(j->db, "INSERT OR IGNORE INTO journal_flags VALUES ('clean'); COMMIT",
                              NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            r = ocfl_err_set(err, -EIO, "staging: cannot record a clean unmount: %s",
                             sqlite3_errmsg(j->db));
            if (!sqlite3_get_autocommit(j->db))
                sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        }
        journal_unlock(j);
    }
    found_free(f, n);
    if (r == 0)
        r = sx_graveyard_flush(j, 1);
    return r;
}
