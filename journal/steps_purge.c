/* steps_purge.c: the steps of a purge (an object removed for good) and where one stands. */
#include "run_int.h"

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

int run_purge_moved(struct run *run)
{
    const struct rstep *move = &run->p->steps[0];
    int here, there;

    if (move->state == JOURNAL_STEP_DONE)
        return 1;
    here = exists(run, move->source, NULL);
    there = exists(run, move->dest, NULL);
    if (here < 0 || there < 0)
        return here < 0 ? here : there;
    return !here && there;
}

int run_purge_position(struct run *run, struct ocfl_err *err)
{
    const struct rstep *move = &run->p->steps[0];
    int here, there;

    /* recorded moved: whatever is at the object's path now (a new object of the same id) is
     * not this purge's */
    if (move->state == JOURNAL_STEP_DONE)
        return 1;
    here = exists(run, move->source, err);
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

/* Remove the directories above @path that the move left empty (rmdir refuses any that holds
 * something else: nothing but empty layout directories goes); the nearest one left is
 * fsynced, which makes the removals beneath it durable. */
static int remove_empty_above(struct run *run, const char *path, struct ocfl_err *err)
{
    char *dir = dir_of(path);
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
    return r;
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
        r = ocfl_io_rename(run->root->fd, s->source, run->root->fd, s->dest, err);
        if (r == -EXDEV)
            return ocfl_err_set(err, -EXDEV,
                                "'%s' is on another file system than '%s': the object cannot "
                                "be moved out of the layout in one rename",
                                s->source, s->dest);
        if (r < 0)
            return r;
    }
    /* at once, so that the root has no empty layout directory for longer than it takes (a
     * crash in between leaves them to the prune step) */
    r = fsync_parent(run, s->dest, err);
    return r < 0 ? r : remove_empty_above(run, s->source, err);
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
    int r = remove_empty_above(run, s->source, err);

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
