/* staging_write.c: staged file data: create, copy-up into scratch, sizes, digests, attributes. */
#include "staging_int.h"
#include "journal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Scratch files go 4,096 to a directory, scratch/sK/fN with K = N / 4096.  scratch/ is the
 * top of a directory hierarchy (journal.c), so ext4 places each new sK, and the inodes of
 * its files, in a block group of its own choosing: files created right after many others
 * were deleted (a discard, an rm -rf through the mount) do not queue behind the inodes
 * those left, which ext4 without a journal will not reuse for 30 s and skips one by one.
 */
#define SCRATCH_PER_DIR_SHIFT 12

/* Scratch numbers are reserved this many at a time: staging_seq (AUTOINCREMENT) is told the
 * last of them, so no one (this process after a restart, another process) gets them again,
 * and the files between take no statement and no page of the index.  A restart skips what
 * was left. */
#define SCRATCH_SEQ_BLOCK 1024

/* A scratch number never handed out before (in @c's transaction).  0, or -errno. */
static int next_seq(struct sctx *c, int64_t *ret)
{
    struct journal *j = c->j;
    sqlite3_stmt *st;
    int64_t first;
    int rc;

    if (c->own_tx && j->seq_next > 0 && j->seq_next < j->seq_end) {
        *ret = j->seq_next++;
        return 0;
    }
    if (sx_exec(c->db, "INSERT INTO staging_seq DEFAULT VALUES") != SQLITE_OK)
        return sx_sql_fail(c, SQLITE_ERROR, "cannot number a scratch file");
    first = sqlite3_last_insert_rowid(c->db);
    if (!c->own_tx) { /* in a caller's transaction, whose end this file does not see */
        sx_exec(c->db, "DELETE FROM staging_seq");
        *ret = first;
        return 0;
    }
    rc = sx_prepare(c->db, "INSERT INTO staging_seq (id) VALUES (?)", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sx_sql_fail(c, rc, "cannot number a scratch file");
    sqlite3_bind_int64(st, 1, first + SCRATCH_SEQ_BLOCK - 1);
    rc = sqlite3_step(st);
    sx_finalize(st);
    if (rc != SQLITE_DONE)
        return sx_sql_fail(c, rc, "cannot number a scratch file");
    sx_exec(c->db, "DELETE FROM staging_seq");
    c->seq_reserved = 1; /* sx_end forgets the block if this transaction rolls back */
    j->seq_next = first + 1;
    j->seq_end = first + SCRATCH_SEQ_BLOCK;
    *ret = first;
    return 0;
}

int sx_new_scratch(struct sctx *c, char name[64])
{
    int64_t seq = 0;
    int fd, n;

    if ((n = next_seq(c, &seq)) < 0)
        return n;
    n = snprintf(name, 64, "scratch/s%lld/f%lld", (long long)(seq >> SCRATCH_PER_DIR_SHIFT),
                 (long long)seq);
    if (n < 0 || n >= 64)
        return ocfl_err_set(c->err, -ENAMETOOLONG, "scratch name too long");
    for (int tries = 0;; tries++) {
        fd = openat(journal_state_fd(c->j), name,
                    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 || errno != ENOENT || tries)
            break;
        /* the first file of its directory: make it (made durable by the next sync) */
        char *slash = strrchr(name, '/');
        *slash = 0;
        int m = mkdirat(journal_state_fd(c->j), name, 0700);
        *slash = '/';
        if (m < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0)
        return ocfl_err_sys(c->err, -errno, "cannot create '%s/%s'", journal_state_dir(c->j), name);
    return fd;
}

static int64_t now_ns(struct sctx *c)
{
    return (int64_t)journal_now_ns(c->j);
}

/*
 * End a change that wrote @row with a new scratch file @fd (or -1): commit when @r >= 0 and
 * hand the entry and the descriptor over (*ret_fd, else closed); else, or when the commit
 * fails, the scratch file goes.  Returns 0 or the error.
 */
static int finish_scratch_row(struct sctx *c, int r, struct srow *row, int fd,
                              struct staging_entry *ret, int *ret_fd)
{
    if (r >= 0) {
        row->gen = c->gen;
        if (ret)
            sx_entry_from_row(c, row, ret);
    }
    r = sx_end(c, r < 0 ? r : 0);
    if (r < 0) {
        if (fd >= 0) {
            close(fd);
            unlinkat(journal_state_fd(c->j), row->scratch, 0);
        }
        return r;
    }
    if (ret_fd)
        *ret_fd = fd;
    else if (fd >= 0)
        close(fd);
    return 0;
}

int staging_create(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *path, uint32_t mode, int64_t uid, int64_t gid, int *ret_fd,
                   struct staging_entry *ret, struct ocfl_err *err)
{
    struct srow row = {.kind = ROW_FILE, .size = 0};
    struct sctx c;
    int r = sx_check_path(path, err), fd = -1;

    if (r < 0)
        return r;
    if (!*path)
        return ocfl_err_set(err, -EEXIST, "the object's top directory exists");
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = sx_check_new(&c, path);
    if (r == 0)
        r = fd = sx_new_scratch(&c, row.scratch);
    if (r >= 0) {
        row.mode = (mode & 07777) | STAGING_MODE_SET;
        row.mtime_ns = row.atime_ns = row.ctime_ns = now_ns(&c);
        row.owner = uid >= 0 ? uid + 1 : 0;
        row.grp = gid >= 0 ? gid + 1 : 0;
        r = sx_row_put(&c, path, &row);
    }
    if (r >= 0) {
        int t = sx_touch_parent(&c, path);
        r = t < 0 ? t : r;
    }
    return finish_scratch_row(&c, r, &row, fd, ret, ret_fd);
}

/* Copy bytes [@off, @end) of @in to the same offsets of @out: copy_file_range, else
 * read/write.  0, or -errno; a source that shrank ends the copy early. */
static int copy_range(int in, int out, off_t off, off_t end)
{
    off_t off_in = off, off_out = off;
    char buf[65536];

    while (off_in < end) {
        ssize_t n = copy_file_range(in, &off_in, out, &off_out, (size_t)(end - off_in), 0);
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP))
            break;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0; /* the source shrank */
    }
    while (off_in < end) {
        size_t want = (size_t)(end - off_in) < sizeof(buf) ? (size_t)(end - off_in) : sizeof(buf);
        ssize_t n = pread(in, buf, want, off_in);
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = pwrite(out, buf + done, (size_t)(n - done), off_out);
            if (w < 0)
                return -errno;
            done += w;
            off_out += w;
        }
        off_in += n;
    }
    return 0;
}

/* (staging_int.h) */
int sx_copy_fd(int in, int out, int64_t limit)
{
    struct stat st;
    off_t off = 0, end;
    int r;

    if (fstat(in, &st) < 0)
        return -errno;
    end = limit >= 0 && limit < st.st_size ? (off_t)limit : st.st_size;
    if (end == st.st_size && ioctl(out, FICLONE, in) == 0)
        return 0;
    while (off < end) {
        off_t data = lseek(in, off, SEEK_DATA), hole;
        if (data < 0 && errno == ENXIO)
            break;    /* a hole to the end */
        if (data < 0) /* no SEEK_DATA here: all of it is data */
            data = off, hole = end;
        else if (data >= end)
            break;
        else if ((hole = lseek(in, data, SEEK_HOLE)) < 0 || hole > end)
            hole = end;
        if ((r = copy_range(in, out, data, hole)) < 0)
            return r;
        off = hole;
    }
    return ftruncate(out, end) < 0 ? -errno : 0;
}

int staging_private_copy(struct journal *j, int src_fd, int *ret_fd, struct ocfl_err *err)
{
    static unsigned seq;
    int fd = openat(journal_state_fd(j), "scratch", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    int r;

    /* a file system without O_TMPFILE (a FUSE one): a name, gone at once */
    for (int tries = 0;
         fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EEXIST) && tries < 100;
         tries++) {
        char name[64];
        snprintf(name, sizeof(name), "scratch/private-%ld-%u", (long)getpid(),
                 __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
        fd = openat(journal_state_fd(j), name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
            unlinkat(journal_state_fd(j), name, 0);
    }
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot make a private copy in the state directory");
    if ((r = sx_copy_fd(src_fd, fd, -1)) < 0) {
        close(fd);
        return ocfl_err_sys(err, r, "cannot copy an unlinked file's bytes");
    }
    *ret_fd = fd;
    return 0;
}

int staging_copy_up(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                    const char *path, const struct staging_source *src, int *ret_fd,
                    struct staging_entry *ret, struct ocfl_err *err)
{
    int src_fd = src->fd;
    int64_t truncate_to = src->truncate_to;
    struct staging_entry e;
    struct srow row = {.kind = ROW_FILE};
    struct stat st;
    struct sctx c;
    int r = sx_check_path(path, err), fd = -1;

    if (r < 0)
        return r;
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    r = sx_lookup(&c, path, &e);
    if (r == 0 && e.kind == STAGING_NONE)
        r = ocfl_err_set(err, -ENOENT, "'%s' does not exist", path);
    else if (r == 0 && e.kind == STAGING_DIR)
        r = ocfl_err_set(err, -EISDIR, "'%s' is a directory", path);
    if (r == 0)
        r = fd = sx_new_scratch(&c, row.scratch);
    if (r >= 0 && truncate_to != 0) {
        r = sx_copy_fd(src_fd, fd, truncate_to);
        if (r < 0)
            ocfl_err_sys(err, r, "cannot copy '%s' into '%s'", path, row.scratch);
    }
    if (r >= 0 && truncate_to > 0 && ftruncate(fd, truncate_to) < 0)
        r = ocfl_err_sys(err, -errno, "cannot truncate '%s'", row.scratch);
    if (r >= 0 && fstat(fd, &st) < 0)
        r = ocfl_err_sys(err, -errno, "cannot stat '%s'", row.scratch);
    /* The copy holds bytes the user has (committed, or acknowledged before a commit froze
     * them): on disk before the row can be, or a power loss leaves a row over a short file. */
    if (r >= 0 && st.st_size > 0)
        r = sx_sync_scratch_fd(j, fd, row.scratch, &row.synced_size, err);
    if (r >= 0) {
        row.size = st.st_size;
        /* the digest stays valid when nothing was cut */
        if (truncate_to < 0 || (e.size >= 0 && truncate_to == e.size))
            memcpy(row.digest, e.digest, sizeof(row.digest));
        row.mode = e.mode;
        row.mtime_ns = e.mtime_ns;
        row.atime_ns = e.atime_ns;
        row.ctime_ns = truncate_to >= 0 ? now_ns(&c) : e.ctime_ns; /* O_TRUNC changes it */
        row.owner = e.uid + 1;
        row.grp = e.gid + 1;
        r = sx_row_put(&c, path, &row);
    }
    return finish_scratch_row(&c, r, &row, fd, ret, ret_fd);
}

/* The current generation's writable row at @path (-ENOENT, -EROFS when frozen or not scratch). */
static int writable_row(struct sctx *c, const char *path, struct srow *row)
{
    int r = sx_row_top(c, path, row);

    if (r < 0)
        return r;
    if (r == 0 || row->kind == ROW_WHITEOUT)
        return ocfl_err_set(c->err, -ENOENT, "'%s' is not staged", path);
    if (row->kind != ROW_FILE || !row->scratch[0] || row->gen != c->gen)
        return ocfl_err_set(c->err, -EROFS, "'%s' is not a writable staged file", path);
    return 0;
}

int staging_set_written(struct journal *j, const char *oid, const char *path, int64_t size,
                        int64_t mtime_ns, const char *digest, struct ocfl_err *err)
{
    struct srow row;
    struct sctx c;
    int r = sx_check_path(path, err);

    if (r < 0)
        return r;
    r = sx_begin(&c, j, oid, NULL, err);
    if (r < 0)
        return r;
    r = writable_row(&c, path, &row);
    if (r == 0) {
        if (size >= 0)
            row.size = size;
        if (mtime_ns > 0)
            row.mtime_ns = row.ctime_ns = mtime_ns;
        snprintf(row.digest, sizeof(row.digest), "%s", digest ? digest : "");
        r = sx_row_put(&c, path, &row);
    }
    return sx_end(&c, r);
}

int staging_sync(struct journal *j, const char *oid, const char *path, struct ocfl_err *err)
{
    struct staging_entry e;
    int r = staging_lookup(j, oid, NULL, path, &e, err);

    if (r < 0)
        return r;
    if (!e.staged)
        return 0; /* committed content: durable already */
    if (e.scratch[0] && (r = sx_sync_entry(j, e.scratch, err)) < 0)
        return r;
    return sx_sync_wal(j, err);
}

int staging_sync_all(struct journal *j, struct ocfl_err *err)
{
    int r = sx_sync_scratch_dirs(j, err);

    return r < 0 ? r : sx_sync_wal(j, err);
}

int staging_truncate(struct journal *j, const char *oid, const char *path, int64_t size,
                     struct ocfl_err *err)
{
    struct srow row;
    struct sctx c;
    int r = sx_check_path(path, err);

    if (r < 0)
        return r;
    if (size < 0)
        return ocfl_err_set(err, -EINVAL, "negative size for '%s'", path);
    r = sx_begin(&c, j, oid, NULL, err);
    if (r < 0)
        return r;
    r = writable_row(&c, path, &row);
    if (r == 0 && size < row.synced_size) {
        /* fewer bytes acknowledged, durably, before the file shrinks: else a power loss
         * could keep the cut and lose this row, and the file would look damaged */
        r = sx_end(&c, sx_lower_synced(&c, row.scratch, size));
        if (r == 0)
            r = sx_sync_wal(j, err);
        if (r == 0)
            r = sx_begin(&c, j, oid, NULL, err);
        if (r < 0)
            return r;
        r = writable_row(&c, path, &row);
    }
    if (r == 0) {
        int fd = openat(journal_state_fd(j), row.scratch, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || ftruncate(fd, size) < 0)
            r = ocfl_err_sys(err, -errno, "cannot truncate '%s'", path);
        if (fd >= 0)
            close(fd);
    }
    if (r == 0) {
        row.size = size;
        row.digest[0] = 0;
        row.mtime_ns = row.ctime_ns = now_ns(&c);
        r = sx_row_put(&c, path, &row);
    }
    return sx_end(&c, r);
}

int staging_set_attr(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                     const char *path, int64_t mode, int64_t atime_ns, int64_t mtime_ns,
                     int64_t uid, int64_t gid, struct ocfl_err *err)
{
    struct staging_entry e;
    struct srow row = {.size = -1};
    struct sctx c;
    int r = sx_check_path(path, err);

    if (r < 0)
        return r;
    r = sx_begin(&c, j, oid, inv, err);
    if (r < 0)
        return r;
    if (!*path) /* the object's top has no row: its attributes are kept at once */
        return sx_end(&c, sx_kept_put_top(&c, mode >= 0 ? (mode & 07777) | STAGING_MODE_SET : -1,
                                          atime_ns, mtime_ns, now_ns(&c), uid, gid));
    r = sx_lookup(&c, path, &e);
    if (r == 0 && e.kind == STAGING_NONE)
        r = ocfl_err_set(err, -ENOENT, "'%s' does not exist", path);
    if (r == 0) {
        row.kind = e.kind == STAGING_DIR ? ROW_DIR : ROW_FILE;
        memcpy(row.digest, e.digest, sizeof(row.digest));
        row.size = e.size;
        row.mode = mode >= 0 ? (uint32_t)(mode & 07777) | STAGING_MODE_SET : e.mode;
        row.mtime_ns = mtime_ns >= 0 ? mtime_ns : e.mtime_ns;
        row.atime_ns = atime_ns >= 0 ? atime_ns : e.atime_ns;
        row.ctime_ns = now_ns(&c);
        row.owner = (uid >= 0 ? uid : e.uid) + 1;
        row.grp = (gid >= 0 ? gid : e.gid) + 1;
        /* A frozen scratch file stays the plan's: the new row shares it until copy-up. */
        if (e.staged && e.scratch[0] && !e.frozen) {
            memcpy(row.scratch, e.scratch, sizeof(row.scratch));
            row.synced_size = e.synced_size;
            memcpy(row.damaged, e.damaged, sizeof(row.damaged));
        } else if (e.staged && e.scratch[0] && !e.digest[0])
            r = ocfl_err_set(err, -EBUSY, "'%s' is being committed", path);
        if (r == 0)
            r = sx_row_put(&c, path, &row);
    }
    return sx_end(&c, r);
}
