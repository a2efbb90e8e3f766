/* steps.c: each step kind's effect, idempotent (a revert's compensations: steps_revert.c). */
#include "run_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "io.h"
#include "object.h"

int run_open_object(struct run *run, struct ocfl_err *err)
{
    int fd;

    if (run->objfd >= 0)
        return 0;
    fd = ocfl_io_open(run->root->fd, run->p->object_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd == -ENOENT)
        return -ENOENT;
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open object '%s'", run->p->object_path);
    run->objfd = fd;
    return 0;
}

int run_open_version(struct run *run, struct ocfl_err *err)
{
    int fd, r;

    if (run->vfd >= 0)
        return 0;
    r = run_open_object(run, err);
    if (r < 0)
        return r;
    fd = ocfl_io_open(run->objfd, run->p->version, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd == -ENOENT)
        return ocfl_err_set(err, fd, "'%s' has no version directory '%s'", run->p->object_path,
                            run->p->version);
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open '%s' in '%s'", run->p->version,
                            run->p->object_path);
    /* after the open: the lease held now was held when it opened */
    r = run_fence(run, err);
    if (r < 0) {
        close(fd);
        return r;
    }
    run->vfd = fd;
    return 0;
}

const char *run_version_rel(const struct run *run, const char *path)
{
    size_t n = strlen(run->p->version);

    if (strncmp(path, run->p->version, n))
        return NULL;
    if (!path[n])
        return "";
    return path[n] == '/' ? path + n + 1 : NULL;
}

int run_open_dir_in_object(struct run *run, const char *path)
{
    const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    const char *rel = run->vfd >= 0 ? run_version_rel(run, path) : NULL;

    if (rel)
        return ocfl_io_open(run->vfd, rel, flags, 0);
    return ocfl_io_open(run->objfd, path, flags, 0);
}

int run_digest_at(int dirfd, const char *file, enum ocfl_digest_alg alg,
                  char hex[OCFL_DIGEST_HEX_MAX], struct ocfl_err *err)
{
    char all[OCFL_DIGEST_COUNT_][OCFL_DIGEST_HEX_MAX];
    int fd, r;

    fd = ocfl_io_open(dirfd, file, O_RDONLY | O_CLOEXEC, 0);
    if (fd == -ENOENT)
        return -ENOENT;
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open '%s'", file);
    r = ocfl_digest_fd(fd, 1u << alg, all, NULL, err);
    close(fd);
    if (r < 0)
        return r;
    memcpy(hex, all[alg], OCFL_DIGEST_HEX_MAX);
    return 0;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t ts_ns(const struct timespec *ts)
{
    return ts->tv_sec < 0 ? 0 : (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

/* Racy-git's rule: a file whose times are within 2 s of the moment it was stat'ed could be
 * changed again without changing them (timestamp granularity, clock skew): never trust it. */
static int settled(const struct stat *st, uint64_t stat_ns)
{
    const uint64_t margin = 2000000000u;

    return ts_ns(&st->st_mtim) + margin <= stat_ns && ts_ns(&st->st_ctim) + margin <= stat_ns;
}

int run_digest_file(struct run *run, const char *file, char hex[OCFL_DIGEST_HEX_MAX],
                    struct ocfl_err *err)
{
    struct stat st;
    uint64_t now = realtime_ns(); /* before the stat */
    int root = !strcmp(file, "inventory.json"), r;

    if (run->objfd < 0)
        return -ENOENT;
    /* The root inventory is checked at the start and again at the switch: tens of MB for a
     * large object.  Unchanged since the last digest (its inode, size and times), it needs no
     * second read. */
    if (root && fstatat(run->objfd, file, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (run->root_hex_valid && jdb_same_file(&st, &run->root_st) &&
            settled(&run->root_st, run->root_stat_ns)) {
            memcpy(hex, run->root_hex, OCFL_DIGEST_HEX_MAX);
            return 0;
        }
    } else {
        root = 0;
    }
    r = run_digest_at(run->objfd, file, run->alg, hex, err);
    if (r == 0 && root) {
        run->root_st = st;
        run->root_stat_ns = now;
        memcpy(run->root_hex, hex, OCFL_DIGEST_HEX_MAX);
        run->root_hex_valid = 1;
    }
    return r;
}

static int conflict(struct run *run, struct ocfl_err *err, const char *why)
{
    return ocfl_err_set(err, JOURNAL_CONFLICT, "conflict: object '%s' %s", run->p->object_id, why);
}

/* The object must still be at the plan's base (or absent, for a new object). */
static int check_base_digest(struct run *run, int r, const char *hex, struct ocfl_err *err)
{
    if (r == -ENOENT)
        return run->p->new_object ? 0 : conflict(run, err, "has no inventory.json any more");
    if (r < 0)
        return r;
    if (run->p->new_object)
        return conflict(run, err, "was created by someone else meanwhile");
    if (!ocfl_digest_equal(hex, run->p->base_digest))
        return conflict(run, err, "was updated by someone else since the plan was made");
    return 0;
}

static int check_base(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    int r = run_digest_file(run, "inventory.json", hex, err);

    return check_base_digest(run, r, hex, err);
}

int run_write_sidecar(int dirfd, const char *dir, const char *alg, const char *digest,
                      struct ocfl_err *err)
{
    char path[64 + 256], text[OCFL_DIGEST_HEX_MAX + 32];
    int n = snprintf(path, sizeof(path), "%s%sinventory.json.%s", dir, *dir ? "/" : "", alg);
    int m = snprintf(text, sizeof(text), "%s  inventory.json\n", digest);

    if (n < 0 || (size_t)n >= sizeof(path) || m < 0 || (size_t)m >= sizeof(text))
        return ocfl_err_set(err, -ENAMETOOLONG, "sidecar name too long in '%s'", dir);
    return ocfl_io_write_file_durable(dirfd, path, text, (size_t)m, err);
}

static int exec_declare(struct run *run, struct rstep *s, unsigned before, struct ocfl_err *err)
{
    char text[32];
    int r, n;

    r = ocfl_io_mkdirs(run->root->fd, run->p->object_path, 0755, err);
    if (r < 0)
        return r;
    r = run_open_object(run, err);
    if (r < 0)
        return r == -ENOENT ? ocfl_err_set(err, r, "'%s' vanished", run->p->object_path) : r;
    if (!before) {
        /* Our first attempt: the directory must be empty, or it is not ours. */
        int dfd = dup(run->objfd);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        struct dirent *e;
        int busy = 0;
        if (!d) {
            if (dfd >= 0)
                close(dfd);
            return ocfl_err_sys(err, -errno, "cannot read '%s'", run->p->object_path);
        }
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                busy = 1;
        closedir(d);
        if (busy)
            return conflict(run, err, "already exists (its directory is not empty)");
    }
    r = check_base(run, err);
    if (r < 0)
        return r;
    n = snprintf(text, sizeof(text), "%s\n", s->dest + 2); /* "0=ocfl_object_1.1" */
    if (n < 0 || (size_t)n >= sizeof(text))
        return -EINVAL;
    return ocfl_io_write_file_durable(run->objfd, s->dest, text, (size_t)n, err);
}

static int exec_version_dirs(struct run *run, struct rstep *s, unsigned before,
                             struct ocfl_err *err)
{
    const char *rel;
    int r = run_open_object(run, err);

    if (r < 0)
        return r == -ENOENT ? conflict(run, err, "has no directory") : r;
    r = check_base(run, err);
    if (r < 0)
        return r;
    /* The version directory claimed by an exclusive mkdir on the first attempt: of two
     * writers of one version, one gets EEXIST (a conflict), whatever their leases say. */
    if (!before) {
        r = ocfl_io_mkdir_nosync(run->objfd, run->p->version, 0755, err);
        if (r == 0)
            return conflict(run, err, "already has a version directory of the new version");
        if (r < 0)
            return r;
        r = ocfl_io_fsync_dir(run->objfd, "", err);
        if (r < 0)
            return r;
    } else {
        /* an attempt before this one may have died before its mkdir */
        r = ocfl_io_mkdirs(run->objfd, run->p->version, 0755, err);
        if (r < 0)
            return r;
    }
    /* the claimed directory's inode from here on (its fence after the open) */
    r = run_open_version(run, err);
    if (r < 0)
        return r;
    rel = run_version_rel(run, s->dest);
    return rel ? (*rel ? ocfl_io_mkdirs(run->vfd, rel, 0755, err) : 0)
               : ocfl_io_mkdirs(run->objfd, s->dest, 0755, err);
}

struct copy_progress {
    struct run *run;
    size_t idx;
};

static int on_copy_progress(void *ctx, uint64_t done)
{
    struct copy_progress *cp = ctx;

    jdb_step_progress(cp->run->j, cp->run->p->id, cp->idx, done);
    return 0;
}

/* Open the source of a step (relative to the state directory). */
static int open_source(struct run *run, const char *src)
{
    return ocfl_io_open(run->j->state_fd, src, O_RDONLY | O_CLOEXEC, 0);
}

int run_parent_mkdirs(int dirfd, const char *path, struct ocfl_err *err)
{
    char *dir = strdup(path), *slash;
    int r = 0;

    if (!dir)
        return -ENOMEM;
    slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        r = ocfl_io_mkdirs(dirfd, dir, 0755, err);
    }
    free(dir);
    return r;
}

/* A message from below names @rel, a path in the version directory: name it as the object
 * does, @full ('content/a.txt' becomes 'v2/content/a.txt'), as every message beneath an
 * object does. */
static void name_in_object(struct ocfl_err *err, const char *rel, const char *full)
{
    char quoted[PATH_MAX + 3], msg[sizeof err->msg];
    const char *at;
    int n;

    if (!err || !err->code)
        return;
    n = snprintf(quoted, sizeof quoted, "'%s'", rel);
    if (n < 0 || (size_t)n >= sizeof quoted || !(at = strstr(err->msg, quoted)))
        return;
    snprintf(msg, sizeof msg, "%.*s'%s'%s", (int)(at - err->msg), err->msg, full, at + n);
    memcpy(err->msg, msg, sizeof msg);
}

static int exec_content_in(struct run *run, size_t idx, struct rstep *s, int dfd, const char *dest,
                           struct ocfl_err *err);

static int exec_content(struct run *run, size_t idx, struct rstep *s, struct ocfl_err *err)
{
    const char *dest;
    int r;

    /* into the version directory this plan claimed (fenced after its open), never by name
     * beneath the object: a late writer's version directory may be another's by now */
    r = run_open_version(run, err);
    if (r < 0)
        return r;
    dest = run_version_rel(run, s->dest);
    if (!dest || !*dest)
        return ocfl_err_set(err, -EINVAL, "content step %zu: '%s' is not in '%s'", idx, s->dest,
                            run->p->version);
    r = exec_content_in(run, idx, s, run->vfd, dest, err);
    if (r < 0)
        name_in_object(err, dest, s->dest);
    return r;
}

static int exec_content_in(struct run *run, size_t idx, struct rstep *s, int dfd, const char *dest,
                           struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    struct copy_progress cp = {run, idx};
    int r, in;

    r = run_digest_at(dfd, dest, run->alg, hex, err);
    if (r == 0) {
        if (ocfl_digest_equal(hex, s->digest))
            return ocfl_io_unlink(run->j->state_fd, s->source, err); /* done before */
        r = ocfl_io_unlink(dfd, dest, err);                          /* a wrong or partial file */
        if (r < 0)
            return r;
    } else if (r != -ENOENT) {
        return r;
    }
    r = run_parent_mkdirs(dfd, dest, err);
    if (r < 0)
        return r;
    r = ocfl_io_rename(run->j->state_fd, s->source, dfd, dest, err);
    if (r == 0)
        return 0;
    if (r == -ENOENT)
        return ocfl_err_set(err, r, "staged file '%s' for '%s' is missing", s->source, s->dest);
    if (r != -EXDEV)
        return r;
    /* Another filesystem: copy, verify, then drop the source. */
    in = open_source(run, s->source);
    if (in < 0)
        return ocfl_err_sys(err, in, "cannot open staged file '%s'", s->source);
    r = ocfl_io_copy_fd_durable(in, dfd, dest, on_copy_progress, &cp, err);
    close(in);
    if (r < 0)
        return r;
    r = run_digest_at(dfd, dest, run->alg, hex, err);
    if (r < 0)
        return r;
    if (!ocfl_digest_equal(hex, s->digest)) {
        ocfl_io_unlink(dfd, dest, NULL);
        return ocfl_err_set(err, -EIO, "copy of '%s' to '%s' has the wrong digest", s->source,
                            s->dest);
    }
    return ocfl_io_unlink(run->j->state_fd, s->source, err);
}

int run_exec_content_at(struct run *run, size_t idx, unsigned attempt, unsigned before, int srcdir,
                        int dstdir, struct ocfl_err *err)
{
    struct journal *j = run->j;
    struct rstep *s = &run->p->steps[idx];
    const char *sname = strrchr(s->source, '/'), *dname = strrchr(s->dest, '/');

    sname = sname ? sname + 1 : s->source;
    dname = dname ? dname + 1 : s->dest;
    /* The common case, one rename between directories opened once per batch (the names
     * are single elements of paths checked when those directories were opened). */
    if (!((long)idx == j->fail_step && attempt <= j->fail_times) && *sname && *dname &&
        ocfl_io_rename(srcdir, sname, dstdir, dname, NULL) == 0)
        return 0;
    /* Missing source (moved before), another filesystem, a fault: the careful way. */
    return run_exec_step(run, idx, attempt, before, err);
}

static int exec_version_inv(struct run *run, struct rstep *s, struct ocfl_err *err)
{
    int r = run_open_version(run, err), vfd;

    if (r < 0)
        return r;
    /* the claimed version directory (fenced after its open), not its name */
    vfd = run_version_rel(run, s->dest) ? run_open_dir_in_object(run, s->dest) : -EINVAL;
    if (vfd < 0)
        return ocfl_err_sys(err, vfd, "cannot open '%s'", s->dest);
    /* The record's inode becomes the version inventory (the record's name goes when the
     * plan ends); else the bytes are written again. */
    r = run_link_record(run, vfd, err);
    if (r == 0)
        r = run_inventory(run, err);
    if (r == 0)
        r = ocfl_io_write_file_durable(vfd, "inventory.json", run->p->inventory,
                                       run->p->inventory_len, err);
    if (r >= 0)
        r = run_write_sidecar(vfd, "", run->p->alg, run->p->inventory_digest, err);
    close(vfd);
    return r;
}

int run_fence(struct run *run, struct ocfl_err *err)
{
    int r = jdb_fence(run->j, run->p->object_id, err);

    if (r < 0)
        run->fenced = 1;
    return r;
}

/* Test hook: stop (SIGSTOP) at switch moment @at (journal_int.h: JDB_STOP_*). */
static void stop_at(struct run *run, int at)
{
    if (run->j->stop_at_switch == at) {
        run->j->stop_at_switch = 0; /* once: a plan run again after its fence goes on */
        raise(SIGSTOP);
    }
}

/* The storage-side guard of the switch: the object still at the plan's base, its root
 * sidecar too.  Run after the fence, right before the rename: a writer paused after its
 * fence whose lease was taken over meanwhile finds the taker's version here and stops. */
static int check_switch_base(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX], side[OCFL_DIGEST_HEX_MAX];
    int r = run_digest_file(run, "inventory.json", hex, err);

    if (r < 0 && r != -ENOENT)
        return r;
    if (r == -ENOENT)
        ocfl_err_clear(err);
    r = check_base_digest(run, r, hex, err);
    if (r < 0 || run->p->new_object)
        return r;
    r = ocfl_object_read_sidecar(run->objfd, "", run->p->alg, side, err);
    if (r < 0 || !ocfl_digest_equal(side, run->p->base_digest))
        return conflict(run, err, "has a root sidecar that is not the plan's base");
    return 0;
}

/* A storage check after a fence failed with @r: when the lease is gone by now, the object
 * was moved on by the lease's taker: the fence's code (nothing recorded, not even in this
 * host's journal, which the taker has written meanwhile), else @r. */
static int refenced(struct run *run, int r, struct ocfl_err *err)
{
    struct ocfl_err e = {0};

    if (run_fence(run, &e) < 0) {
        if (err)
            *err = e;
        return e.code;
    }
    return r;
}

static int exec_root_inv(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    int r = run_digest_file(run, "inventory.json", hex, err);

    if (r == 0 && ocfl_digest_equal(hex, run->p->inventory_digest))
        return 0; /* switched before */
    if (r < 0 && r != -ENOENT)
        return r;
    ocfl_err_clear(err);
    stop_at(run, JDB_STOP_BEFORE_FENCE);
    /* still this writer's to switch (cluster leases)... */
    r = run_fence(run, err);
    if (r < 0)
        return r;
    stop_at(run, JDB_STOP_AFTER_FENCE);
    /* ...and the storage still at the base, checked after the fence (the same bytes as
     * above when nobody changed them: no second digest) */
    r = check_switch_base(run, err);
    if (r < 0)
        return refenced(run, r, err);
    stop_at(run, JDB_STOP_BEFORE_RENAME);
    r = run_rename_root_copy(run, err);
    if (r == 0)
        r = run_inventory(run, err);
    if (r == 0)
        r = ocfl_io_write_file_durable(run->objfd, "inventory.json", run->p->inventory,
                                       run->p->inventory_len, err);
    run->root_inv_written =
        r >= 0 && fstatat(run->objfd, "inventory.json", &run->written_st, AT_SYMLINK_NOFOLLOW) == 0;
    return r < 0 ? r : 0;
}

/* The root sidecar, after its fence: only over the plan's own root inventory (a late
 * writer whose taker moved the object on would name an old inventory: E060). */
static int exec_root_sidecar(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    struct stat st;
    int r = run_fence(run, err);

    if (r < 0)
        return r;
    stop_at(run, JDB_STOP_SIDECAR);
    /* Written (durably) by this process a step ago and the same file still (inode, size,
     * times: a rename by anyone else makes another): no need to read it back. */
    if (!(run->root_inv_written &&
          fstatat(run->objfd, "inventory.json", &st, AT_SYMLINK_NOFOLLOW) == 0 &&
          jdb_same_file(&st, &run->written_st))) {
        r = run_digest_file(run, "inventory.json", hex, err);
        if (r < 0)
            return r;
        if (r < 0)
            return refenced(run, r, err);
        if (!ocfl_digest_equal(hex, run->p->inventory_digest))
            return refenced(run, conflict(run, err, "has another root inventory than the plan's"),
                            err);
    }
    return run_write_sidecar(run->objfd, "", run->p->alg, run->p->inventory_digest, err);
}

static int exec_release(struct run *run, struct rstep *s, struct ocfl_err *err)
{
    struct stat st;

    if (fstatat(run->j->state_fd, s->source, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : ocfl_err_sys(err, -errno, "cannot stat '%s'", s->source);
    if (S_ISDIR(st.st_mode))
        return ocfl_io_remove_tree(run->j->state_fd, s->source, err);
    return ocfl_io_unlink(run->j->state_fd, s->source, err);
}

int run_exec_step(struct run *run, size_t idx, unsigned attempt, unsigned before,
                  struct ocfl_err *err)
{
    struct journal *j = run->j;
    struct rstep *s = &run->p->steps[idx];
    int r;

    if ((long)idx == j->fail_step && attempt <= j->fail_times)
        return ocfl_err_sys(err, j->fail_code, "injected fault at step %zu (attempt %u)", idx,
                            attempt);
    switch (s->kind) {
    case OCFL_STEP_DECLARE:
        return exec_declare(run, s, before, err);
    case OCFL_STEP_VERSION_DIRS:
        return exec_version_dirs(run, s, before, err);
    case OCFL_STEP_CONTENT:
        return exec_content(run, idx, s, err);
    case OCFL_STEP_VERSION_INV:
    case OCFL_STEP_ROOT_INV:
        if (run->p->inventory_lost.code) {
            if (err)
                *err = run->p->inventory_lost;
            return run->p->inventory_lost.code;
        }
        break;
    default:
        break;
    }
    switch (s->kind) {
    case OCFL_STEP_VERSION_INV:
        return exec_version_inv(run, s, err);
    case OCFL_STEP_ROOT_INV:
        r = run_open_object(run, err);
        return r < 0 ? r : exec_root_inv(run, err);
    case OCFL_STEP_ROOT_SIDECAR:
        r = run_open_object(run, err);
        return r < 0 ? r : exec_root_sidecar(run, err);
    case OCFL_STEP_RELEASE:
        return exec_release(run, s, err);
    case OCFL_STEP_PURGE_MOVE:
    case OCFL_STEP_PURGE_DELETE:
    case OCFL_STEP_PURGE_PRUNE:
        return run_exec_purge(run, s, err);
    default:
        return ocfl_err_set(err, -EINVAL, "unknown step kind at step %zu", idx);
    }
}
