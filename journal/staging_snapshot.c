/* staging_snapshot.c: a commit of a file that a writer the mount cannot see may still write
 * (kernel passthrough): the version gets a copy, the file stays staged for the next one. */
#include "staging_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The path of the frozen row whose scratch file is @scratch: 1 found (*ret_path set), 0 none. */
static int frozen_path_of(struct sctx *c, const char *scratch, char **ret_path)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        c->db, "SELECT path FROM staged WHERE object_id=?1 AND gen=?2 AND scratch=?3 AND kind=?4",
        -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot read the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->frozen);
    sqlite3_bind_text(st, 3, scratch, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, ROW_FILE);
    rc = sqlite3_step(st);
    *ret_path = NULL;
    if (rc == SQLITE_ROW && !(*ret_path = strdup((const char *)sqlite3_column_text(st, 0))))
        rc = SQLITE_NOMEM;
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_NOMEM)
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot read the staging index");
}

/* The frozen row at @path takes scratch file @copy of @size bytes (digest to be made). */
static int point_frozen_at(struct sctx *c, const char *path, const char *copy, int64_t size)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db,
                                "UPDATE staged SET scratch=?4, digest=NULL, size=?5, synced_size=0"
                                " WHERE object_id=?1 AND gen=?2 AND path=?3",
                                -1, &st, NULL);

    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot update the staging index");
    sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, c->frozen);
    sqlite3_bind_text(st, 3, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, copy, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, size);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sx_sql_fail(c, rc, "cannot update the staging index");
}

int staging_scratch_written_elsewhere(struct journal *j, const char *scratch)
{
    int fd = openat(journal_state_fd(j), scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), r;

    if (fd < 0)
        return -errno;
    /* A read lease is granted only while no open file of the inode may write it: the
     * kernel's backing file of a passthrough open, the one a shared writable mapping keeps
     * after close(2), our own writable descriptors, anyone else's.  Released at once. */
    if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
        fcntl(fd, F_SETLEASE, F_UNLCK);
        r = 0;
    } else {
        r = 1; /* EAGAIN: open for writing; anything else (no leases here): cannot tell */
    }
    close(fd);
    return r;
}

int staging_leases_work(struct journal *j, struct ocfl_err *err)
{
    char name[64];
    int fd, r = 0;

    snprintf(name, sizeof(name), ".lease-probe-%ld", (long)getpid());
    fd =
        openat(journal_state_fd(j), name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot make a file in '%s'", journal_state_dir(j));
    close(fd);
    fd = openat(journal_state_fd(j), name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 || fcntl(fd, F_SETLEASE, F_RDLCK) < 0)
        r = ocfl_err_sys(err, -errno,
                         "the state directory '%s' gives no file leases (a network file "
                         "system, or /proc/sys/fs/leases-enable is 0)",
                         journal_state_dir(j));
    else
        fcntl(fd, F_SETLEASE, F_UNLCK);
    if (fd >= 0)
        close(fd);
    unlinkat(journal_state_fd(j), name, 0);
    return r;
}

int staging_snapshot_locked(struct journal *j, const char *oid, const char *scratch, char copy[64],
                            struct ocfl_err *err)
{
    struct srow row, live;
    struct stat st;
    struct sctx c;
    char *path = NULL;
    int in = -1, out = -1, r;

    copy[0] = 0;
    r = sx_attach(&c, j, oid, err);
    if (r == 0 && !c.frozen)
        r = ocfl_err_set(err, -EINVAL, "'%s' is not frozen", oid);
    if (r == 0)
        r = frozen_path_of(&c, scratch, &path);
    if (r == 0) /* the caller found it among them */
        r = ocfl_err_set(err, -EIO, "staging: no frozen row of '%s' names '%s'", oid, scratch);
    if (r < 0)
        return r;
    /* right after the freeze the new generation is empty: the top row is the frozen one */
    r = sx_row_top(&c, path, &row);
    if (r == 1 && (row.gen != c.frozen || strcmp(row.scratch, scratch)))
        r = ocfl_err_set(err, -EIO, "staging: '%s' of '%s' is not the frozen row", path, oid);
    else if (r == 0)
        r = ocfl_err_set(err, -EIO, "staging: no row at '%s' of '%s'", path, oid);
    if (r == 1) {
        r = 0;
        in = openat(journal_state_fd(j), scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (in < 0)
            r = ocfl_err_sys(err, -errno, "cannot open staged file '%s' of '%s'", scratch, path);
    }
    if (r == 0 && (out = sx_new_scratch(&c, copy)) < 0) {
        r = out;
        copy[0] = 0;
    }
    /* a writer only adds or overwrites bytes meanwhile (a truncation waits for the journal):
     * the copy holds each byte as it was at some moment of the copy */
    if (r == 0 && (r = sx_copy_fd(in, out, -1)) < 0)
        ocfl_err_sys(err, r, "cannot copy '%s' of '%s' into '%s'", scratch, path, copy);
    if (r == 0 && fstat(out, &st) < 0)
        r = ocfl_err_sys(err, -errno, "cannot stat '%s'", copy);
    /* the times the view shows come from the scratch file (sync_sources): the source's */
    struct stat src;
    if (r == 0 && fstat(in, &src) == 0) {
        struct timespec times[2] = {src.st_atim, src.st_mtim};
        futimens(out, times);
    }
    if (r == 0) {
        /* the live file, in the new generation: its acknowledged bytes stay its own */
        live = row;
        live.digest[0] = 0;
        live.size = -1;
        r = sx_row_put(&c, path, &live);
    }
    if (r == 0)
        r = point_frozen_at(&c, path, copy, (int64_t)st.st_size);
    if (in >= 0)
        close(in);
    if (out >= 0)
        close(out);
    if (r < 0 && copy[0]) {
        unlinkat(journal_state_fd(j), copy, 0);
        copy[0] = 0;
    }
    free(path);
    return r;
}
