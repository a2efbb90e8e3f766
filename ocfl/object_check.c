/* object_check.c: a cheap check that every manifest content path is a regular file in the object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "object.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Length of the directory part of @p ("v1/content" of "v1/content/a"), 0 when none. */
static size_t dir_len(const char *p)
{
    const char *s = strrchr(p, '/');

    return s ? (size_t)(s - p) : 0;
}

static int bad(const struct ocfl_object *obj, const char *path, const char *why,
               struct ocfl_err *err)
{
    return ocfl_err_set(err, -EBADMSG, "object '%s' at '%s': content path '%s' %s",
                        obj->inv && obj->inv->id ? obj->inv->id : "?", obj->path ? obj->path : ".",
                        path, why);
}

/* Open the directory @len bytes of @p beneath the object (no symlinks). */
static int open_dir(const struct ocfl_object *obj, const char *p, size_t len, int *ret_fd,
                    struct ocfl_err *err)
{
    char *d = strndup(p, len);
    int fd;

    if (!d)
        return ocfl_err_set(err, -ENOMEM, "cannot check object '%s': out of memory",
                            obj->path ? obj->path : ".");
    fd = ocfl_io_open(obj->fd, d, O_PATH | O_DIRECTORY, 0);
    free(d);
    if (fd == -ELOOP)
        return bad(obj, p, "passes through a symbolic link", err);
    if (fd == -ENOENT)
        return bad(obj, p, "is missing (no such directory)", err);
    if (fd == -ENOTDIR)
        return bad(obj, p, "is missing (a parent is not a directory)", err);
    if (fd == -EXDEV || fd == -EINVAL || fd == -ENAMETOOLONG)
        return bad(obj, p, "leads out of the object", err);
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot check object '%s': cannot open '%.*s'",
                            obj->path ? obj->path : ".", (int)len, p);
    *ret_fd = fd;
    return 0;
}

int ocfl_object_check_content(const struct ocfl_object *obj, struct ocfl_err *err)
{
    const struct ocfl_inventory *inv = obj->inv;
    const char **paths;
    size_t n = 0, k = 0, cur_len = 0;
    const char *cur = NULL;
    int dfd = -1, r = 0;

    for (size_t i = 0; i < inv->n_manifest; i++)
        n += inv->manifest[i].n_paths;
    if (!n)
        return 0;
    paths = malloc(n * sizeof(*paths));
    if (!paths)
        return ocfl_err_set(err, -ENOMEM, "cannot check object '%s': out of memory",
                            obj->path ? obj->path : ".");
    for (size_t i = 0; i < inv->n_manifest; i++)
        for (size_t m = 0; m < inv->manifest[i].n_paths; m++)
            paths[k++] = inv->manifest[i].paths[m];
    /* sorted, the files of one directory come together: one open per directory */
    qsort(paths, n, sizeof(*paths), cmp_str);
    for (size_t i = 0; i < n && r >= 0; i++) {
        const char *p = paths[i];
        size_t dl = dir_len(p);
        const char *base = dl ? p + dl + 1 : p;
        struct stat st;

        if (ocfl_io_check_path(p) < 0) {
            r = bad(obj, p, "leads out of the object", err);
            break;
        }
        if (!cur || dl != cur_len || memcmp(cur, p, dl)) {
            if (dfd >= 0 && dfd != obj->fd)
                close(dfd);
            dfd = -1;
            cur = NULL;
            if (dl) {
                r = open_dir(obj, p, dl, &dfd, err);
                if (r < 0)
                    break;
            } else {
                dfd = obj->fd;
            }
            cur = p;
            cur_len = dl;
        }
        if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            int e = errno;
            r = e == ENOENT ? bad(obj, p, "is missing", err)
                            : ocfl_err_sys(err, -e, "cannot check object '%s': cannot stat '%s'",
                                           obj->path ? obj->path : ".", p);
        } else if (S_ISLNK(st.st_mode)) {
            r = bad(obj, p, "is a symbolic link", err);
        } else if (!S_ISREG(st.st_mode)) {
            r = bad(obj, p, "is not a regular file", err);
        }
    }
    if (dfd >= 0 && dfd != obj->fd)
        close(dfd);
    free(paths);
    return r < 0 ? r : 0;
}
