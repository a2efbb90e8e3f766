/* mount_write_file.c: file data of the writable mount: create, open with copy-up, write (hashed
 * in the background, mount_hash.c), release, fsync. */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mount_write.h"

/* Files smaller than this get no size/digest record at release (the commit hashes them). */
#define REPORT_MIN_BYTES (256 << 10)

int64_t mw_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mw_fh_free(struct mw_fh *fh)
{
    if (!fh)
        return;
    if (fh->mo && fh->mo->w && (fh->prev || fh->mo->w->fhs == fh)) {
        if (fh->prev)
            fh->prev->next = fh->next;
        else
            fh->mo->w->fhs = fh->next;
        if (fh->next)
            fh->next->prev = fh->prev;
    }
    if (fh->fd >= 0)
        close(fh->fd);
    for (size_t i = 0; i < fh->n_retired; i++)
        close(fh->retired[i]);
    free(fh->retired);
    mw_hash_put(fh->hj);
    pthread_mutex_destroy(&fh->mu);
    pthread_cond_destroy(&fh->cv);
    free(fh->path);
    free(fh->buf);
    free(fh);
}

/* A new handle (lock held).  One with a @path (a writer, or a reader of a head file) joins its
 * object's list, so that renames, unlinks and commits find it. */
static struct mw_fh *fh_new(struct mount *m, struct mount_obj *mo, const char *path, int fd,
                            const char *scratch, int writable)
{
    struct mw_fh *fh = calloc(1, sizeof(*fh));
    const char *alg_name;

    if (!fh)
        return NULL;
    pthread_mutex_init(&fh->mu, NULL);
    pthread_cond_init(&fh->cv, NULL);
    fh->fd = fd;
    fh->mo = mo;
    if (!path)
        return fh;
    if (!(fh->path = strdup(path))) {
        fh->fd = -1;
        mw_fh_free(fh);
        return NULL;
    }
    fh->epoch = mo->w->epoch;
    fh->seen = mw_source_stamp(mo);
    if (writable) {
        snprintf(fh->scratch, sizeof(fh->scratch), "%s", scratch);
        fh->writable = 1;
        alg_name = mo->o && !mo->staged_new    ? mo->o->inv->digest_algorithm
                   : m->root->digest_algorithm ? m->root->digest_algorithm
                                               : "sha512";
        fh->alg = ocfl_digest_alg_from_name(alg_name);
        fh->hj = mw_hash_new(m, mo, fd, scratch, path, fh->alg);
        for (struct mw_fh *o = mo->w->fhs; o; o = o->next)
            if (o->writable && !strcmp(o->scratch, fh->scratch))
                o->shared = fh->shared = 1;
        if (fh->shared) /* two writers on one file: neither hash describes it */
            mw_hash_invalidate_scratch(fh->scratch, NULL);
    }
    fh->next = mo->w->fhs;
    if (fh->next)
        fh->next->prev = fh;
    mo->w->fhs = fh;
    return fh;
}

/* Room for one more retired descriptor (fh_switch_fd), taken before anything is changed. */
static int fh_reserve(struct mw_fh *fh)
{
    if (fh->n_retired < fh->cap_retired)
        return 0;
    size_t cap = fh->cap_retired ? fh->cap_retired * 2 : 2;
    int *t = realloc(fh->retired, cap * sizeof(*t));
    if (!t)
        return -ENOMEM;
    fh->retired = t;
    fh->cap_retired = cap;
    return 0;
}

/* Replace @fh's descriptor by @fd, after fh_reserve.  The old one stays open until the handle
 * is released: a read in another thread may still be using it.  Lock held. */
static void fh_switch_fd(struct mw_fh *fh, int fd)
{
    fh->retired[fh->n_retired++] = fh->fd;
    __atomic_store_n(&fh->fd, fd, __ATOMIC_RELEASE);
}

/* A descriptor on the current bytes of @e (scratch or committed content).  Lock held. */
static int open_source(struct mount *m, struct mount_obj *mo, const struct staging_entry *e)
{
    const char *cp;
    int fd;

    if (e->scratch[0]) {
        fd = openat(journal_state_fd(m->journal), e->scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
    }
    if (!mo->o || !(cp = ocfl_inventory_content_path(mo->o->inv, e->digest)))
        return -EIO;
    fd = ocfl_object_open_content(mo->o, cp, NULL);
    return fd < 0 ? -EIO : fd;
}

/*
 * A descriptor on the bytes head file @path of @mo shows now: its staged file, or its committed
 * content.  While a commit moves the frozen file it waits (m->lock released meanwhile), then
 * looks again.  Lock held.
 */
static int reader_fd(struct mount *m, struct mount_obj *mo, const char *path, int *ret_fd)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e = {0};
    struct ocfl_err err = {0};
    char *held = NULL; /* @path may be a node's, which a rename replaces while we wait */
    int rc;

    if (!mw_staged(mo)) { /* the head's bytes: no need to ask the staging index */
        struct ocfl_object *o;
        const struct ocfl_version *v;
        const struct ocfl_state_entry *se = NULL;
        if ((rc = mount_obj_get(m, mo, &o)) < 0)
            return rc;
        v = ocfl_inventory_version(o->inv, (unsigned)o->inv->n_versions);
        if (!v || mount_tree_classify(v, path, &se) != 1)
            return -ENOENT;
        e.kind = STAGING_FILE;
        snprintf(e.digest, sizeof(e.digest), "%s", se->digest);
    } else {
        for (;;) {
            rc = mw_inv(m, mo, &inv);
            if (rc == 0)
                rc = staging_lookup(m->journal, mo->id, inv, path, &e, &err);
            if (rc < 0 || !mw_frozen_scratch(&e) || !mw_moving(mo))
                break;
            if (!held && !(path = held = strdup(path))) {
                rc = -ENOMEM;
                break;
            }
            mw_wait_moved(m, mo);
        }
        if (rc < 0)
            rc = mw_fail(m, mo, rc, &err);
        else if (e.kind != STAGING_FILE)
            rc = e.kind == STAGING_DIR ? -EISDIR : -ENOENT;
        else if (e.damaged[0]) {
            ocfl_err_set(&err, -EIO, "'%s' is damaged: %s; rewrite it (O_TRUNC) or remove it", path,
                         e.damaged);
            rc = mw_fail(m, mo, -EIO, &err);
        }
        if (rc < 0) {
            free(held);
            return rc;
        }
    }
    rc = open_source(m, mo, &e);
    if (rc < 0)
        mount_log(m, "object '%s': cannot open the bytes of '%s' (%s)", mo->id, path,
                  e.scratch[0] ? e.scratch : e.digest);
    free(held);
    if (rc < 0)
        return rc;
    *ret_fd = rc;
    return 0;
}

/* Whether descriptors @a and @b are open on the same file. */
static int same_file(int a, int b)
{
    struct stat sa, sb;

    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/*
 * Before a read through reader @fh: when the file behind its path may have changed since it
 * chose its descriptor (a writer copied the path up, a commit or discard ran, the head moved),
 * take the path's current bytes.  An unlinked or replaced path (fh->path NULL) keeps what it
 * had, as POSIX keeps an unlinked file for its open descriptors.  Lock not held.
 */
static void reader_follow_locked(struct mount *m, struct mw_fh *fh)
{
    int fd = -1;

    if (fh->path && fh->seen != mw_source_stamp(fh->mo)) {
        int rc = reader_fd(m, fh->mo, fh->path, &fd);
        /* reader_fd looked last with the lock held until now: the stamp is the one it saw */
        uint64_t stamp = mw_source_stamp(fh->mo);
        if (rc == 0 && !same_file(fd, fh->fd) && fh_reserve(fh) == 0) {
            fh_switch_fd(fh, fd);
            fd = -1;
        }
        if (rc == 0 || rc == -ENOENT) /* gone by a discard: what it had is all there is */
            fh->seen = stamp;
    }
    if (fd >= 0)
        close(fd);
}

static void reader_follow(struct mount *m, struct mw_fh *fh)
{
    pthread_mutex_lock(&m->lock);
    reader_follow_locked(m, fh);
    pthread_mutex_unlock(&m->lock);
}

/* Whether @fh's path is @path (of length @len) or below it. */
static int on_path(const struct mw_fh *fh, const char *path, size_t len)
{
    return fh->path && !strncmp(fh->path, path, len) && (!fh->path[len] || fh->path[len] == '/');
}

int mw_before_unlink(struct mount *m, struct mount_obj *mo, const char *path, int *ret_frozen)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    size_t len = strlen(path);
    int rc, any = 0;

    *ret_frozen = 0;
    for (struct mw_fh *fh = mo->w ? mo->w->fhs : NULL; fh && !any; fh = fh->next)
        any = on_path(fh, path, len);
    if (!any)
        return 0;
    /* a reader may have to open the frozen file a commit is moving: let it finish */
    if (mw_wait_moved(m, mo))
        return 1;
    if ((rc = mw_inv(m, mo, &inv)) < 0 ||
        (rc = staging_lookup(m->journal, mo->id, inv, path, &e, NULL)) < 0)
        return rc;
    /* Writers are left alone (their fh->mu is not ours to take): one from before a commit
     * holds the frozen file, one since holds the path's writable file, if there is one. */
    *ret_frozen = e.kind == STAGING_FILE && !staging_entry_writable(&e);
    for (struct mw_fh *fh = mo->w->fhs; fh; fh = fh->next)
        if (!fh->writable && on_path(fh, path, len))
            reader_follow_locked(m, fh);
    return 0;
}

void mw_orphan(struct mount_obj *mo, const char *path, int frozen)
{
    size_t len = strlen(path);
    uint64_t id;

    if (!mo->w)
        return;
    id = ++mo->w->unlinks;
    for (struct mw_fh *fh = mo->w->fhs; fh; fh = fh->next)
        if (on_path(fh, path, len)) {
            free(fh->path);
            fh->path = NULL;
            fh->orphaned_by = id;
            /* a writer from before a commit holds the frozen file: it must not write it */
            fh->frozen_orphan = frozen || (fh->writable && fh->epoch != mo->w->epoch);
        }
}

static int make_writable_found(struct mount *m, struct mount_obj *mo,
                               const struct ocfl_inventory *inv, const char *path, int64_t trunc,
                               int from_fd, int *ret_fd, struct staging_entry *ret);

/*
 * Make @path writable in the current generation: its scratch file, or a
 * copy-up.  *ret_fd gets an O_RDWR descriptor; @trunc < 0 keeps the bytes.
 * With @from_fd >= 0 the copy is made from it (a handle whose scratch was
 * frozen or committed).  Lock held.
 */
int mw_make_writable(struct mount *m, struct mount_obj *mo, const char *path, int64_t trunc,
                     int from_fd, int *ret_fd, struct staging_entry *ret)
{
    const struct ocfl_inventory *inv = NULL;
    struct ocfl_err err = {0};
    int rc;

    char *held = NULL; /* @path may be a node's, which a rename replaces while we wait */

    for (;;) {
        if ((rc = mw_inv(m, mo, &inv)) < 0)
            break;
        rc = staging_lookup(m->journal, mo->id, inv, path, ret, &err);
        if (rc < 0) {
            rc = mw_fail(m, mo, rc, &err);
            break;
        }
        /* a frozen file a running commit may be moving: wait for it to end, look again */
        if (from_fd >= 0 || !mw_frozen_scratch(ret) || !mw_moving(mo))
            break;
        if (!held && !(path = held = strdup(path))) {
            rc = -ENOMEM;
            break;
        }
        mw_wait_moved(m, mo);
    }
    if (rc == 0)
        rc = make_writable_found(m, mo, inv, path, trunc, from_fd, ret_fd, ret);
    free(held);
    return rc;
}

/* The rest of mw_make_writable, once @ret is @path's entry. */
static int make_writable_found(struct mount *m, struct mount_obj *mo,
                               const struct ocfl_inventory *inv, const char *path, int64_t trunc,
                               int from_fd, int *ret_fd, struct staging_entry *ret)
{
    struct ocfl_err err = {0};
    int rc, src;

    if (ret->kind == STAGING_NONE)
        return -ENOENT;
    if (ret->kind == STAGING_DIR)
        return -EISDIR;
    if (ret->damaged[0] && trunc != 0) {
        ocfl_err_set(&err, -EIO, "'%s' is damaged: %s; rewrite it (O_TRUNC) or remove it", path,
                     ret->damaged);
        return mw_fail(m, mo, -EIO, &err);
    }
    if (ret->damaged[0]) { /* rewritten from nothing: the damaged bytes are not read */
        rc = staging_copy_up(m->journal, mo->id, inv, path, -1, 0, ret_fd, ret, &err);
        if (rc == 0)
            mo->w->copyups++;
        return rc < 0 ? mw_fail(m, mo, rc, &err) : 0;
    }
    /* writable in this generation already (another handle copied it up): those are the bytes,
     * whatever @from_fd holds (the generation before, frozen since) */
    if (staging_entry_writable(ret)) {
        int fd =
            openat(journal_state_fd(m->journal), ret->scratch, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return mw_fail(m, mo, -errno, NULL);
        if (trunc >= 0 && (rc = staging_truncate(m->journal, mo->id, path, trunc, &err)) < 0) {
            close(fd);
            return mw_fail(m, mo, rc, &err);
        }
        if (trunc >= 0) /* a background hash of its bytes is void */
            mw_hash_invalidate_scratch(ret->scratch, NULL);
        *ret_fd = fd;
        return 0;
    }
    src = from_fd >= 0 ? from_fd : open_source(m, mo, ret);
    if (src < 0)
        return mw_fail(m, mo, src, NULL);
    rc = staging_copy_up(m->journal, mo->id, inv, path, src, trunc, ret_fd, ret, &err);
    if (from_fd < 0)
        close(src);
    if (rc == 0)
        mo->w->copyups++;
    return rc < 0 ? mw_fail(m, mo, rc, &err) : 0;
}

/*
 * Writer @fh after a commit or discard (m->lock held): make sure its scratch file is still the
 * path's writable one.  When another handle copied the path up meanwhile, take that file;
 * when the path is unlinked, the handle is orphaned.  Else, with @copy_up, copy up from the
 * handle's descriptor (its frozen bytes); without, leave the handle to its next write.
 */
static int writer_follow(struct mount *m, struct mw_fh *fh, int copy_up)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    int rc, fd = -1;

    if (!fh->path || fh->epoch == fh->mo->w->epoch)
        return 0;
    rc = mw_inv(m, fh->mo, &inv);
    if (rc == 0)
        rc = staging_lookup(m->journal, fh->mo->id, inv, fh->path, &e, NULL);
    if (rc < 0)
        return rc;
    if (e.kind == STAGING_NONE) {
        /* unlinked while open: the handle keeps its own bytes until the last close, and
         * nothing of them reaches a version */
        free(fh->path);
        fh->path = NULL;
        fh->frozen_orphan = 1; /* fd is the file of the generation before */
        fh->orphaned_by = ++fh->mo->w->unlinks;
    } else if (!(staging_entry_writable(&e) && !strcmp(e.scratch, fh->scratch))) {
        if (!copy_up && !staging_entry_writable(&e))
            return 0; /* its own descriptor holds the path's bytes (frozen) */
        if ((rc = fh_reserve(fh)) < 0 ||
            (rc = mw_make_writable(m, fh->mo, fh->path, -1, fh->fd, &fd, &e)) < 0)
            return rc;
        /* the job reads the frozen file: the commit hashes both */
        mw_hash_invalidate(fh->hj);
        mw_hash_put(fh->hj);
        fh->hj = NULL;
        fh_switch_fd(fh, fd);
        snprintf(fh->scratch, sizeof(fh->scratch), "%s", e.scratch);
        fh->cleared = 0;
    }
    fh->epoch = fh->mo->w->epoch;
    return 0;
}

/* Whether @o was orphaned with @fh, by the same unlink. */
static int orphaned_with(const struct mw_fh *o, const struct mw_fh *fh)
{
    return !o->path && o->orphaned_by == fh->orphaned_by;
}

/*
 * An orphaned writer whose descriptor is a frozen file (a commit is moving it, or moved it,
 * into the object), which must not be written.  The handles orphaned with it must go on
 * sharing one file: the one a writer of the path's writable file holds, else a private copy
 * (which no version will hold) for them all.  Lock held.
 */
static int own_copy(struct mount *m, struct mw_fh *fh)
{
    struct ocfl_err err = {0};
    struct mw_fh *live = NULL, *fresh = NULL;
    struct mw_fh **move;
    int *fds;
    size_t n = 0, k = 0;
    int rc = 0, fd = -1;

    for (struct mw_fh *o = fh->mo->w->fhs; o; o = o->next) {
        if (!orphaned_with(o, fh))
            continue;
        n++;
        if (!o->frozen_orphan && o->fd >= 0 && o->writable && !live)
            live = o;
        else if (!o->frozen_orphan && o->fd >= 0 && !fresh)
            fresh = o; /* a reader that followed the path to its last bytes */
    }
    move = calloc(n, sizeof(*move));
    fds = calloc(n, sizeof(*fds));
    if (!move || !fds)
        rc = -ENOMEM;
    else if (live && (fd = fcntl(live->fd, F_DUPFD_CLOEXEC, 0)) < 0)
        rc = -errno;
    else if (!live &&
             (rc = staging_private_copy(m->journal, (fresh ? fresh : fh)->fd, &fd, &err)) < 0)
        rc = mw_fail(m, fh->mo, rc, &err);
    /* every descriptor and slot first: then nothing can fail half-way.  With a live writer
     * the frozen ones join it; else all of them take the copy. */
    for (struct mw_fh *o = fh->mo->w->fhs; o && rc == 0; o = o->next) {
        if (!orphaned_with(o, fh) || (live && !o->frozen_orphan))
            continue;
        if ((rc = fh_reserve(o)) < 0)
            break;
        if ((fds[k] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
            rc = -errno;
            mount_log(m, "object '%s': cannot share an unlinked file among its descriptors (%s)",
                      fh->mo->id, strerror(errno));
            break;
        }
        move[k++] = o;
    }
    for (size_t i = 0; i < k; i++) {
        struct mw_fh *o = move[i];
        if (rc < 0) {
            close(fds[i]);
            continue;
        }
        mw_hash_invalidate(o->hj);
        mw_hash_put(o->hj);
        o->hj = NULL;
        fh_switch_fd(o, fds[i]);
        o->scratch[0] = '\0'; /* no row describes it */
        o->frozen_orphan = 0;
    }
    if (fd >= 0)
        close(fd);
    free(move);
    free(fds);
    return rc;
}

/*
 * Before writing through @fh: follow the path (writer_follow, with copy-up), and clear the
 * row's digest once.  Inside the gate, fh->mu held, m->lock not held.
 */
int mw_revalidate(struct mount *m, struct mw_fh *fh)
{
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = writer_follow(m, fh, 1);
    if (rc == 0 && fh->frozen_orphan)
        rc = own_copy(m, fh);
    if (rc == 0 && fh->path && !fh->cleared) {
        struct stat st;
        struct ocfl_err err = {0};
        /* the row's digest (kept by a copy-up) no longer describes the bytes */
        if (fstat(fh->fd, &st) == 0 &&
            (rc = staging_set_written(m->journal, fh->mo->id, fh->path, st.st_size, mw_now_ns(),
                                      NULL, &err)) < 0)
            mw_fail(m, fh->mo, rc, &err);
        rc = 0;
        /* a hash of these bytes by another (closed) handle is void from now on */
        mw_hash_invalidate_scratch(fh->scratch, fh->hj);
        fh->cleared = 1;
        fh->report = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

static void reply_open(fuse_req_t req, struct mount *m, struct fuse_file_info *fi, struct mw_fh *fh)
{
    fi->fh = (uint64_t)(uintptr_t)fh | 1;
    if (fuse_reply_open(req, fi) == -ENOENT) {
        pthread_mutex_lock(&m->lock);
        mount_io_release(m, NULL, fh->node, fh->io);
        mw_fh_free(fh);
        pthread_mutex_unlock(&m->lock);
    }
}

void mw_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                  struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_node *p, *n = NULL;
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    struct ocfl_err err = {0};
    struct fuse_entry_param ep;
    struct mw_fh *fh = NULL;
    struct stat st;
    char path[4096];
    int rc, fd = -1;

    pthread_mutex_lock(&m->lock);
    p = mount_node_by_ino(&m->nodes, parent);
    if (!p)
        rc = -ESTALE;
    else if (p->kind == MK_ROOT)
        rc = -EPERM; /* the root holds objects only */
    else if (!mw_is_head(p))
        rc = -EROFS;
    else if (mount_join(p->path, name, path, sizeof(path)) < 0)
        rc = -ENAMETOOLONG;
    else if (!mw_wobj(p->obj))
        rc = -ENOMEM;
    else if ((rc = mw_inv(m, p->obj, &inv)) == 0) {
        p->obj->w->staged = 1;
        rc = staging_create(m->journal, p->obj->id, inv, path, mode & 07777, &fd, &e, &err);
        if (rc < 0)
            rc = mw_fail(m, p->obj, rc, &err);
        else
            p->obj->w->copyups++;
    }
    if (rc == 0 && !(n = mount_node_get(&m->nodes, MK_FILE, p->obj, 0, path)))
        rc = -ENOMEM;
    if (rc == 0)
        rc = mw_stat(m, n, &st);
    if (rc == 0 && !(fh = fh_new(m, p->obj, path, fd, e.scratch, 1)))
        rc = -ENOMEM;
    if (rc == 0) {
        fd = -1;
        fh->cleared = fh->report = 1;
        fi->keep_cache = 0;
        fi->direct_io = 1; /* as a writable open (mw_op_open) */
        fh->node = n;
        fh->io = mount_io_open(n, fi);
        mount_node_lookup(&m->nodes, n);
        mount_fill_entry(m, n, &st, &ep);
        ep.attr_timeout = 1.0;
    }
    pthread_mutex_unlock(&m->lock);
    if (fd >= 0)
        close(fd);
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)fh | 1;
    if (fuse_reply_create(req, &ep, fi) == -ENOENT) {
        pthread_mutex_lock(&m->lock);
        mount_io_release(m, NULL, fh->node, fh->io);
        mw_fh_free(fh);
        pthread_mutex_unlock(&m->lock);
    }
}

void mw_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    int wr = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
    struct staging_entry e;
    struct mount_node *n;
    struct mw_fh *fh = NULL;
    int rc = 1, fd = -1;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    if (!n) {
        rc = -ESTALE;
    } else if (n->kind == MK_CTL_COMMIT || n->kind == MK_CTL_DISCARD || n->kind == MK_CTL_STATUS ||
               n->kind == MK_ROOT_STATUS || n->kind == MK_ROOT_PLAN) {
        if (wr && n->kind != MK_CTL_COMMIT && n->kind != MK_CTL_DISCARD)
            rc = -EACCES;
        else if (!(fh = fh_new(m, n->obj, NULL, -1, NULL, 0)))
            rc = -ENOMEM;
        else {
            fh->kind = n->kind;
            rc = 0;
            if (n->kind != MK_CTL_DISCARD && !(wr && !(fi->flags & O_RDWR)))
                rc = mw_ctl_content(m, n, &fh->buf, &fh->len);
            fi->direct_io = 1;
        }
    } else if (mw_is_head(n) && n->kind == MK_FILE && wr) {
        if (!mw_wobj(n->obj)) {
            rc = -ENOMEM;
        } else {
            n->obj->w->staged = 1;
            rc = mw_make_writable(m, n->obj, n->path, (fi->flags & O_TRUNC) ? 0 : -1, -1, &fd, &e);
            if (rc == 0 && !(fh = fh_new(m, n->obj, n->path, fd, e.scratch, 1)))
                rc = -ENOMEM;
            if (rc == 0) {
                fd = -1;
                fi->keep_cache = 0;
                /* Direct: one write(2) arrives whole (up to max_write), never cut at a page
                 * the kernel does not hold, so a commit between the parts cannot take half of
                 * it.  (Through the page cache a write starting inside such a page comes as
                 * two requests.) */
                fi->direct_io = 1;
                fh->node = n;
                fh->io = mount_io_open(n, fi);
            }
        }
    } else if (mw_is_head(n) && n->kind == MK_FILE) {
        /* a reader: served here, not by passthrough, so that it can follow the path to the
         * bytes a writer of it puts in another file (a copy-up) */
        rc = mw_wobj(n->obj) ? reader_fd(m, n->obj, n->path, &fd) : -ENOMEM;
        if (rc == 0 && !(fh = fh_new(m, n->obj, n->path, fd, NULL, 0)))
            rc = -ENOMEM;
        if (rc == 0) {
            fd = -1;
            /* the page cache stays coherent with writes made through the mount (mw_op_write);
             * staged bytes may also change by a discard, so they start afresh */
            fi->keep_cache = !mw_staged(n->obj);
            fh->node = n;
            fh->io = mount_io_open(n, fi);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (fd >= 0)
        close(fd);
    if (rc == 1) {
        mount_ops.open(req, ino, fi);
    } else if (rc < 0) {
        if (fh) {
            pthread_mutex_lock(&m->lock);
            mw_fh_free(fh);
            pthread_mutex_unlock(&m->lock);
        }
        fuse_reply_err(req, -rc);
    } else {
        reply_open(req, m, fi, fh);
    }
}

void mw_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mw_fh *fh = mw_fh_of(fi);

    if (!fh) {
        mount_ops.read(req, ino, size, off, fi);
        return;
    }
    /* the bytes of the path now, whichever descriptor wrote them */
    if (fh->writable) {
        pthread_mutex_lock(&fh->mu);
        pthread_mutex_lock(&m->lock);
        if (fh->seen != mw_source_stamp(fh->mo) && writer_follow(m, fh, 0) == 0)
            fh->seen = mw_source_stamp(fh->mo);
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&fh->mu);
    } else if (fh->path) {
        reader_follow(m, fh);
    }
    mount_reply_read(req, __atomic_load_n(&fh->fd, __ATOMIC_ACQUIRE), fh->buf, fh->len, size, off);
}

void mw_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                 struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mw_fh *fh = mw_fh_of(fi);
    ssize_t k;
    int rc;

    (void)ino;
    if (!fh || (!fh->writable && fh->kind != MK_CTL_COMMIT && fh->kind != MK_CTL_DISCARD)) {
        fuse_reply_err(req, EBADF);
        return;
    }
    if (fh->kind == MK_CTL_COMMIT || fh->kind == MK_CTL_DISCARD) {
        rc = fh->kind == MK_CTL_COMMIT ? mw_commit(m, fh->mo, buf, size) : mw_discard(m, fh->mo);
        if (rc < 0)
            fuse_reply_err(req, -rc);
        else
            fuse_reply_write(req, size);
        return;
    }
    mw_gate_enter(fh->mo->w);
    pthread_mutex_lock(&fh->mu);
    rc = mw_revalidate(m, fh);
    int fd = fh->fd, counted = rc == 0;
    if (counted)
        fh->inflight++;
    pthread_mutex_unlock(&fh->mu);
    k = -1;
    if (rc == 0) {
        k = pwrite(fd, buf, size, off);
        if (k < 0)
            rc = -errno;
    }
    mw_gate_leave(fh->mo->w);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_write(req, (size_t)k);
    if (!counted)
        return;
    /* account after replying: the next write is on its way meanwhile (buf lives until we
     * return); the hasher threads read the bytes back from the page cache */
    pthread_mutex_lock(&fh->mu);
    if (k > 0 && fh->hj && (uint64_t)off > fh->seq_off) {
        /* an earlier write may still be in flight: wait for it a little */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (fh->hj && fh->inflight > 1 && (uint64_t)off > fh->seq_off &&
               pthread_cond_timedwait(&fh->cv, &fh->mu, &until) == 0)
            ;
    }
    if (fh->broken && fh->hj) {
        mw_hash_invalidate(fh->hj);
        mw_hash_put(fh->hj);
        fh->hj = NULL;
    }
    if (k > 0 && fh->hj && (uint64_t)off == fh->seq_off) {
        fh->seq_off += (uint64_t)k;
        mw_hash_extend(fh->hj, fh->seq_off);
    } else if (k > 0 && fh->hj) {
        mw_hash_invalidate(fh->hj); /* not sequential from 0: hashed at commit */
        mw_hash_put(fh->hj);
        fh->hj = NULL;
    }
    fh->inflight--;
    pthread_cond_broadcast(&fh->cv);
    pthread_mutex_unlock(&fh->mu);
}

/* Wait until every replied write of @fh is accounted (handed to the hasher). */
static void drain(struct mw_fh *fh)
{
    pthread_mutex_lock(&fh->mu);
    while (fh->inflight)
        pthread_cond_wait(&fh->cv, &fh->mu);
    pthread_mutex_unlock(&fh->mu);
}

/* Record @fh's size (and digest when written sequentially and already hashed) on its row.
 * Lock held. */
static void report(struct mount *m, struct mw_fh *fh)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    struct ocfl_err err = {0};
    char hex[OCFL_DIGEST_HEX_MAX];
    const char *digest = NULL;
    struct stat st;
    int rc;

    if (!fh->path || !fh->report || fstat(fh->fd, &st) < 0)
        return;
    /* small files are hashed at commit faster than a transaction per close */
    if (st.st_size < REPORT_MIN_BYTES)
        return;
    /* only when the path still is this handle's scratch file */
    if (mw_inv(m, fh->mo, &inv) < 0 ||
        staging_lookup(m->journal, fh->mo->id, inv, fh->path, &e, NULL) < 0 ||
        !staging_entry_writable(&e) || strcmp(e.scratch, fh->scratch))
        return;
    if (fh->hj && (fh->shared || fh->broken || fh->seq_off != (uint64_t)st.st_size)) {
        mw_hash_invalidate(fh->hj);
        mw_hash_put(fh->hj);
        fh->hj = NULL;
    }
    /* when the hasher caught up already; else it records the digest after release */
    if (fh->hj && mw_hash_digest_now(fh->hj, (uint64_t)st.st_size, hex)) {
        digest = hex;
        mw_hash_put(fh->hj);
        fh->hj = NULL;
    }
    rc = staging_set_written(m->journal, fh->mo->id, fh->path, st.st_size,
                             (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, digest,
                             &err);
    if (rc < 0)
        mw_fail(m, fh->mo, rc, &err);
    fh->report = 0;
    fh->cleared = 0; /* a later write (through a dup) clears the digest again */
}

void mw_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mw_fh *fh = mw_fh_of(fi);

    if (!fh) {
        mount_ops.release(req, ino, fi);
        return;
    }
    if (fh->writable)
        drain(fh);
    pthread_mutex_lock(&m->lock);
    if (fh->writable)
        report(m, fh);
    if (fh->hj) {
        /* small files are hashed at commit faster than a transaction per close */
        if (fh->shared || fh->broken || fh->seq_off < REPORT_MIN_BYTES)
            mw_hash_invalidate(fh->hj);
        mw_hash_release(fh->hj, fh->path);
        fh->hj = NULL;
    }
    mount_io_release(m, req, fh->node, fh->io);
    mw_fh_free(fh);
    pthread_mutex_unlock(&m->lock);
    fuse_reply_err(req, 0);
}

void mw_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mw_fh *fh = mw_fh_of(fi);

    /* close(2) waits for this (release comes later): a commit right after close finds the
     * digest of a sequentially written file already recorded */
    (void)ino;
    if (fh && fh->writable) {
        drain(fh);
        pthread_mutex_lock(&m->lock);
        report(m, fh);
        pthread_mutex_unlock(&m->lock);
    }
    fuse_reply_err(req, 0);
}

/* A failed flush of staged bytes: the kernel reports a writeback error once per
 * descriptor, so the file is marked damaged rather than trusted after a retry. */
static int sync_failed(struct mount *m, struct mount_obj *mo, const char *scratch, int rc)
{
    struct ocfl_err err = {0};
    char why[128];

    snprintf(why, sizeof(why), "flushing its staged data '%s' failed: %s", scratch, strerror(-rc));
    if (staging_mark_damaged(m->journal, scratch, why, &err) < 0)
        mw_fail(m, mo, -EIO, &err);
    ocfl_err_set(&err, rc, "%s", why);
    return mw_fail(m, mo, rc, &err);
}

/* Flush the staged bytes of scratch file @scratch through @fd and record them as durable. */
static int sync_scratch(struct mount *m, struct mount_obj *mo, int fd, const char *scratch,
                        int datasync)
{
    struct ocfl_err err = {0};
    struct stat st;
    int rc;

    /* the bytes below the size seen before the flush are on disk once it returns */
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((datasync ? fdatasync(fd) : fsync(fd)) < 0)
        return sync_failed(m, mo, scratch, -errno);
    rc = staging_sync_scratch(m->journal, scratch, st.st_size, &err);
    return rc < 0 ? mw_fail(m, mo, rc, &err) : 0;
}

/*
 * fsync through a handle that did not write (a reader, `sync FILE`, a handle of the read
 * side opened before the file was staged): whatever the path's staged bytes are now, they
 * are flushed as if its writer had asked.
 */
static int sync_node(struct mount *m, fuse_ino_t ino, int datasync)
{
    struct mount_node *n;
    struct mount_obj *mo = NULL;
    struct staging_entry e = {0};
    struct ocfl_err err = {0};
    char *path = NULL;
    int rc = 0, fd;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    if (n && n->kind == MK_FILE && mw_is_head(n) && mw_staged(n->obj)) {
        const struct ocfl_inventory *inv;
        mo = n->obj;
        rc = mw_inv(m, mo, &inv);
        if (rc == 0)
            rc = staging_lookup(m->journal, mo->id, inv, n->path, &e, &err);
        if (rc < 0)
            rc = mw_fail(m, mo, rc, &err);
        else if (e.staged && !(path = strdup(n->path)))
            rc = -ENOMEM;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc < 0 || !path)
        return rc; /* committed content (or no file): durable already */
    if (e.scratch[0]) {
        fd = openat(journal_state_fd(m->journal), e.scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            rc = sync_scratch(m, mo, fd, e.scratch, datasync);
            close(fd);
        } else if (errno != ENOENT) {
            rc = -errno;
        } /* else moved into the object by a commit: durable by it */
    } else if ((rc = staging_sync(m->journal, mo->id, path, &err)) < 0) {
        rc = rc == -ENOENT ? 0 : mw_fail(m, mo, rc, &err);
    }
    free(path);
    return rc;
}

void mw_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mw_fh *fh = mw_fh_of(fi);
    int rc;

    if (fh && fh->fd >= 0 && fh->writable && fh->scratch[0])
        /* the file this handle writes, even when a commit froze or took it meanwhile */
        rc = sync_scratch(m, fh->mo, fh->fd, fh->scratch, datasync);
    else
        rc = sync_node(m, ino, datasync);
    fuse_reply_err(req, -rc);
}
