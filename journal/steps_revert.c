/* steps_revert.c: the compensating actions of a revert: the root inventory back to the base,
 * content back to its scratch sources, the plan's version directory (or new object) removed,
 * and every directory so changed fsynced before the revert is recorded. */
#include "run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "io.h"
#include "object.h"

/* The directories a revert changed, to be fsynced before the revert is recorded (a power cut
 * could otherwise bring back a version directory the journal says is gone, or lose the way
 * back of a staged file).  A set of (side, path) pairs; duplicates are dropped at the sync. */
struct touched {
    char **path;
    int *state; /* 1: beneath the state directory, 0: beneath the object */
    size_t n, alloc;
};

/* Remember the parent directory of @path ("" when it has none). */
static int touch_parent(struct touched *t, int state, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *d = slash ? strndup(path, (size_t)(slash - path)) : strdup("");

    if (!d)
        return -ENOMEM;
    if (t->n == t->alloc) {
        size_t na = t->alloc ? 2 * t->alloc : 16;
        char **np = realloc(t->path, na * sizeof(*np));
        int *ns = np ? realloc(t->state, na * sizeof(*ns)) : NULL;
        if (np)
            t->path = np;
        if (!ns) {
            free(d);
            return -ENOMEM;
        }
        t->state = ns;
        t->alloc = na;
    }
    t->path[t->n] = d;
    t->state[t->n++] = state;
    return 0;
}

/* fsync each remembered directory once; one beneath the object that is gone is skipped (its
 * removal is made durable by its parent's fsync). */
static int sync_touched(struct run *run, struct touched *t, struct ocfl_err *err)
{
    int r = 0;

    for (size_t i = 0; r == 0 && i < t->n; i++) {
        int dup = 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = t->state[k] == t->state[i] && !strcmp(t->path[k], t->path[i]);
        if (dup)
            continue;
        int fd = t->state[i] ? run->j->state_fd : run->objfd;
        if (fd < 0)
            continue;
        r = ocfl_io_fsync_dir(fd, t->path[i], err);
        if (r == -ENOENT && !t->state[i]) {
            ocfl_err_clear(err);
            r = 0;
        }
    }
    return r;
}

static void touched_release(struct touched *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->path[i]);
    free(t->path);
    free(t->state);
}

/* The previous version's name, with the same zero padding as @v ("v003" -> "v002"). */
static int prev_version(const char *v, char *buf, size_t size)
{
    unsigned long num = strtoul(v + 1, NULL, 10);
    int width = v[1] == '0' ? (int)strlen(v + 1) : 0;
    int n = snprintf(buf, size, "v%0*lu", width, num - 1);

    return n < 0 || (size_t)n >= size || num < 2 ? -EINVAL : 0;
}

static int restore_root_inventory(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX], prev[32], path[64];
    char *buf = NULL;
    size_t len;
    int r;

    r = run_digest_file(run, "inventory.json", hex, err);
    if (r == -ENOENT || run->p->new_object)
        return 0;
    if (r < 0)
        return r;
    if (ocfl_digest_equal(hex, run->p->inventory_digest)) {
        /* Switched: put the base back from the previous version's copy. */
        if (prev_version(run->p->version, prev, sizeof(prev)) < 0)
            return ocfl_err_set(err, -EINVAL, "bad version name '%s'", run->p->version);
        snprintf(path, sizeof(path), "%s/inventory.json", prev);
        r = ocfl_io_read_file(run->objfd, path, OCFL_INVENTORY_MAX_BYTES, &buf, &len, err);
        if (r < 0)
            return r;
        struct ocfl_hasher *h;
        r = ocfl_hasher_new(1u << run->alg, &h, err);
        if (r == 0) {
            ocfl_hasher_update(h, buf, len);
            ocfl_hasher_final(h, run->alg, hex);
            ocfl_hasher_free(h);
            if (!ocfl_digest_equal(hex, run->p->base_digest))
                r = ocfl_err_set(err, -EIO, "cannot restore '%s': '%s' is not the base",
                                 "inventory.json", path);
        }
        if (r == 0)
            r = run_fence(run, err);
        if (r == 0)
            r = ocfl_io_write_file_durable(run->objfd, "inventory.json", buf, len, err);
        free(buf);
        if (r < 0)
            return r;
    } else if (!ocfl_digest_equal(hex, run->p->base_digest)) {
        return 0; /* someone else's inventory: never touch it */
    }
    /* inventory.json is the base: make the sidecar say so if we changed it. */
    r = ocfl_object_read_sidecar(run->objfd, "", run->p->alg, hex, NULL);
    if (r < 0 || !ocfl_digest_equal(hex, run->p->inventory_digest))
        return 0; /* the base's, or someone else's: leave it */
    r = run_fence(run, err);
    if (r < 0)
        return r;
    return run_write_sidecar(run->objfd, "", run->p->alg, run->p->base_digest, err);
}

/* Move a content step's file back to its scratch source: through the version directory the
 * plan claimed (run->vfd), fenced right before, and only when it holds the plan's bytes and
 * the source is gone.  Anything else is left where it is: a file of other bytes is not one
 * this plan moved (a partial copy of ours leaves its source in place). */
static int move_back(struct run *run, struct rstep *s, struct touched *t, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    const char *rel = run_version_rel(run, s->dest);
    struct stat st;
    int r, in;

    if (!rel || !*rel)
        return 0; /* not beneath the version: never written by a content step */
    if ((r = ocfl_io_stat(run->vfd, rel, &st)) == -ENOENT)
        return 0; /* never moved */
    if (r < 0)
        return ocfl_err_sys(err, r, "cannot look at '%s'", s->dest);
    if ((r = ocfl_io_stat(run->j->state_fd, s->source, &st)) == 0)
        return 0; /* the source is still there (a copy) */
    if (r != -ENOENT)
        return ocfl_err_sys(err, r, "cannot look at staged '%s'", s->source);
    r = run_digest_at(run->vfd, rel, run->alg, hex, err);
    if (r == -ENOENT) {
        ocfl_err_clear(err);
        return 0;
    }
    if (r < 0)
        return r;
    if (!ocfl_digest_equal(hex, s->digest))
        return 0; /* not the plan's bytes: not its to move */
    r = run_parent_mkdirs(run->j->state_fd, s->source, err);
    if (r == 0 && (touch_parent(t, 1, s->source) < 0 || touch_parent(t, 0, s->dest) < 0))
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
    if (r == 0)
        r = run_fence(run, err); /* the digest took a while */
    if (r < 0)
        return r;
    r = ocfl_io_rename(run->vfd, rel, run->j->state_fd, s->source, err);
    if (r != -EXDEV)
        return r;
    in = ocfl_io_open(run->vfd, rel, O_RDONLY | O_CLOEXEC, 0);
    if (in < 0)
        return ocfl_err_sys(err, in, "cannot open '%s'", s->dest);
    r = ocfl_io_copy_fd_durable(in, run->j->state_fd, s->source, NULL, NULL, err);
    close(in);
    return r;
}

/* Remove the new object's directory and the layout directories left empty; fsync the
 * nearest directory that is left, which makes every removal beneath it durable. */
static int remove_object(struct run *run, struct ocfl_err *err)
{
    char *p = strdup(run->p->object_path), *slash;
    int r;

    if (!p)
        return -ENOMEM;
    if (run->objfd >= 0) {
        close(run->objfd);
        run->objfd = -1;
    }
    if (run->vfd >= 0) {
        close(run->vfd);
        run->vfd = -1;
    }
    r = ocfl_io_remove_tree(run->root->fd, p, err);
    for (;;) {
        slash = strrchr(p, '/');
        if (slash)
            *slash = 0;
        else
            p[0] = 0;
        if (r < 0 || !slash || unlinkat(run->root->fd, p, AT_REMOVEDIR) < 0)
            break; /* the root, or not empty: someone else's */
    }
    if (r == 0)
        r = ocfl_io_fsync_dir(run->root->fd, p, err);
    free(p);
    return r;
}

/* Whether the directory named p->version beneath the object is the one the plan claimed
 * (run->vfd, the same st_dev/st_ino): 1, 0 (another, or none), or a negative errno. */
static int version_is_claimed(struct run *run, struct ocfl_err *err)
{
    struct stat claimed, named;

    if (fstat(run->vfd, &claimed) < 0)
        return ocfl_err_sys(err, -errno, "cannot look at '%s'", run->p->version);
    if (fstatat(run->objfd, run->p->version, &named, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0
                               : ocfl_err_sys(err, -errno, "cannot look at '%s'", run->p->version);
    return named.st_dev == claimed.st_dev && named.st_ino == claimed.st_ino;
}

/*
 * Content back to the scratch area, then the version directory if it is ours; every
 * directory changed fsynced.  Only through the version directory the plan claimed: the fd
 * opened at the claim (fenced after its open), or opened here and then fenced (a lease held
 * after the open means nobody else made it since).  A reverter paused past its lease whose
 * directory was removed by its taker finds nothing in that fd, and its fence before each
 * change stops it before it touches a version directory made again under that name.
 */
static int undo_version(struct run *run, size_t vdirs, struct ocfl_err *err)
{
    struct rplan *p = run->p;
    struct touched t = {0};
    char hex[OCFL_DIGEST_HEX_MAX];
    int r = 0, first = 0;

    /* The version directory is the plan's only when its step began (a first attempt that
     * met another's directory records none).  Content steps run in batches record no start:
     * a killed batch moved files of steps that still say 0 attempts; in a version directory
     * that is ours, every dest with the plan's bytes is ours. */
    if (vdirs >= p->n_steps || !p->steps[vdirs].attempts)
        return 0;
    r = run_open_version(run, err);
    if (r == -ENOENT) {
        ocfl_err_clear(err);
        return 0; /* not there: nothing of the plan is left in it */
    }
    if (r < 0)
        return r;
    for (size_t i = p->n_steps; i-- > 0;) {
        struct rstep *s = &p->steps[i];
        if (s->kind != OCFL_STEP_CONTENT)
            continue;
        r = run_fence(run, err);
        if (r < 0)
            break;
        r = move_back(run, s, &t, err);
        if (r < 0 && !first)
            first = r;
    }
    if (run->fenced) { /* no longer ours: not one more change */
        touched_release(&t);
        return JOURNAL_FENCED;
    }
    r = first;
    if (r == 0 && t.n && touch_parent(&t, 1, "scratch/x") < 0)
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
    if (r == 0)
        r = sync_touched(run, &t, err);
    touched_release(&t);
    if (r < 0)
        return r;
    /* the directory at the version's name removed only when it is the claimed one (what it
     * holds is then the plan's) and holds no other inventory */
    r = run_fence(run, err);
    if (r == 0)
        r = version_is_claimed(run, err);
    if (r <= 0)
        return r;
    r = run_digest_at(run->vfd, "inventory.json", run->alg, hex, NULL);
    if (r != -ENOENT && !(r == 0 && ocfl_digest_equal(hex, p->inventory_digest)))
        return 0;
    close(run->vfd); /* of the directory removed here */
    run->vfd = -1;
    r = run_fence(run, err);
    if (r == 0)
        r = ocfl_io_remove_tree(run->objfd, p->version, err);
    if (r == 0)
        r = ocfl_io_fsync_dir(run->objfd, "", err);
    return r;
}

int run_compensate(struct run *run, struct ocfl_err *err)
{
    struct rplan *p = run->p;
    char hex[OCFL_DIGEST_HEX_MAX];
    size_t decl = p->n_steps, vdirs = p->n_steps;
    int r;

    if (run_open_object(run, NULL) < 0)
        return 0; /* nothing was made */
    for (size_t i = 0; i < p->n_steps; i++) {
        if (p->steps[i].kind == OCFL_STEP_DECLARE)
            decl = i;
        if (p->steps[i].kind == OCFL_STEP_VERSION_DIRS)
            vdirs = i;
    }
    r = restore_root_inventory(run, err);
    if (r == 0)
        r = undo_version(run, vdirs, err);
    if (r < 0)
        return r;
    if (decl < p->n_steps && p->steps[decl].attempts > 0) {
        r = run_fence(run, err);
        if (r < 0)
            return r;
        r = run_digest_file(run, "inventory.json", hex, NULL);
        if (r == -ENOENT || (r == 0 && ocfl_digest_equal(hex, p->inventory_digest)))
            return remove_object(run, err);
    }
    return 0;
}
