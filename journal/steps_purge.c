/* steps_purge.c: the steps of a purge (an object removed for good) and where one stands. */
#include "run_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

/* The directory part of @path ("" for a name at the top), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return strndup(path, slash ? (size_t)(slash - path) : 0);
}

/* fsync the directory holding @path in the root. */
static int fsync_parent(struct run *run, const char *path, struct ocfl_err *err)
{
    char *dir = dir_of(path);
    int r;

    if (!dir)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    r = ocfl_io_fsync_dir(run->root->fd, dir, err);
    free(dir);
    return r;
}

static int exists(struct run *run, const char *path, struct ocfl_err *err)
{
    struct stat st;

    if (fstatat(run->root->fd, path, &st, AT_SYMLINK_NOFOLLOW) == 0)
        return 1;
    return errno == ENOENT ? 0 : ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
}

/* The object is still the one the purge was decided on: its root inventory's digest. */
static int check_unchanged(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    int r = run_open_object(run, err);

    if (r == 0)
        r = run_digest_file(run, "inventory.json", hex, err);
    if (r == -ENOENT)
        return ocfl_err_set(err, JOURNAL_CONFLICT,
                            "conflict: '%s' (object '%s') has no inventory.json any more",
                            run->p->object_path, run->p->object_id);
    if (r < 0)
        return r;
    if (!ocfl_digest_equal(hex, run->p->base_digest))
        return ocfl_err_set(err, JOURNAL_CONFLICT,
                            "conflict: object '%s' has changed since its purge was planned (a "
                            "new version?): not removed",
                            run->p->object_id);
    return 0;
}

int run_purge_position(struct run *run, struct ocfl_err *err)
{
    const struct rstep *move = &run->p->steps[0];
    int here = exists(run, move->source, err), there;

    if (here < 0)
        return here;
    if (here) {
        int r = check_unchanged(run, err);
        return r < 0 ? r : 0;
    }
    there = exists(run, move->dest, err);
    if (there < 0)
        return there;
    if (there || move->attempts || move->state == JOURNAL_STEP_DONE)
        return 1; /* moved (and maybe deleted) by an earlier run */
    return ocfl_err_set(err, JOURNAL_CONFLICT,
                        "conflict: object '%s' is no longer at '%s' (removed by someone else?)",
                        run->p->object_id, move->source);
}

/* Entries in the directory @path of the root: 0, 1 or 2 (two or more), or an error. */
static int few_entries(struct run *run, const char *path, struct ocfl_err *err)
{
    int fd = ocfl_io_open(run->root->fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0), n = 0;
    struct dirent *de;
    DIR *d;

    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open '%s'", path);
    if (!(d = fdopendir(fd))) {
        close(fd);
        return ocfl_err_sys(err, -errno, "cannot read '%s'", path);
    }
    while (n < 2 && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

/*
 * What the move takes: the highest directory above @path (or @path itself) that holds
 * nothing but the way down to it, so that the one rename leaves no empty layout directory
 * behind (E073) and the root is valid the moment the object is gone.  *ret malloc'd.
 */
static int move_top(struct run *run, const char *path, char **ret, struct ocfl_err *err)
{
    char *top = strdup(path), *slash;
    int r = 0;

    if (!top)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    while ((slash = strrchr(top, '/'))) {
        *slash = 0;
        if ((r = few_entries(run, top, err)) != 1) {
            *slash = '/'; /* the parent holds more (or nothing can be said): stop below it */
            break;
        }
    }
    if (r < 0) {
        free(top);
        return r;
    }
    *ret = top;
    return 0;
}

static int exec_move(struct run *run, const struct rstep *s, struct ocfl_err *err)
{
    int here = exists(run, s->source, err), r;

    if (here < 0)
        return here;
    if (!here) { /* moved by an earlier attempt: durable once both directories are */
        if ((r = exists(run, s->dest, err)) <= 0)
            return r < 0 ? r
                         : ocfl_err_set(err, JOURNAL_CONFLICT,
                                        "conflict: object '%s' is neither at '%s' nor at '%s'",
                                        run->p->object_id, s->source, s->dest);
    } else {
        if ((r = run_parent_mkdirs(run->root->fd, s->dest, err)) < 0)
            return r;
        /* the last look before the switch: a version written since the plan was made stops it */
        if ((r = check_unchanged(run, err)) < 0)
            return r;
        if (run->objfd >= 0) {
            close(run->objfd);
            run->objfd = -1;
        }
        char *top = NULL;
        if ((r = move_top(run, s->source, &top, err)) < 0)
            return r;
        r = ocfl_io_rename(run->root->fd, top, run->root->fd, s->dest, err);
        free(top);
        if (r == -EXDEV)
            return ocfl_err_set(err, -EXDEV,
                                "'%s' is on another file system than '%s': the object cannot "
                                "be moved out of the layout in one rename",
                                s->source, s->dest);
        if (r < 0)
            return r;
    }
    /* the directory the moved one was in: the nearest left above the object's path */
    r = fsync_parent(run, s->dest, err);
    if (r == 0) {
        char *dir = dir_of(s->source);
        if (!dir)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        for (;;) {
            r = ocfl_io_fsync_dir(run->root->fd, dir, err);
            char *slash = strrchr(dir, '/');
            if (r != -ENOENT || !*dir)
                break;
            ocfl_err_clear(err);
            if (slash)
                *slash = 0;
            else
                dir[0] = 0;
        }
        free(dir);
    }
    return r;
}

static int exec_delete(struct run *run, const struct rstep *s, struct ocfl_err *err)
{
    int r = ocfl_io_remove_tree(run->root->fd, s->dest, err);
    char *dir;

    if (r < 0)
        return r;
    if (!(dir = dir_of(s->dest)))
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    r = ocfl_io_fsync_dir(run->root->fd, dir, err);
    if (r == -ENOENT) { /* removed below, by an attempt that was cut short after */
        ocfl_err_clear(err);
        r = 0;
    }
    /* the purge area itself, when nothing else is in it (its parent need not be fsynced:
     * an empty directory that comes back after a power cut holds nothing) */
    if (r == 0 && *dir)
        unlinkat(run->root->fd, dir, AT_REMOVEDIR);
    free(dir);
    return r;
}

/* The layout's directories above the object that nothing else is in; the nearest directory
 * left fsynced (which makes each removal beneath it durable); the journal's rows of the
 * object (the mount's index, the attributes it kept) dropped. */
static int exec_prune(struct run *run, const struct rstep *s, struct ocfl_err *err)
{
    char *dir = dir_of(s->source);
    int r = 0;

    if (!dir)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    /* (a directory someone else removed meanwhile: go on above it) */
    while (*dir && (unlinkat(run->root->fd, dir, AT_REMOVEDIR) == 0 || errno == ENOENT)) {
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            dir[0] = 0;
    }
    if (*dir && errno != ENOTEMPTY && errno != EEXIST)
        r = ocfl_err_sys(err, -errno, "cannot remove the empty directory '%s'", dir);
    if (r == 0)
        r = ocfl_io_fsync_dir(run->root->fd, dir, err);
    free(dir);
    return r == 0 ? jdb_forget_object(run->j, run->p->object_id, err) : r;
}

int run_exec_purge(struct run *run, const struct rstep *s, struct ocfl_err *err)
{
    switch (s->kind) {
    case OCFL_STEP_PURGE_MOVE:
        return exec_move(run, s, err);
    case OCFL_STEP_PURGE_DELETE:
        return exec_delete(run, s, err);
    case OCFL_STEP_PURGE_PRUNE:
        return exec_prune(run, s, err);
    default:
        return ocfl_err_set(err, -EINVAL, "not a purge step");
    }
}
