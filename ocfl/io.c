/* io.c: the I/O seam: every file operation inside a storage root, beneath a directory fd. */
#include "io.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The hook and its context are two atomics: the setter clears the function
 * first, so a reader never pairs a new function with an old context.
 */
static _Atomic(ocfl_io_fault_fn) fault_fn;
static _Atomic(void *) fault_ctx;

void ocfl_io_set_fault(ocfl_io_fault_fn fn, void *ctx)
{
    atomic_store(&fault_fn, NULL);
    atomic_store(&fault_ctx, ctx);
    atomic_store(&fault_fn, fn);
}

int io_fault(enum ocfl_io_op op, const char *path)
{
    ocfl_io_fault_fn fn = atomic_load(&fault_fn);
    int r;

    if (!fn)
        return 0;
    r = fn(atomic_load(&fault_ctx), op, path);
    return r < 0 ? r : 0;
}

int ocfl_io_check_path(const char *path)
{
    const char *p = path, *slash;
    size_t len;

    if (!path || !*path)
        return -EINVAL;
    if (*path == '/')
        return -EXDEV;
    for (;;) {
        slash = strchr(p, '/');
        len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0)
            return -EINVAL;
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return -EXDEV;
        if (len == 1 && p[0] == '.')
            return -EINVAL;
        if (len > NAME_MAX)
            return -ENAMETOOLONG;
        if (!slash)
            return 0;
        p = slash + 1;
    }
}

static int is_self(const char *path)
{
    return !path || !*path || !strcmp(path, ".");
}

static atomic_int no_openat2;

void ocfl_io_use_openat2(int enabled)
{
    atomic_store(&no_openat2, !enabled);
}

/* O_DIRECTORY|O_NOFOLLOW on a symlink says ENOTDIR; openat2 says ELOOP. */
static int symlink_errno(int dirfd, const char *name, int e)
{
    struct stat st;

    if (e == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return ELOOP;
    return e;
}

/*
 * Without openat2 (old kernels, seccomp filters, valgrind before 3.20):
 * walk the checked path one element at a time with O_NOFOLLOW.  With ".."
 * and absolute paths refused up front, this stays beneath @dirfd as well.
 */
static int walk_open(int dirfd, const char *path, int flags, mode_t mode)
{
    char elem[NAME_MAX + 1];
    const char *p = path, *slash;
    int cur = dirfd, fd;

    while ((slash = strchr(p, '/'))) {
        size_t len = (size_t)(slash - p);
        memcpy(elem, p, len);
        elem[len] = '\0';
        fd = openat(cur, elem, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            int e = symlink_errno(cur, elem, errno);
            if (cur != dirfd)
                close(cur);
            return -e;
        }
        if (cur != dirfd)
            close(cur);
        cur = fd;
        p = slash + 1;
    }
    fd = openat(cur, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        fd = -symlink_errno(cur, p, errno);
    if (cur != dirfd)
        close(cur);
    return fd;
}

/*
 * openat2 beneath @dirfd, no hook, no path check.  A path the kernel will not
 * take in one call (PATH_MAX and over: a long logical path under
 * "vN/content/") is walked one element at a time.
 */
static int raw_open(int dirfd, const char *path, int flags, mode_t mode)
{
    if (atomic_load(&no_openat2) || strlen(path) >= PATH_MAX)
        return walk_open(dirfd, path, flags, mode);

    struct open_how how = {
        .flags = (unsigned)(flags | O_CLOEXEC),
        .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
        .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
    };

    for (int tries = 0;; tries++) {
        long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        /* EAGAIN: a concurrent rename raced the beneath check; retry a little */
        if ((errno == EAGAIN && tries < 16) || errno == EINTR)
            continue;
        if (errno == ENOSYS) {
            atomic_store(&no_openat2, 1);
            return walk_open(dirfd, path, flags, mode);
        }
        return -errno;
    }
}

int ocfl_io_open(int dirfd, const char *path, int flags, mode_t mode)
{
    int r;

    if (is_self(path))
        path = ".";
    else if ((r = ocfl_io_check_path(path)) < 0)
        return r;
    if ((r = io_fault(OCFL_IO_OPEN, path)) < 0)
        return r;
    return raw_open(dirfd, path, flags, mode);
}

/*
 * Open the directory holding the last element of @path (checked) and point
 * *ret_name at that element.  Returns an owned O_DIRECTORY fd.
 */
int io_open_parent(int dirfd, const char *path, const char **ret_name, struct ocfl_err *err)
{
    char *parent;
    const char *slash;
    int r, fd;

    if ((r = ocfl_io_check_path(path)) < 0)
        return ocfl_err_sys(err, r, "refusing path '%s'", path ? path : "");
    slash = strrchr(path, '/');
    parent = slash ? strndup(path, (size_t)(slash - path)) : strdup(".");
    if (!parent)
        return ocfl_err_set(err, -ENOMEM, "cannot open the directory of '%s': out of memory", path);
    fd = raw_open(dirfd, parent, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        ocfl_err_sys(err, fd, "cannot open directory '%s'", parent);
    else
        *ret_name = slash ? slash + 1 : path;
    free(parent);
    return fd;
}

int ocfl_io_stat(int dirfd, const char *path, struct stat *st)
{
    const char *name;
    int pfd, r = 0;

    if (is_self(path))
        return fstat(dirfd, st) < 0 ? -errno : 0;
    pfd = io_open_parent(dirfd, path, &name, NULL);
    if (pfd < 0)
        return pfd;
    if (fstatat(pfd, name, st, AT_SYMLINK_NOFOLLOW) < 0)
        r = -errno;
    close(pfd);
    return r;
}

int io_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int ocfl_io_read_file(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                      struct ocfl_err *err)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, alloc;
    int fd, r;

    fd = ocfl_io_open(dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        r = ocfl_err_set(err, -EINVAL, "'%s' is not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        r = ocfl_err_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max);
        goto out;
    }
    if ((r = io_fault(OCFL_IO_READ, path)) < 0) {
        ocfl_err_sys(err, r, "cannot read '%s'", path);
        goto out;
    }
    /* the size may change under us: read to EOF, never past max */
    alloc = (size_t)st.st_size + 1;
    buf = malloc(alloc + 1);
    if (!buf) {
        r = ocfl_err_set(err, -ENOMEM, "cannot read '%s': out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n;
        if (len == alloc) {
            size_t grow = alloc > max / 2 ? max + 1 : alloc * 2;
            char *nb;
            if (alloc > max) {
                r = ocfl_err_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max);
                goto out;
            }
            nb = realloc(buf, grow + 1);
            if (!nb) {
                r = ocfl_err_set(err, -ENOMEM, "cannot read '%s': out of memory", path);
                goto out;
            }
            buf = nb;
            alloc = grow;
        }
        n = read(fd, buf + len, alloc - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = ocfl_err_sys(err, -errno, "cannot read '%s'", path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max) {
        r = ocfl_err_set(err, -EFBIG, "'%s' is larger than %zu bytes", path, max);
        goto out;
    }
    buf[len] = '\0';
    *ret_buf = buf;
    if (ret_len)
        *ret_len = len;
    buf = NULL;
    r = 0;
out:
    free(buf);
    close(fd);
    return r;
}

/*
 * Create "<name>.tmp-XXXXXXXX" in @pfd with O_EXCL; the name goes to @tmp.
 * XXXXXXXX is a hash of @name, not a random number: a writer killed between
 * create and rename leaves a temp that the retry (after resume) finds by
 * name and replaces, so no stray file stays in an object.  Writers of one
 * destination are serialized by the caller (one plan per object), so an
 * existing temp is a stale one.
 */
int io_create_temp(int pfd, const char *name, char tmp[NAME_MAX + 1])
{
    int keep = (int)strlen(name);
    uint32_t h = 2166136261u; /* FNV-1a: distinct long names that share the kept prefix differ */

    for (const char *c = name; *c; c++)
        h = (h ^ (unsigned char)*c) * 16777619u;
    if (keep > NAME_MAX - 13)
        keep = NAME_MAX - 13;
    snprintf(tmp, NAME_MAX + 1, "%.*s.tmp-%08x", keep, name, (unsigned)h);
    for (int tries = 0; tries < 3; tries++) {
        int fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST)
            return -errno;
        if (unlinkat(pfd, tmp, 0) < 0 && errno != ENOENT)
            return -errno;
    }
    return -EEXIST;
}

/*
 * Second half of a durable write: fsync and close @fd (the temp @tmp in
 * @pfd), rename it over @name, fsync @pfd.  Always closes @fd; removes the
 * temp on failure.  A failed fsync is never retried on the same fd.
 */
int io_commit_temp(int pfd, int fd, const char *tmp, const char *name, const char *path,
                   struct ocfl_err *err)
{
    int r;

    if ((r = io_fault(OCFL_IO_FSYNC, path)) < 0 || (fsync(fd) < 0 && (r = -errno))) {
        close(fd);
        unlinkat(pfd, tmp, 0);
        return ocfl_err_sys(err, r, "cannot fsync '%s'", path);
    }
    if (close(fd) < 0 && errno != EINTR) {
        r = -errno;
        unlinkat(pfd, tmp, 0);
        return ocfl_err_sys(err, r, "cannot close '%s'", path);
    }
    if ((r = io_fault(OCFL_IO_RENAME, path)) < 0 ||
        (renameat(pfd, tmp, pfd, name) < 0 && (r = -errno))) {
        unlinkat(pfd, tmp, 0);
        return ocfl_err_sys(err, r, "cannot rename into '%s'", path);
    }
    if ((r = io_fault(OCFL_IO_FSYNC, path)) < 0 || (fsync(pfd) < 0 && (r = -errno)))
        return ocfl_err_sys(err, r, "cannot fsync the directory of '%s'", path);
    return 0;
}

/*
 * Write @buf to the new, empty file @fd, its whole 4 KiB blocks with O_DIRECT
 * through an aligned bounce buffer and the tail buffered.  The device then
 * reads the bounce buffer itself: nothing is copied into the page cache, whose
 * pages this machine's kind of VM makes expensive to fill (writing a 54 MB
 * inventory cost 0.15 s of CPU buffered; the fsync that follows has to send
 * the bytes to the device either way).  Where the file system refuses
 * O_DIRECT (EINVAL), everything is written buffered.
 */
#define DIRECT_MIN    ((size_t)8 << 20) /* smaller files: buffered */
#define DIRECT_ALIGN  ((size_t)4096)
#define DIRECT_BOUNCE ((size_t)4 << 20)

static int io_pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        off += n;
        len -= (size_t)n;
    }
    return 0;
}

static int io_write_big(int fd, const char *buf, size_t len)
{
    size_t bulk = len & ~(DIRECT_ALIGN - 1), off = 0;
    int fl = fcntl(fd, F_GETFL), r = 0;
    void *bounce = NULL;

    if (fl < 0 || posix_memalign(&bounce, DIRECT_ALIGN, DIRECT_BOUNCE))
        return io_write_all(fd, buf, len);
    if (fcntl(fd, F_SETFL, fl | O_DIRECT) < 0)
        bulk = 0;
    while (off < bulk) {
        size_t n = bulk - off < DIRECT_BOUNCE ? bulk - off : DIRECT_BOUNCE;
        ssize_t w;
        memcpy(bounce, buf + off, n);
        do
            w = pwrite(fd, bounce, n, (off_t)off);
        while (w < 0 && errno == EINTR);
        if (w < 0 && errno != EINVAL) {
            r = -errno;
            break;
        }
        if (w <= 0)
            break; /* refused: the rest buffered */
        off += (size_t)w;
        if ((size_t)w & (DIRECT_ALIGN - 1))
            break; /* a short write off the alignment: the rest buffered */
    }
    free(bounce);
    if (bulk && fcntl(fd, F_SETFL, fl) < 0 && r == 0)
        r = -errno;
    return r < 0 ? r : io_pwrite_all(fd, buf + off, len - off, (off_t)off);
}

int ocfl_io_write_file_durable(int dirfd, const char *path, const void *buf, size_t len,
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
    if ((r = io_fault(OCFL_IO_WRITE, path)) < 0 ||
        (r = len >= DIRECT_MIN ? io_write_big(fd, buf, len) : io_write_all(fd, buf, len)) < 0) {
        close(fd);
        unlinkat(pfd, tmp, 0);
        ocfl_err_sys(err, r, "cannot write '%s'", path);
        goto out;
    }
    r = io_commit_temp(pfd, fd, tmp, name, path, err);
out:
    close(pfd);
    return r;
}

int ocfl_io_mkdirs(int dirfd, const char *path, mode_t mode, struct ocfl_err *err)
{
    char *buf;
    int cur, r;
    char *p, *slash;

    if (is_self(path))
        return 0;
    if ((r = ocfl_io_check_path(path)) < 0)
        return ocfl_err_sys(err, r, "refusing path '%s'", path);
    if (!(buf = strdup(path)))
        return ocfl_err_set(err, -ENOMEM, "cannot create directory '%s': out of memory", path);
    cur = raw_open(dirfd, ".", O_RDONLY | O_DIRECTORY, 0);
    if (cur < 0) {
        free(buf);
        return ocfl_err_sys(err, cur, "cannot open the base directory of '%s'", path);
    }
    for (p = buf;; p = slash + 1) {
        int next, made = 0;
        slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if ((r = io_fault(OCFL_IO_MKDIR, buf)) < 0) {
            ocfl_err_sys(err, r, "cannot create directory '%s'", buf);
            break;
        }
        if (mkdirat(cur, p, mode) == 0)
            made = 1;
        else if (errno != EEXIST) {
            r = ocfl_err_sys(err, -errno, "cannot create directory '%s'", buf);
            break;
        }
        if (made && ((r = io_fault(OCFL_IO_FSYNC, buf)) < 0 || (fsync(cur) < 0 && (r = -errno)))) {
            ocfl_err_sys(err, r, "cannot fsync the parent of '%s'", buf);
            break;
        }
        next = raw_open(cur, p, O_RDONLY | O_DIRECTORY, 0);
        if (next < 0) {
            r = ocfl_err_sys(err, next, "cannot open directory '%s'", buf);
            break;
        }
        close(cur);
        cur = next;
        if (!slash) {
            r = 0;
            break;
        }
        *slash = '/';
    }
    close(cur);
    free(buf);
    return r;
}

int ocfl_io_mkdir_nosync(int dirfd, const char *name, mode_t mode, struct ocfl_err *err)
{
    int r = ocfl_io_check_path(name);

    if (r == 0 && strchr(name, '/'))
        r = -EINVAL;
    if (r < 0)
        return ocfl_err_sys(err, r, "refusing directory name '%s'", name ? name : "");
    if ((r = io_fault(OCFL_IO_MKDIR, name)) < 0 || (mkdirat(dirfd, name, mode) < 0 && (r = -errno)))
        return r == -EEXIST ? 0 : ocfl_err_sys(err, r, "cannot create directory '%s'", name);
    return 1;
}

int ocfl_io_rename(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                   struct ocfl_err *err)
{
    const char *oname, *nname;
    int opfd, npfd, r;

    opfd = io_open_parent(olddirfd, oldpath, &oname, err);
    if (opfd < 0)
        return opfd;
    npfd = io_open_parent(newdirfd, newpath, &nname, err);
    if (npfd < 0) {
        close(opfd);
        return npfd;
    }
    if ((r = io_fault(OCFL_IO_RENAME, newpath)) < 0 ||
        (renameat(opfd, oname, npfd, nname) < 0 && (r = -errno)))
        ocfl_err_sys(err, r, "cannot rename '%s' to '%s'", oldpath, newpath);
    else
        r = 0;
    close(opfd);
    close(npfd);
    return r;
}

int ocfl_io_fsync_dir(int dirfd, const char *path, struct ocfl_err *err)
{
    const char *p = is_self(path) ? "." : path;
    int fd, r;

    if (!is_self(path) && (r = ocfl_io_check_path(path)) < 0)
        return ocfl_err_sys(err, r, "refusing path '%s'", path);
    fd = raw_open(dirfd, p, O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open directory '%s'", p);
    if ((r = io_fault(OCFL_IO_FSYNC, p)) < 0 || (fsync(fd) < 0 && (r = -errno)))
        ocfl_err_sys(err, r, "cannot fsync directory '%s'", p);
    else
        r = 0;
    close(fd);
    return r;
}

int ocfl_io_fsync(int fd, const char *what, struct ocfl_err *err)
{
    int r;

    if ((r = io_fault(OCFL_IO_FSYNC, what ? what : "")) < 0 || (fsync(fd) < 0 && (r = -errno)))
        return ocfl_err_sys(err, r, "cannot fsync '%s'", what ? what : "");
    return 0;
}

static int remove_entry(int dirfd, const char *path, int dir, struct ocfl_err *err)
{
    const char *name;
    int pfd, r;

    pfd = io_open_parent(dirfd, path, &name, err);
    if (pfd == -ENOENT) {
        ocfl_err_clear(err);
        return 0;
    }
    if (pfd < 0)
        return pfd;
    if ((r = io_fault(dir ? OCFL_IO_RMDIR : OCFL_IO_UNLINK, path)) < 0 ||
        (unlinkat(pfd, name, dir ? AT_REMOVEDIR : 0) < 0 && (r = -errno))) {
        if (r == -ENOENT)
            r = 0;
        else
            ocfl_err_sys(err, r, "cannot remove '%s'", path);
    } else {
        r = 0;
    }
    close(pfd);
    return r;
}

int ocfl_io_unlink(int dirfd, const char *path, struct ocfl_err *err)
{
    return remove_entry(dirfd, path, 0, err);
}

int ocfl_io_rmdir(int dirfd, const char *path, struct ocfl_err *err)
{
    return remove_entry(dirfd, path, 1, err);
}
