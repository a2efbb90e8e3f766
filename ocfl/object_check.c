/* object_check.c: a cheap check that every manifest content path is a regular file in the object.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "object.h"
#include "strset.h"

/* A directory holding at least this many of the paths is listed, not stat'ed file by file. */
#define LIST_FROM 8

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

static int oom(const struct ocfl_object *obj, struct ocfl_err *err)
{
    return ocfl_err_set(err, -ENOMEM, "cannot check object '%s': out of memory",
                        obj->path ? obj->path : ".");
}

/* Open the directory @len bytes of @p beneath the object (no symlinks). */
static int open_dir(const struct ocfl_object *obj, const char *p, size_t len, int *ret_fd,
                    struct ocfl_err *err)
{
    char *d = strndup(p, len);
    int fd;

    if (!d)
        return oom(obj, err);
    fd = ocfl_io_open(obj->fd, d, O_RDONLY | O_DIRECTORY, 0);
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

/* The entries of a directory: names (NUL-separated in one buffer) and their d_type. */
struct listing {
    char *names;
    size_t len, cap;
    struct ocfl_strset set; /* name -> d_type */
};

static void listing_release(struct listing *l)
{
    free(l->names);
    ocfl_strset_release(&l->set);
    memset(l, 0, sizeof(*l));
}

/* Read every entry of @dfd (not closed) into @l.  0, -ENOMEM or -errno. */
static int list_dir(int dfd, struct listing *l)
{
    int fd = dup(dfd);
    DIR *d;
    struct dirent *de;
    size_t n = 0;
    int r = 0;

    if (fd < 0)
        return -errno;
    d = fdopendir(fd);
    if (!d) {
        r = -errno;
        close(fd);
        return r;
    }
    /* names first (the buffer moves while it grows), the set after */
    while ((errno = 0, de = readdir(d))) {
        size_t k = strlen(de->d_name) + 2; /* the type byte, the name, its NUL */
        if (l->len + k > l->cap) {
            size_t cap = l->cap ? l->cap * 2 : 4096;
            char *b;
            while (cap < l->len + k)
                cap *= 2;
            if (!(b = realloc(l->names, cap))) {
                r = -ENOMEM;
                break;
            }
            l->names = b;
            l->cap = cap;
        }
        l->names[l->len] = (char)de->d_type;
        memcpy(l->names + l->len + 1, de->d_name, k - 1);
        l->len += k;
        n++;
    }
    if (!r && errno)
        r = -errno;
    closedir(d);
    if (!r && ocfl_strset_reserve(&l->set, n) < 0)
        r = -ENOMEM;
    for (size_t off = 0; !r && off < l->len; off += strlen(l->names + off + 1) + 2)
        if (ocfl_strset_add(&l->set, l->names + off + 1, (unsigned char)l->names[off]) < 0)
            r = -ENOMEM;
    return r;
}

/* Check @base (the last element of @p) in directory @dfd, listed in @l or not (NULL). */
static int check_file(const struct ocfl_object *obj, int dfd, const struct listing *l,
                      const char *p, const char *base, struct ocfl_err *err)
{
    unsigned type = DT_UNKNOWN;
    struct stat st;

    if (l) {
        if (!ocfl_strset_has(&l->set, base, &type))
            return bad(obj, p, "is missing", err);
        if (type == DT_REG)
            return 0;
        if (type == DT_LNK)
            return bad(obj, p, "is a symbolic link", err);
        if (type != DT_UNKNOWN)
            return bad(obj, p, "is not a regular file", err);
    }
    /* not listed, or a file system that does not say the type */
    if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        int e = errno;
        return e == ENOENT ? bad(obj, p, "is missing", err)
                           : ocfl_err_sys(err, -e, "cannot check object '%s': cannot stat '%s'",
                                          obj->path ? obj->path : ".", p);
    }
    if (S_ISLNK(st.st_mode))
        return bad(obj, p, "is a symbolic link", err);
    if (!S_ISREG(st.st_mode))
        return bad(obj, p, "is not a regular file", err);
    return 0;
}

/* Check paths[0..n), which all lie in the same directory (of @dl bytes). */
static int check_group(const struct ocfl_object *obj, const char *const *paths, size_t n, size_t dl,
                       struct ocfl_err *err)
{
    struct listing l = {0};
    int dfd = obj->fd, r = 0, listed = 0;

    if (dl && (r = open_dir(obj, paths[0], dl, &dfd, err)) < 0)
        return r;
    /* One read of a directory beats a stat per file when it holds many of them. */
    if (n >= LIST_FROM) {
        r = list_dir(dfd, &l);
        if (r == -ENOMEM)
            r = oom(obj, err);
        else if (r < 0)
            r = ocfl_err_sys(err, r, "cannot check object '%s': cannot read '%.*s'",
                             obj->path ? obj->path : ".", (int)dl, paths[0]);
        listed = r == 0;
    }
    for (size_t i = 0; r == 0 && i < n; i++)
        r = check_file(obj, dfd, listed ? &l : NULL, paths[i], dl ? paths[i] + dl + 1 : paths[i],
                       err);
    listing_release(&l);
    if (dfd != obj->fd)
        close(dfd);
    return r;
}

int ocfl_object_check_content(const struct ocfl_object *obj, struct ocfl_err *err)
{
    const struct ocfl_inventory *inv = obj->inv;
    const char **paths;
    size_t n = 0, k = 0;
    int r = 0;

    for (size_t i = 0; i < inv->n_manifest; i++)
        n += inv->manifest[i].n_paths;
    if (!n)
        return 0;
    paths = malloc(n * sizeof(*paths));
    if (!paths)
        return oom(obj, err);
    /* sorted, the files of one directory come together: one open per directory */
    if (ocfl_inventory_sorted_content_path(inv, n - 1)) {
        for (k = 0; k < n; k++)
            paths[k] = ocfl_inventory_sorted_content_path(inv, k);
    } else {
        for (size_t i = 0; i < inv->n_manifest; i++)
            for (size_t m = 0; m < inv->manifest[i].n_paths; m++)
                paths[k++] = inv->manifest[i].paths[m];
        qsort(paths, n, sizeof(*paths), cmp_str);
    }
    for (size_t i = 0; i < n && r == 0;) {
        size_t dl = dir_len(paths[i]), j = i;
        /* the group: the following paths in the same directory, each checked to stay inside */
        while (j < n && dir_len(paths[j]) == dl && !memcmp(paths[j], paths[i], dl)) {
            if (ocfl_io_check_path(paths[j]) < 0) {
                r = bad(obj, paths[j], "leads out of the object", err);
                break;
            }
            j++;
        }
        if (r == 0)
            r = check_group(obj, paths + i, j - i, dl, err);
        i = j;
    }
    free(paths);
    return r < 0 ? r : 0;
}
