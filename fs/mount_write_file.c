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
    mw_hash_put(fh->hj);
    pthread_mutex_destroy(&fh->mu);
    pthread_cond_destroy(&fh->cv);
    free(fh->path);
    free(fh->buf);
    free(fh);
}

/* A new handle (lock held); a writable one joins its object's list. */
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
    if (!writable)
        return fh;
    if (!(fh->path = strdup(path))) {
        fh->fd = -1;
        mw_fh_free(fh);
        return NULL;
    }
    snprintf(fh->scratch, sizeof(fh->scratch), "%s", scratch);
    fh->writable = 1;
    fh->epoch = mo->w->epoch;
    alg_name = mo->o && !mo->staged_new    ? mo->o->inv->digest_algorithm
               : m->root->digest_algorithm ? m->root->digest_algorithm
                                           : "sha512";
    fh->alg = ocfl_digest_alg_from_name(alg_name);
    fh->hj = mw_hash_new(m, mo, fd, scratch, path, fh->alg);
    for (struct mw_fh *o = mo->w->fhs; o; o = o->next)
        if (!strcmp(o->scratch, fh->scratch))
            o->shared = fh->shared = 1;
    if (fh->shared) /* two writers on one file: neither hash describes it */
        mw_hash_invalidate_scratch(fh->scratch, NULL);
    fh->next = mo->w->fhs;
    if (fh->next)
        fh->next->prev = fh;
    mo->w->fhs = fh;
    return fh;
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
        return rc < 0 ? mw_fail(m, mo, rc, &err) : 0;
    }
    if (staging_entry_writable(ret) && from_fd < 0) {
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
    return rc < 0 ? mw_fail(m, mo, rc, &err) : 0;
}

/*
 * Before writing through @fh: when a commit or discard happened since it
 * was checked, make sure its scratch file is still the path's writable
 * one, else copy up from its descriptor.  Inside the gate,
 * m->lock not held.
 */
int mw_revalidate(struct mount *m, struct mw_fh *fh)
{
    struct staging_entry e;
    int rc = 0, fd = -1;

    pthread_mutex_lock(&m->lock);
    if (fh->path && fh->epoch != fh->mo->w->epoch) {
        const struct ocfl_inventory *inv;
        rc = mw_inv(m, fh->mo, &inv);
        if (rc == 0)
            rc = staging_lookup(m->journal, fh->mo->id, inv, fh->path, &e, NULL);
        if (rc == 0 && e.kind == STAGING_NONE) {
            /* unlinked while open: the handle keeps its own bytes until the last close, and
             * nothing of them reaches a version */
            free(fh->path);
            fh->path = NULL;
        } else if (rc == 0 && !(staging_entry_writable(&e) && !strcmp(e.scratch, fh->scratch))) {
            rc = mw_make_writable(m, fh->mo, fh->path, -1, fh->fd, &fd, &e);
            if (rc == 0) {
                /* the job reads the frozen file: the commit hashes both */
                mw_hash_invalidate(fh->hj);
                mw_hash_put(fh->hj);
                fh->hj = NULL;
                close(fh->fd);
                fh->fd = fd;
                snprintf(fh->scratch, sizeof(fh->scratch), "%s", e.scratch);
                fh->cleared = 0;
            }
        }
        if (rc == 0)
            fh->epoch = fh->mo->w->epoch;
    }
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
    } else if (mw_is_head(n) && n->kind == MK_FILE && mw_staged(n->obj)) {
        const struct ocfl_inventory *inv;
        do {
            rc = mw_inv(m, n->obj, &inv);
            if (rc == 0)
                rc = staging_lookup(m->journal, n->obj->id, inv, n->path, &e, NULL);
        } while (rc == 0 && mw_frozen_scratch(&e) && mw_wait_moved(m, n->obj));
        if (rc == 0 && e.kind != STAGING_FILE)
            rc = -ENOENT;
        if (rc == 0 && !e.staged) {
            rc = 1; /* head content: the read side */
        } else if (rc == 0 && e.damaged[0]) {
            struct ocfl_err err = {0};
            ocfl_err_set(&err, -EIO, "'%s' is damaged: %s; rewrite it (O_TRUNC) or remove it",
                         n->path, e.damaged);
            rc = mw_fail(m, n->obj, -EIO, &err);
        } else if (rc == 0) {
            fd = open_source(m, n->obj, &e);
            rc = fd < 0 ? fd : 0;
            if (rc == 0 && !(fh = fh_new(m, n->obj, NULL, fd, NULL, 0)))
                rc = -ENOMEM;
            if (rc == 0) {
                fd = -1;
                fi->keep_cache = 0;
                fh->node = n;
                fh->io = mount_io_open(n, fi);
            }
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
    struct mw_fh *fh = mw_fh_of(fi);

    if (!fh) {
        mount_ops.read(req, ino, size, off, fi);
        return;
    }
    mount_reply_read(req, fh->fd, fh->buf, fh->len, size, off);
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
