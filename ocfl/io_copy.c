/* io_copy.c: durable copies of a file: reflink, copy_file_range, or read/write (written behind). */
#include "io.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (64ull * 1024 * 1024) /* progress granularity */
#define CFR_CHUNK  (8ull * 1024 * 1024)  /* one copy_file_range call */
#define RW_BUF     (1024 * 1024)

/* @n bytes were just written at @off: start their writeback now, so the disk
 * works while the copy goes on and the final fsync does not find the whole
 * file dirty.  Advisory: errors show up at the fsync.  (Also waiting for the
 * writeback of older ranges measured slower: it serializes the copy on the disk.) */
static void write_behind(int fd, uint64_t off, uint64_t n)
{
    sync_file_range(fd, (off_t)off, (off_t)n, SYNC_FILE_RANGE_WRITE);
}

/* Copy all of @in (from offset 0) to @out: reflink, copy_file_range, read/write. */
static int copy_bytes(int in, int out, const char *path, int (*progress)(void *ctx, uint64_t done),
                      void *ctx, struct ocfl_err *err)
{
    uint64_t done = 0, reported = 0;
    off_t off_in = 0;
    char *buf = NULL;
    int r = 0, use_cfr = 1;

    if (ioctl(out, FICLONE, in) == 0) {
        struct stat st;
        if (fstat(out, &st) < 0)
            return ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        if (progress && (r = progress(ctx, (uint64_t)st.st_size)) != 0)
            return ocfl_err_set(err, r < 0 ? r : -ECANCELED, "copy to '%s' cancelled", path);
        return 0;
    }
    for (;;) {
        ssize_t n = -1;
        if (use_cfr) {
            n = copy_file_range(in, &off_in, out, NULL, CFR_CHUNK, 0);
            if (n < 0 && done == 0 &&
                (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                 errno == EBADF)) {
                use_cfr = 0;
                continue;
            }
        } else {
            if (!buf && !(buf = malloc(RW_BUF)))
                return ocfl_err_set(err, -ENOMEM, "cannot copy to '%s': out of memory", path);
            n = pread(in, buf, RW_BUF, off_in);
            if (n > 0 && (r = io_write_all(out, buf, (size_t)n)) < 0) {
                ocfl_err_sys(err, r, "cannot write '%s'", path);
                break;
            }
            if (n > 0)
                off_in += n;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = ocfl_err_sys(err, -errno, "cannot copy to '%s'", path);
            break;
        }
        if (n == 0)
            break;
        write_behind(out, done, (uint64_t)n);
        done += (uint64_t)n;
        if (progress && done - reported >= COPY_CHUNK) {
            reported = done;
            if ((r = progress(ctx, done)) != 0) {
                r = ocfl_err_set(err, r < 0 ? r : -ECANCELED, "copy to '%s' cancelled", path);
                break;
            }
        }
    }
    free(buf);
    if (r == 0 && progress && reported != done && (r = progress(ctx, done)) != 0)
        r = ocfl_err_set(err, r < 0 ? r : -ECANCELED, "copy to '%s' cancelled", path);
    return r;
}

int ocfl_io_copy_fd_durable(int in_fd, int dirfd, const char *path,
                            int (*progress)(void *ctx, uint64_t done), void *ctx,
                            struct ocfl_err *err)
{
    char tmp[NAME_MAX + 1];
    const char *name;
    int pfd, fd, r;

    pfd = io_open_parent(dirfd, path, &name, err);
    if (pfd < 0)
        return pfd;
    if ((r = io_fault(OCFL_IO_OPEN, path)) < 0 || (fd = r = io_create_temp(pfd, name, tmp)) < 0) {
        ocfl_err_sys(err, r, "cannot create a temporary file for '%s'", path);
        goto out;
    }
    if ((r = io_fault(OCFL_IO_COPY, path)) < 0) {
        ocfl_err_sys(err, r, "cannot copy to '%s'", path);
    } else {
        r = copy_bytes(in_fd, fd, path, progress, ctx, err);
    }
    if (r < 0) {
        close(fd);
        unlinkat(pfd, tmp, 0);
        goto out;
    }
    r = io_commit_temp(pfd, fd, tmp, name, path, err);
out:
    close(pfd);
    return r;
}
