/* root_walk.c: enumerate the object roots of a storage hierarchy without following symlinks. */
#include "root.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper than any layout produces (0003/0004 allow 32 tuples + 1). */
#define MAX_DEPTH 64

struct walk {
    int (*fn)(void *ctx, const char *object_path);
    void *ctx;
    struct ocfl_err *err;
    char path[PATH_MAX]; /* the directory being read, relative to the root */
};

struct names {
    char **v;
    size_t n, alloc;
};

static void names_free(struct names *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

static int names_add(struct names *ns, const char *name)
{
    if (ns->n == ns->alloc) {
        size_t alloc = ns->alloc ? ns->alloc * 2 : 16;
        char **v = realloc(ns->v, alloc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ns->v = v;
        ns->alloc = alloc;
    }
    if (!(ns->v[ns->n] = strdup(name)))
        return -ENOMEM;
    ns->n++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Read the directory open on @fd (not consumed): note whether it holds an
 * object declaration and collect its subdirectories (symlinks excluded).
 */
static int scan(struct walk *w, int fd, int depth, int *ret_is_object, struct names *subdirs)
{
    struct dirent *de;
    DIR *d;
    int r = 0, dfd = dup(fd);

    if (dfd < 0 || !(d = fdopendir(dfd))) {
        r = -errno;
        if (dfd >= 0)
            close(dfd);
        return ocfl_err_sys(w->err, r, "cannot read directory '%s'", w->path);
    }
    rewinddir(d); /* a dup shares the offset: start from the first entry */
    *ret_is_object = 0;
    while ((errno = 0, de = readdir(d))) {
        unsigned char type = de->d_type;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (depth > 0 && !strncmp(de->d_name, "0=ocfl_object_", 14)) {
            *ret_is_object = 1;
            continue;
        }
        if (depth == 0 && !strcmp(de->d_name, "extensions"))
            continue;
        if (type == DT_UNKNOWN) {
            struct stat st;
            if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                continue; /* vanished */
            type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
        }
        if (type == DT_DIR && (r = names_add(subdirs, de->d_name)) < 0) {
            r = ocfl_err_set(w->err, r, "cannot walk '%s': out of memory", w->path);
            break;
        }
    }
    if (r == 0 && errno)
        r = ocfl_err_sys(w->err, -errno, "cannot read directory '%s'", w->path);
    closedir(d);
    return r;
}

/* Visit the directory open on @fd (consumed) whose path is w->path. */
static int visit(struct walk *w, int fd, int depth)
{
    struct names subdirs = {0};
    size_t len = strlen(w->path);
    int is_object = 0, r;

    if (depth > MAX_DEPTH) {
        r = ocfl_err_set(w->err, -ELOOP, "cannot walk '%s': deeper than %d levels", w->path,
                         MAX_DEPTH);
        goto out;
    }
    if ((r = scan(w, fd, depth, &is_object, &subdirs)) < 0)
        goto out;
    if (is_object) {
        r = w->fn(w->ctx, w->path);
        goto out;
    }
    /* a stable order, whatever the file system returns */
    if (subdirs.n)
        qsort(subdirs.v, subdirs.n, sizeof(*subdirs.v), by_name);
    for (size_t i = 0; i < subdirs.n && r == 0; i++) {
        const char *name = subdirs.v[i];
        int n = snprintf(w->path + len, sizeof(w->path) - len, "%s%s", len ? "/" : "", name);
        int cfd;
        if (n < 0 || (size_t)n >= sizeof(w->path) - len) {
            w->path[len] = '\0';
            r = ocfl_err_set(w->err, -ENAMETOOLONG, "cannot walk '%s/%s': path too long", w->path,
                             name);
            break;
        }
        /* a plain name from readdir, so O_NOFOLLOW keeps it beneath */
        cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (cfd < 0) {
            if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR)
                continue; /* vanished or replaced by a non-directory meanwhile */
            r = ocfl_err_sys(w->err, -errno, "cannot open directory '%s'", w->path);
            break;
        }
        r = visit(w, cfd, depth + 1);
        w->path[len] = '\0';
    }
out:
    w->path[len] = '\0';
    names_free(&subdirs);
    close(fd);
    return r;
}

int ocfl_root_walk(struct ocfl_root *root, int (*fn)(void *ctx, const char *object_path), void *ctx,
                   struct ocfl_err *err)
{
    struct walk *w = calloc(1, sizeof(*w));
    int fd, r;

    if (!w)
        return ocfl_err_set(err, -ENOMEM, "cannot walk '%s': out of memory", root->path);
    w->fn = fn;
    w->ctx = ctx;
    w->err = err;
    /* a new open file description: the walk's reads leave root->fd alone */
    fd = openat(root->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        r = ocfl_err_sys(err, -errno, "cannot walk '%s'", root->path);
    } else {
        r = visit(w, fd, 0);
    }
    free(w);
    return r;
}
