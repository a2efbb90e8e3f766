/* mount_write_attr.c: setattr of the writable mount: truncate (copy-up), chmod, utimens. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mount_write.h"

/* Truncate a head file (through @fh when given).  Lock not held. */
static int truncate_file(struct mount *m, struct mount_node *n, struct mw_fh *fh, off_t size)
{
    struct staging_entry e;
    int rc, fd = -1;

    if (fh && fh->writable) {
        mw_gate_enter(fh->mo->w);
        pthread_mutex_lock(&fh->mu);
        rc = mw_revalidate(m, fh);
        if (rc == 0 && fh->path) {
            struct ocfl_err err = {0};
            /* fewer bytes acknowledged, durably, before the cut */
            if ((rc = staging_lower_synced(m->journal, fh->scratch, size, &err)) < 0)
                mw_fail(m, fh->mo, fh->path, rc, &err);
        }
        if (rc == 0 && ftruncate(fh->fd, size) < 0)
            rc = -errno;
        if (rc == 0 && fh->hj && (uint64_t)size != fh->seq_off) {
            mw_hash_invalidate(fh->hj);
            mw_hash_put(fh->hj);
            fh->hj = NULL;
        }
        pthread_mutex_unlock(&fh->mu);
        mw_gate_leave(fh->mo->w);
        return rc;
    }
    pthread_mutex_lock(&m->lock);
    if (!mw_wobj(n->obj)) {
        pthread_mutex_unlock(&m->lock);
        return -ENOMEM;
    }
    n->obj->w->staged = 1;
    rc = mw_make_writable(m, n->obj, n->path, size, -1, &fd, &e);
    if (rc == 0) {
        close(fd);
        for (struct mw_fh *o = n->obj->w->fhs; o; o = o->next)
            if (o->path && !strcmp(o->path, n->path))
                o->broken = 1; /* its writer drops the hash (under its own lock) */
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

/* Whether @gid is the caller's (its group or one of its supplementary groups). */
static int in_group(fuse_req_t req, gid_t gid)
{
    gid_t groups[64];
    int n;

    if (fuse_req_ctx(req)->gid == gid)
        return 1;
    n = fuse_req_getgroups(req, 64, groups);
    for (int i = 0; i < n && i < 64; i++)
        if (groups[i] == gid)
            return 1;
    return 0;
}

/*
 * chmod, chown and chgrp as a local file system allows them: root does any; the owner
 * changes the mode, and the group to one of its own; nobody else anything (EPERM).  The
 * kernel checks the same under default_permissions (a shared mount); this holds without.
 */
static int may_chown(struct mount *m, fuse_req_t req, struct mount_node *n, const struct stat *attr,
                     int to_set)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct stat cur;
    int rc;

    if (ctx->uid == 0)
        return 0;
    pthread_mutex_lock(&m->lock);
    rc = mw_node_stat(m, n, &cur);
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        return rc;
    if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != cur.st_uid)
        return -EPERM;
    /* the kernel clears set-user-ID and set-group-ID for a writer who is not the owner: a
     * change that only takes away bits the file has is that, and allowed */
    if ((to_set & FUSE_SET_ATTR_MODE) && ctx->uid != cur.st_uid &&
        !(to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
        mode_t have = cur.st_mode & 07777, want = attr->st_mode & 07777;
        mode_t gone = have & ~want;
        if (gone && !(want & ~have) && !(gone & ~(mode_t)(S_ISUID | S_ISGID)))
            return 0;
    }
    if ((to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID | FUSE_SET_ATTR_MODE)) &&
        ctx->uid != cur.st_uid)
        return -EPERM;
    if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != cur.st_gid && !in_group(req, attr->st_gid))
        return -EPERM;
    return 0;
}

void mw_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                   struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    struct stat st;
    double ttl;
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    if (!n)
        rc = -ESTALE;
    else if (!mw_is_head(n))
        rc = -EROFS;
    else if (!mw_wobj(n->obj))
        rc = -ENOMEM;
    mount_node_pin(n); /* used across the unlocked steps below */
    pthread_mutex_unlock(&m->lock);
    if (rc == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
        if (n->kind != MK_FILE)
            rc = -EISDIR;
        else
            rc = truncate_file(m, n, fi ? mw_fh_of(fi) : NULL, attr->st_size);
    }
    if (rc == 0 && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
        rc = may_chown(m, req, n, attr, to_set);
    if (rc == 0 && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW |
                              FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_UID |
                              FUSE_SET_ATTR_GID))) {
        int64_t mode = (to_set & FUSE_SET_ATTR_MODE) ? (int64_t)(attr->st_mode & 07777) : -1;
        int64_t uid = (to_set & FUSE_SET_ATTR_UID) ? (int64_t)attr->st_uid : -1;
        int64_t gid = (to_set & FUSE_SET_ATTR_GID) ? (int64_t)attr->st_gid : -1;
        int64_t mt = -1, at = -1;
        const struct ocfl_inventory *inv;
        struct staging_entry e;
        struct ocfl_err err = {0};
        if (to_set & FUSE_SET_ATTR_MTIME_NOW)
            mt = mw_now_ns();
        else if (to_set & FUSE_SET_ATTR_MTIME)
            mt = (int64_t)attr->st_mtim.tv_sec * 1000000000 + attr->st_mtim.tv_nsec;
        if (to_set & FUSE_SET_ATTR_ATIME_NOW)
            at = mw_now_ns();
        else if (to_set & FUSE_SET_ATTR_ATIME)
            at = (int64_t)attr->st_atim.tv_sec * 1000000000 + attr->st_atim.tv_nsec;
        pthread_mutex_lock(&m->lock);
        n->obj->w->staged = 1;
        rc = mw_inv(m, n->obj, &inv);
        if (rc == 0)
            rc = staging_set_attr(m->journal, n->obj->id, inv, n->path, mode, at, mt, uid, gid,
                                  &err);
        if (rc < 0)
            mw_fail(m, n->obj, n->path, rc, &err);
        /* a scratch file's own times are what stat shows */
        if (rc == 0 && (mt >= 0 || at >= 0) &&
            staging_lookup(m->journal, n->obj->id, inv, n->path, &e, NULL) == 0 && e.scratch[0]) {
            struct timespec ts[2] = {
                at >= 0 ? (struct timespec){.tv_sec = (time_t)(at / 1000000000),
                                            .tv_nsec = (long)(at % 1000000000)}
                        : (struct timespec){.tv_nsec = UTIME_OMIT},
                mt >= 0 ? (struct timespec){.tv_sec = (time_t)(mt / 1000000000),
                                            .tv_nsec = (long)(mt % 1000000000)}
                        : (struct timespec){.tv_nsec = UTIME_OMIT}};
            if (utimensat(journal_state_fd(m->journal), e.scratch, ts, AT_SYMLINK_NOFOLLOW) < 0)
                rc = -errno;
        }
        pthread_mutex_unlock(&m->lock);
    }
    pthread_mutex_lock(&m->lock);
    if (rc == 0)
        rc = mw_node_stat(m, n, &st);
    if (rc == -ENOENT && n && n->kind == MK_FILE && mw_is_head(n) &&
        mw_stat_open_handle(m, n, &st) == 0)
        rc = 0; /* ftruncate of a file unlinked while open */
    ttl = n && mw_staged(n->obj) ? 1.0 : m->ttl_head;
    mount_node_unpin(&m->nodes, n);
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, ttl);
}
