/* io_tree.c: remove a directory tree beneath a directory fd, never crossing symlinks or mounts. */
#include "io.h"
#include "io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_TREE_DEPTH 256

/* Empty the directory open on @fd (consumed), staying on device @dev. */
static int empty_dir(int fd, dev_t dev, const char *path, int depth, struct ocfl_err *err)
{
    DIR *d;
    struct dirent *de;
    int r = 0;

    if (depth > MAX_TREE_DEPTH) {
        close(fd);
        return ocfl_err_set(err, -ELOOP, "cannot remove '%s': tree too deep", path);
    }
    d = fdopendir(fd);
    if (!d) {
        r = -errno;
        close(fd);
        return ocfl_err_sys(err, r, "cannot read directory '%s'", path);
    }
    while (r == 0 && (errno = 0, de = readdir(d))) {
        struct stat st;
        int isdir, cfd;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN) {
            if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                r = errno == ENOENT ? 0 : ocfl_err_sys(err, -errno, "cannot stat in '%s'", path);
                continue;
            }
            isdir = S_ISDIR(st.st_mode);
        }
        if (!isdir) {
            if ((r = io_fault(OCFL_IO_UNLINK, de->d_name)) < 0 ||
                (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT && (r = -errno)))
                ocfl_err_sys(err, r, "cannot remove '%s/%s'", path, de->d_name);
            else
                r = 0;
            continue;
        }
        cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            r = ocfl_err_sys(err, -errno, "cannot open '%s/%s'", path, de->d_name);
            continue;
        }
        if (fstat(cfd, &st) < 0 || st.st_dev != dev) {
            close(cfd);
            r = ocfl_err_set(err, -EXDEV, "not removing '%s/%s': another file system", path,
                             de->d_name);
            continue;
        }
        if ((r = empty_dir(cfd, dev, de->d_name, depth + 1, err)) < 0)
            continue;
        if ((r = io_fault(OCFL_IO_RMDIR, de->d_name)) < 0 ||
            (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && (r = -errno)))
            ocfl_err_sys(err, r, "cannot remove '%s/%s'", path, de->d_name);
        else
            r = 0;
    }
    if (r == 0 && errno)
        r = ocfl_err_sys(err, -errno, "cannot read directory '%s'", path);
    closedir(d);
    return r;
}

int ocfl_io_remove_tree(int dirfd, const char *path, struct ocfl_err *err)
{
    const char *name;
    struct stat st;
    int pfd, fd, r;

    pfd = io_open_parent(dirfd, path, &name, err);
    if (pfd == -ENOENT) {
        ocfl_err_clear(err);
        return 0;
    }
    if (pfd < 0)
        return pfd;
    if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        r = errno == ENOENT ? 0 : ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        close(pfd);
        return ocfl_io_unlink(dirfd, path, err);
    }
    fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        r = ocfl_err_sys(err, -errno, "cannot open '%s'", path);
        goto out;
    }
    if ((r = empty_dir(fd, st.st_dev, path, 0, err)) < 0)
        goto out;
    if ((r = io_fault(OCFL_IO_RMDIR, path)) < 0 ||
        (unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && (r = -errno)))
        ocfl_err_sys(err, r, "cannot remove '%s'", path);
    else
        r = 0;
out:
    close(pfd);
    return r;
}
