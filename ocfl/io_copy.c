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

#define SPARSE_MIN (1ull << 20) /* this much less in blocks than the size: the file has holes */

/*
 * Copy the data ranges of the sparse file @in (SEEK_DATA/SEEK_HOLE) to the same offsets of
 * @out and set its size: the holes stay holes (copy_file_range would fill them in).
 */
static int copy_sparse(int in, int out, off_t size, const char *path, struct ocfl_err *err)
{
    char *buf = malloc(RW_BUF);
    off_t off = 0;
    int r = 0;

    if (!buf)
        return ocfl_err_set(err, -ENOMEM, "cannot copy to '%s': out of memory", path);
    while (r == 0 && off < size) {
        off_t data = lseek(in, off, SEEK_DATA), hole;
        if (data < 0 && errno == ENXIO)
            break;
        if (data < 0 || (hole = lseek(in, data, SEEK_HOLE)) < 0) {
            r = ocfl_err_sys(err, -errno, "cannot read the data ranges of the copy to '%s'", path);
            break;
        }
        if (hole > size)
            hole = size;
        for (off_t o = data; r == 0 && o < hole;) {
            size_t want = (size_t)(hole - o) < RW_BUF ? (size_t)(hole - o) : RW_BUF;
            ssize_t n = pread(in, buf, want, o);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                r = ocfl_err_sys(err, n < 0 ? -errno : -EIO, "cannot copy to '%s'", path);
                break;
            }
            for (ssize_t done = 0; r == 0 && done < n;) {
                ssize_t k = pwrite(out, buf + done, (size_t)(n - done), o + done);
                if (k < 0 && errno != EINTR)
                    r = ocfl_err_sys(err, -errno, "cannot write '%s'", path);
                done += k > 0 ? k : 0;
            }
            write_behind(out, (uint64_t)o, (uint64_t)n);
            o += n;
        }
        off = hole;
    }
    free(buf);
    if (r == 0 && ftruncate(out, size) < 0)
        r = ocfl_err_sys(err, -errno, "cannot size '%s'", path);
    return r;
}

/* Copy all of @in (from offset 0) to @out: reflink, the data ranges of a sparse file,
 * copy_file_range, read/write. */
static int copy_bytes(int in, int out, const char *path, int (*progress)(void *ctx, uint64_t done),
                      void *ctx, struct ocfl_err *err)
{
    uint64_t done = 0, reported = 0;
    off_t off_in = 0;
    char *buf = NULL;
    struct stat ist;
    int r = 0, use_cfr = 1;

    if (ioctl(out, FICLONE, in) == 0) {
        struct stat st;
        if (fstat(out, &st) < 0)
            return ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        if (progress && (r = progress(ctx, (uint64_t)st.st_size)) != 0)
            return ocfl_err_set(err, r < 0 ? r : -ECANCELED, "copy to '%s' cancelled", path);
        return 0;
    }
    if (fstat(in, &ist) == 0 && S_ISREG(ist.st_mode) &&
        (uint64_t)ist.st_blocks * 512 + SPARSE_MIN <= (uint64_t)ist.st_size) {
        r = copy_sparse(in, out, ist.st_size, path, err);
        if (r == 0 && progress && (r = progress(ctx, (uint64_t)ist.st_size)) != 0)
            r = ocfl_err_set(err, r < 0 ? r : -ECANCELED, "copy to '%s' cancelled", path);
        return r;
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
