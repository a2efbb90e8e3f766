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
#define REPORT_MIN_BYTES MW_HASH_MIN_BYTES

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
    free(fh->opener);
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

static void reply_open(fuse_req_t req, struct mount *m, struct fuse_file_info *fi, struct mw_fh *fh)
{
    fi->fh = (uint64_t)(uintptr_t)fh | 1;
    if (fh->pt_writer)
        fi->noflush = 1; /* mw_op_flush has nothing to do for it: a round trip less per close */
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
    else if ((rc = mw_inv(m, p->obj, &inv)) == 0 && (rc = mw_path_fits(path, name)) == 0) {
        int64_t uid, gid;
        p->obj->w->staged = 1;
        mw_new_owner(m, req, p, &uid, &gid, NULL);
        rc = staging_create(m->journal, p->obj->id, inv, path, mode & 07777, uid, gid, &fd, &e,
                            &err);
        if (rc < 0)
            rc = mw_fail(m, p->obj, path, rc, &err);
        else
            p->obj->w->copyups++;
    }
    if (rc == 0 && !(n = mount_node_get(&m->nodes, MK_FILE, p->obj, 0, path)))
        rc = -ENOMEM;
    if (rc == 0) {
        mw_stat_memo(n, &e); /* the row just made */
        rc = mw_stat(m, n, &st);
        mw_stat_memo(NULL, NULL);
    }
    if (rc == 0 && !(fh = fh_new(m, p->obj, path, fd, e.scratch, 1)))
        rc = -ENOMEM;
    if (rc == 0) {
        fd = -1;
        fh->cleared = fh->report = 1;
        fi->keep_cache = 0;
        fi->direct_io = 1; /* as a writable open (mw_op_open) */
        fh->node = n;
        /* not while a commit runs: it has listed the files it must copy already */
        if (m->write_passthrough && !(mode & (S_ISUID | S_ISGID)) && !p->obj->w->committing)
            fh->io = mount_io_open_writer(m, req, n, fh->fd, fi);
        else
            fh->io = mount_io_open(n, fi);
        fh->pt_writer = fh->io == MOUNT_IO_PT;
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
    if (fh->pt_writer)
        fi->noflush = 1; /* as in reply_open */
    if (fuse_reply_create(req, &ep, fi) == -ENOENT) {
        pthread_mutex_lock(&m->lock);
        mount_io_release(m, NULL, fh->node, fh->io);
        mw_fh_free(fh);
        pthread_mutex_unlock(&m->lock);
    }
}

/* Refuse an open of head file @n whose inode the kernel has backed by a file that is not the
 * path's (writable) file any more: every open of it must be passthrough to that file (lock
 * held).  0 when it is, or when the inode has no backing. */
static int backing_still_path(struct mount *m, struct mount_node *n, int writable)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    struct ocfl_err err = {0};
    struct stat st;
    int rc = 0;

    if (!n->backing_id)
        return 0;
    if ((rc = mw_inv(m, n->obj, &inv)) == 0 &&
        (rc = staging_lookup(m->journal, n->obj->id, inv, n->path, &e, NULL)) == 0 &&
        (!e.scratch[0] || (writable && !staging_entry_writable(&e)) ||
         fstatat(journal_state_fd(m->journal), e.scratch, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
         st.st_dev != n->backing_dev || st.st_ino != n->backing_ino))
        rc = -EBUSY;
    if (rc == -EBUSY)
        ocfl_err_set(&err, rc,
                     "'%s' is still open through kernel passthrough on bytes it no longer has: "
                     "it opens again once those have been closed",
                     n->path);
    return rc < 0 ? mw_fail(m, n->obj, n->path, rc, rc == -EBUSY ? &err : NULL) : 0;
}

/*
 * Whether the staged file of head file @n may be written by someone the daemon does not see
 * before this open adds its own descriptor (lock held): a shared writable mapping an earlier
 * passthrough writer kept after close(2).  A writer opened beside such a mapping makes no
 * background digest (the mapping may change bytes it hashed); the commit hashes, or copies.
 */
static int written_elsewhere(struct mount *m, struct mount_node *n)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;

    if (mw_inv(m, n->obj, &inv) < 0 ||
        staging_lookup(m->journal, n->obj->id, inv, n->path, &e, NULL) < 0)
        return 1;
    return e.scratch[0] && staging_entry_writable(&e) &&
           staging_scratch_written_elsewhere(m->journal, e.scratch) != 0;
}

/*
 * How the kernel serves handle @fh of a head file (lock held): as any open, or, while the inode
 * is backed by a passthrough writer's scratch file, by passthrough to the same file (then a
 * writer is a passthrough writer too, and what was hashed of the file before is void).
 * -EBUSY when the path names other bytes by now.
 */
static int open_io(struct mount *m, struct mw_fh *fh, struct fuse_file_info *fi)
{
    struct mount_node *n = fh->node;
    struct stat st;
    int rc;

    if (!n->backing_id) {
        fh->io = mount_io_open(n, fi);
        return 0;
    }
    rc = mount_io_join_backing(m, n, fh->fd, fi);
    if (rc < 0) {
        struct ocfl_err err = {0};
        ocfl_err_set(&err, rc,
                     "'%s' is still open through kernel passthrough on bytes it no longer has: "
                     "it opens again once those have been closed",
                     n->path);
        fh->node = NULL;
        return mw_fail(m, n->obj, n->path, rc, &err);
    }
    fh->io = MOUNT_IO_PT;
    fh->pt_writer = fh->writable;
    if (fh->writable) {
        /* as a first write does (mw_revalidate): the writes of this one go unseen */
        struct ocfl_err err = {0};
        mw_hash_invalidate_scratch(fh->scratch, fh->hj);
        if (fstat(fh->fd, &st) == 0 &&
            (rc = staging_set_written(m->journal, fh->mo->id, fh->path, st.st_size, mw_now_ns(),
                                      NULL, &err)) < 0)
            mw_fail(m, fh->mo, fh->path, rc, &err);
        fh->cleared = fh->report = 1;
    }
    return 0;
}

static void kill_priv(struct mount *m, struct mw_fh *fh);

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
            if (wr && !(fh->opener = malloc(sizeof(*fh->opener))))
                rc = -ENOMEM;
            else if (wr)
                mw_caller_of(req, fh->opener);
            if (rc == 0 && n->kind != MK_CTL_DISCARD && !(wr && !(fi->flags & O_RDWR)))
                rc = mw_ctl_content(m, n, &fh->buf, &fh->len);
            fi->direct_io = 1;
        }
    } else if (mw_is_head(n) && n->kind == MK_FILE && wr) {
        if (!mw_wobj(n->obj)) {
            rc = -ENOMEM;
        } else {
            /* an inode the kernel writes by passthrough takes only passthrough opens, whose
             * writes the daemon never sees: none while a commit runs, which has listed the
             * files it must copy rather than move */
            while (n->backing_id && n->obj->w->committing)
                pthread_cond_wait(&n->obj->w->moved_cv, &m->lock);
            mount_io_drop_stale_backing(req, n);
            n->obj->w->staged = 1;
            /* refused before anything is copied up or truncated */
            rc = backing_still_path(m, n, 1);
            int unseen = rc == 0 && m->write_passthrough && written_elsewhere(m, n);
            if (rc == 0)
                rc = mw_make_writable(m, n->obj, n->path, (fi->flags & O_TRUNC) ? 0 : -1, -1, &fd,
                                      &e);
            if (rc == 0 && !(fh = fh_new(m, n->obj, n->path, fd, e.scratch, 1)))
                rc = -ENOMEM;
            if (rc == 0 && unseen && fh->hj) { /* its digest would not describe the bytes */
                mw_hash_invalidate(fh->hj);
                mw_hash_put(fh->hj);
                fh->hj = NULL;
            }
            if (rc == 0) {
                const struct fuse_ctx *ctx = fuse_req_ctx(req);
                struct stat cur;
                fd = -1;
                /* root keeps the bits (CAP_FSETID); set-group-ID only with group execute */
                if (ctx->uid != 0 && mw_node_stat(m, n, &cur) == 0 && cur.st_uid != ctx->uid &&
                    ((cur.st_mode & S_ISUID) ||
                     (cur.st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP)))
                    fh->kill_priv = 1;
                fi->keep_cache = 0;
                /* Direct: one write(2) arrives whole (up to max_write), never cut at a page
                 * the kernel does not hold, so a commit between the parts cannot take half of
                 * it.  (Through the page cache a write starting inside such a page comes as
                 * two requests.) */
                fi->direct_io = 1;
                fh->node = n;
                rc = open_io(m, fh, fi);
            }
        }
    } else if (mw_is_head(n) && n->kind == MK_FILE) {
        /* a reader: served here, not by passthrough, so that it can follow the path to the
         * bytes a writer of it puts in another file (a copy-up) */
        mount_io_drop_stale_backing(req, n);
        rc = mw_wobj(n->obj) ? mw_reader_fd(m, n->obj, n->path, &fd) : -ENOMEM;
        if (rc == 0 && !(fh = fh_new(m, n->obj, n->path, fd, NULL, 0)))
            rc = -ENOMEM;
        if (rc == 0) {
            fd = -1;
            /* the page cache stays coherent with writes made through the mount (mw_op_write);
             * staged bytes may also change by a discard, so they start afresh */
            fi->keep_cache = !mw_staged(n->obj);
            fh->node = n;
            rc = open_io(m, fh, fi);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == 0 && fh && fh->pt_writer && fh->kill_priv)
        kill_priv(m, fh); /* its writes are not seen: the set-ID bits go at once */
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
        if (fh->seen != mw_source_stamp(fh->mo) && mw_writer_follow(m, fh, 0) == 0)
            fh->seen = mw_source_stamp(fh->mo);
        pthread_mutex_unlock(&m->lock);
        pthread_mutex_unlock(&fh->mu);
    } else if (fh->path) {
        mw_reader_follow(m, fh);
    }
    mount_reply_read(req, __atomic_load_n(&fh->fd, __ATOMIC_ACQUIRE), fh->buf, fh->len, size, off);
}

/* A write by another user than the owner: set-user-ID and set-group-ID go (once). */
static void kill_priv(struct mount *m, struct mw_fh *fh)
{
    const struct ocfl_inventory *inv;
    struct stat cur;
    fuse_ino_t ino = 0;

    pthread_mutex_lock(&m->lock);
    fh->kill_priv = 0;
    if (fh->path && fh->node && mw_node_stat(m, fh->node, &cur) == 0 &&
        (cur.st_mode & (S_ISUID | S_ISGID)) && mw_inv(m, fh->mo, &inv) == 0 &&
        staging_set_attr(m->journal, fh->mo->id, inv, fh->path,
                         (int64_t)(cur.st_mode & 07777 & ~(mode_t)(S_ISUID | S_ISGID)), -1, -1, -1,
                         -1, NULL) == 0)
        ino = fh->node->ino;
    pthread_mutex_unlock(&m->lock);
    if (ino) /* the kernel's cached mode is stale: attributes only, no page lock needed */
        fuse_lowlevel_notify_inval_inode(m->session, ino, -1, 0);
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
        struct mw_caller who;
        /* the opener's rights and name, whoever writes (the kernel checked the opener) */
        if (fh->opener)
            who = *fh->opener;
        else
            mw_caller_of(req, &who);
        rc = fh->kind == MK_CTL_COMMIT ? mw_commit(m, fh->mo, &who, buf, size)
                                       : mw_discard(m, fh->mo, &who);
        if (rc < 0)
            fuse_reply_err(req, -rc);
        else
            fuse_reply_write(req, size);
        return;
    }
    __atomic_fetch_add(&m->n_writes, 1, __ATOMIC_RELAXED);
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
    if (k < 0 && rc < 0 && counted) { /* a full disk, an I/O error (the path under the lock) */
        pthread_mutex_lock(&m->lock);
        mw_fail(m, fh->mo, fh->path, rc, NULL);
        pthread_mutex_unlock(&m->lock);
    }
    if (rc == 0 && k > 0 && fh->kill_priv)
        kill_priv(m, fh);
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
        if (fh->seq_off >= MW_HASH_MIN_BYTES)
            mw_hash_source(fh->hj, fd);
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

/* Record @fh's size @st (and digest when written sequentially and already hashed) on its
 * row.  Lock held. */
static void report_stat(struct mount *m, struct mw_fh *fh, struct stat st)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    struct ocfl_err err = {0};
    char hex[OCFL_DIGEST_HEX_MAX];
    const char *digest = NULL;
    int rc;

    if (!fh->path || !fh->report)
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
        mw_fail(m, fh->mo, fh->path, rc, &err);
    fh->report = 0;
    fh->cleared = 0; /* a later write (through a dup) clears the digest again */
}

/* The same with @fh's size now (lock held). */
static void report(struct mount *m, struct mw_fh *fh)
{
    struct stat st;

    if (fh->path && fh->report && fstat(fh->fd, &st) == 0)
        report_stat(m, fh, st);
}

/*
 * The release of a passthrough writer.  The kernel wrote its file; whether it is done with it
 * the daemon cannot see (a shared writable mapping keeps it after close(2)).  So this handle's
 * own descriptors go first (lock held), then, without the lock, the kernel is asked whether
 * anyone may still write the file (staging_scratch_written_elsewhere: asked again for up to
 * about 20 ms, as the closing process lets go of its backing file a moment after this release
 * was sent; SIGIO, which a lease broken meanwhile would send, is ignored by the mount).  Only
 * when nobody may does the background hash take the file; else the commit hashes, or copies,
 * it.  Its size is recorded either way.  Called and returns with the lock held.
 */
static void pt_writer_closed(struct mount *m, fuse_req_t req, struct mw_fh *fh)
{
    struct timespec ms = {.tv_nsec = 1000000L};
    char scratch[sizeof(fh->scratch)];
    struct stat st;
    int alone = 1, elsewhere = 1;

    if (fstat(fh->fd, &st) < 0) {
        mw_hash_invalidate_scratch(fh->scratch, NULL);
        return;
    }
    if (st.st_size >= MW_HASH_MIN_BYTES)
        mw_hash_source(fh->hj, fh->fd); /* before the descriptor goes */
    /* the kernel's backing file goes with the inode's last passthrough open */
    mount_io_release(m, req, fh->node, fh->io);
    fh->node = NULL;
    fh->io = MOUNT_IO_NONE;
    close(fh->fd);
    fh->fd = -1;
    memcpy(scratch, fh->scratch, sizeof(scratch));
    if (st.st_size < REPORT_MIN_BYTES) {
        /* a small file gets no background digest and no record (the commit hashes it), so
         * whether the kernel still writes it does not matter here */
        mw_hash_invalidate_scratch(fh->scratch, NULL);
        return;
    }
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < 20 && elsewhere; i++) {
        int r = staging_scratch_written_elsewhere(m->journal, scratch);
        elsewhere = r != 0;
        if (r < 0)
            break;
        if (elsewhere)
            nanosleep(&ms, NULL);
    }
    pthread_mutex_lock(&m->lock);
    for (struct mw_fh *o = fh->mo->w->fhs; o; o = o->next)
        if (o != fh && o->writable && !strcmp(o->scratch, fh->scratch))
            alone = 0;
    if (alone && fh->hj && !elsewhere) {
        fh->seq_off = (uint64_t)st.st_size; /* all of it, in order from 0 */
        mw_hash_extend(fh->hj, fh->seq_off);
    } else {
        mw_hash_invalidate_scratch(fh->scratch, NULL); /* and the row's digest goes below */
    }
    fh->report = 1;
    report_stat(m, fh, st);
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
    if (fh->pt_writer)
        pt_writer_closed(m, req, fh);
    else if (fh->writable)
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
    /* (a passthrough writer may go on through a dup: its size and digest wait for release) */
    if (fh && fh->writable && !fh->pt_writer) {
        struct stat st;
        int small;
        drain(fh);
        /* a small file records nothing (report_stat): no need to queue for the lock */
        pthread_mutex_lock(&fh->mu);
        small = fstat(fh->fd, &st) == 0 && st.st_size < REPORT_MIN_BYTES;
        pthread_mutex_unlock(&fh->mu);
        if (!small) {
            pthread_mutex_lock(&m->lock);
            report(m, fh);
            pthread_mutex_unlock(&m->lock);
        }
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
        mw_fail(m, mo, NULL, -EIO, &err);
    ocfl_err_set(&err, rc, "%s", why);
    return mw_fail(m, mo, NULL, rc, &err);
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
    return rc < 0 ? mw_fail(m, mo, NULL, rc, &err) : 0;
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
            rc = mw_fail(m, mo, n->path, rc, &err);
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
        rc = rc == -ENOENT ? 0 : mw_fail(m, mo, path, rc, &err);
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
