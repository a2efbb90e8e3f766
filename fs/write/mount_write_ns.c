/* mount_write_ns.c: names of the writable mount: mkdir (objects too), unlink, rmdir, rename,
 * xattr commands, statfs, and the operation table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/statvfs.h>

#include "mount_write.h"
#include "path.h"

#define XA_COMMIT  "user.ocfl.commit"
#define XA_DISCARD "user.ocfl.discard"

struct fuse_lowlevel_ops mount_write_ops;

/* Give the node of @path (if any) a key no lookup makes: a removed name.  Lock held. */
static void bury(struct mount *m, struct mount_obj *mo, enum mount_kind kind, const char *path)
{
    struct mount_node *n = mount_node_find(&m->nodes, kind, mo, 0, path);
    char dead[64];

    if (!n)
        return;
    snprintf(dead, sizeof(dead), "\x01%llu", (unsigned long long)n->ino);
    /* a file may be named like that key: lookups must not find it */
    if (mount_node_rekey(&m->nodes, n, dead) == 0)
        n->buried = 1;
}

/* Resolve (@parent, @name) to a head path of its object (lock held). */
static int head_path(struct mount *m, fuse_ino_t parent, const char *name, struct mount_node **ret,
                     char *path, size_t size)
{
    struct mount_node *p = mount_node_by_ino(&m->nodes, parent);

    if (!p)
        return -ESTALE;
    if (!mw_is_head(p))
        return p->kind == MK_ROOT ? -EPERM : -EROFS;
    if (mount_join(p->path, name, path, size) < 0)
        return -ENAMETOOLONG;
    if (!mw_wobj(p->obj))
        return -ENOMEM;
    *ret = p;
    return 0;
}

static void reply_new(fuse_req_t req, struct mount *m, struct mount_node *n, int rc)
{
    struct fuse_entry_param e;
    struct stat st;

    if (rc == 0)
        rc = mw_node_stat(m, n, &st);
    if (rc == 0) {
        mount_node_lookup(&m->nodes, n);
        mount_fill_entry(m, n, &st, &e);
        e.attr_timeout = 1.0;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &e);
}

/* mkdir MOUNT/NAME: a new object (lock held). */
static int new_object(struct mount *m, const char *name, uint32_t mode, int64_t uid, int64_t gid,
                      struct mount_node **ret)
{
    struct ocfl_err err = {0};
    struct mount_obj *mo;
    char *id = NULL, *path = NULL;
    int rc;

    /* a first mount's walk may yet find an object of this id that is not where the layout
     * puts it: a second object of one id must never be made, so the walk is waited for */
    while (m->first_walk && !m->walk_stop) {
        pthread_mutex_unlock(&m->lock);
        usleep(20000);
        pthread_mutex_lock(&m->lock);
    }
    if (mount_objects_find(&m->objs, name) || mount_objects_discover(m, name))
        return -EEXIST;
    if (mount_name_decode(name, &id) < 0)
        return -EINVAL;
    if (!ocfl_utf8_valid(id, strlen(id))) {
        free(id);
        return -EILSEQ; /* as for a file name that is not UTF-8 */
    }
    rc = ocfl_root_object_path(m->root, id, &path, &err);
    if (rc < 0) {
        mount_log(m, "mkdir '%s': %s", name, err.msg[0] ? err.msg : strerror(-rc));
        free(id);
        return -EPERM; /* no layout, or an id the layout refuses */
    }
    rc = staging_object_new(m->journal, id, mode, uid, gid, &err);
    if (rc == 0 || rc == -EEXIST) {
        mo = mount_objects_add(&m->objs, id, path);
        if (!mo || !mw_wobj(mo)) {
            rc = -ENOMEM;
        } else {
            mo->staged_new = 1;
            mo->gone = 0;
            mo->w->staged = 1;
            *ret = mount_node_get(&m->nodes, MK_OBJ, mo, 0, "");
            rc = *ret ? 0 : -ENOMEM;
        }
    } else {
        mw_fail(m, NULL, name, rc, &err);
    }
    free(id);
    free(path);
    return rc;
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    struct mount *m = mount_req(req);
    const struct ocfl_inventory *inv;
    struct mount_node *p, *n = NULL;
    struct ocfl_err err = {0};
    char path[4096];
    int64_t uid, gid;
    int rc;

    pthread_mutex_lock(&m->lock);
    p = mount_node_by_ino(&m->nodes, parent);
    if (p && p->kind == MK_ROOT) {
        mw_new_owner(m, req, p, &uid, &gid, NULL);
        rc = new_object(m, name, mode & 07777, uid, gid, &n);
    } else if ((rc = head_path(m, parent, name, &p, path, sizeof(path))) == 0 &&
               (rc = mw_inv(m, p->obj, &inv)) == 0 && (rc = mw_path_fits(path, name)) == 0) {
        p->obj->w->staged = 1;
        mw_new_owner(m, req, p, &uid, &gid, &mode);
        rc = staging_mkdir(m->journal, p->obj->id, inv, path, mode & 07777, uid, gid, &err);
        if (rc == 0)
            p->obj->w->dirops++; /* the parent's link count */
        if (rc < 0)
            mw_fail(m, p->obj, path, rc, &err);
        else if (!(n = mount_node_get(&m->nodes, MK_DIR, p->obj, 0, path)))
            rc = -ENOMEM;
    }
    reply_new(req, m, n, rc);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct mount *m = mount_req(req);
    const struct ocfl_inventory *inv;
    struct mount_node *p;
    struct ocfl_err err = {0};
    char path[4096];
    int rc, frozen, fd = -1;

    pthread_mutex_lock(&m->lock);
    do
        rc = head_path(m, parent, name, &p, path, sizeof(path));
    while (rc == 0 && (rc = mw_before_unlink(m, p->obj, path, &frozen, &fd)) == 1);
    if (rc == 0 && (rc = mw_inv(m, p->obj, &inv)) == 0) {
        p->obj->w->staged = 1;
        rc = staging_unlink(m->journal, p->obj->id, inv, path, &err);
        if (rc < 0) {
            mw_fail(m, p->obj, path, rc, &err);
        } else {
            mw_orphan(p->obj, path, frozen, fd);
            fd = -1;
            bury(m, p->obj, MK_FILE, path);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (fd >= 0)
        close(fd);
    fuse_reply_err(req, -rc);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct mount *m = mount_req(req);
    const struct ocfl_inventory *inv;
    struct mount_node *p;
    struct ocfl_err err = {0};
    char path[4096];
    int rc;

    pthread_mutex_lock(&m->lock);
    p = mount_node_by_ino(&m->nodes, parent);
    if (p && p->kind == MK_ROOT) {
        struct mount_obj *mo = mount_objects_find(&m->objs, name);
        if (!mo)
            rc = -ENOENT;
        else if (!mo->staged_new)
            rc = -EPERM; /* committed objects are not removed through the mount */
        else if ((rc = staging_object_remove(m->journal, mo->id, &err)) < 0)
            mw_fail(m, mo, NULL, rc, &err);
        else {
            mo->staged_new = 0;
            mo->gone = 1;
            bury(m, mo, MK_OBJ, "");
        }
    } else if ((rc = head_path(m, parent, name, &p, path, sizeof(path))) == 0 &&
               (rc = mw_inv(m, p->obj, &inv)) == 0) {
        p->obj->w->staged = 1;
        rc = staging_rmdir(m->journal, p->obj->id, inv, path, &err);
        if (rc < 0)
            mw_fail(m, p->obj, path, rc, &err);
        else
            bury(m, p->obj, MK_DIR, path);
        if (rc == 0)
            p->obj->w->dirops++;
    }
    pthread_mutex_unlock(&m->lock);
    fuse_reply_err(req, -rc);
}

/* After a rename of @from to @to: nodes and handles follow.  Lock held. */
static void follow(struct mount *m, struct mount_obj *mo, const char *from, const char *to,
                   int frozen, int fd)
{
    size_t flen = strlen(from), cap = 0, nmove = 0;
    struct mount_node **move = NULL;
    char buf[8192];

    /* what was at the target is gone */
    mw_orphan(mo, to, frozen, fd);
    bury(m, mo, MK_FILE, to);
    bury(m, mo, MK_DIR, to);
    for (struct mount_node *n = mount_nodes_next(&m->nodes, NULL); n;
         n = mount_nodes_next(&m->nodes, n)) {
        if (n->obj != mo || n->version || (n->kind != MK_FILE && n->kind != MK_DIR) ||
            strncmp(n->path, from, flen) || (n->path[flen] && n->path[flen] != '/'))
            continue;
        if (nmove == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct mount_node **t = realloc(move, nc * sizeof(*t));
            if (!t)
                break;
            move = t;
            cap = nc;
        }
        move[nmove++] = n;
    }
    for (size_t i = 0; i < nmove; i++) {
        int k = snprintf(buf, sizeof(buf), "%s%s", to, move[i]->path + flen);
        if (k > 0 && (size_t)k < sizeof(buf))
            mount_node_rekey(&m->nodes, move[i], buf);
    }
    free(move);
    for (struct mw_fh *fh = mo->w->fhs; fh; fh = fh->next) {
        if (!fh->path || strncmp(fh->path, from, flen) || (fh->path[flen] && fh->path[flen] != '/'))
            continue;
        int k = snprintf(buf, sizeof(buf), "%s%s", to, fh->path + flen);
        char *np = k > 0 && (size_t)k < sizeof(buf) ? strdup(buf) : NULL;
        free(fh->path);
        fh->path = np;
        if (!np) { /* out of memory: the handle goes on alone, as if unlinked */
            fh->orphaned_by = ++mo->w->unlinks;
            fh->frozen_orphan = fh->writable && fh->epoch != mo->w->epoch;
        }
    }
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    struct mount *m = mount_req(req);
    const struct ocfl_inventory *inv;
    struct mount_node *p, *np;
    struct ocfl_err err = {0};
    char from[4096], to[4096];
    int rc, frozen = 0, fd = -1;

    /* RENAME_EXCHANGE and RENAME_WHITEOUT (overlayfs's) are not done here: refused, never
     * turned into a plain rename */
    if (flags & ~(unsigned)RENAME_NOREPLACE) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    pthread_mutex_lock(&m->lock);
    do {
        rc = head_path(m, parent, name, &p, from, sizeof(from));
        if (rc == 0)
            rc = head_path(m, newparent, newname, &np, to, sizeof(to));
        if (rc == 0 && np->obj != p->obj)
            rc = -EXDEV;
    } while (rc == 0 && strcmp(from, to) &&
             (rc = mw_before_unlink(m, p->obj, to, &frozen, &fd)) == 1);
    if (rc == 0)
        rc = mw_inv(m, p->obj, &inv);
    if (rc == 0)
        rc = mw_path_fits(to, newname);
    if (rc == 0 && (flags & RENAME_NOREPLACE)) {
        struct staging_entry e;
        rc = staging_lookup(m->journal, p->obj->id, inv, to, &e, &err);
        if (rc == 0 && e.kind != STAGING_NONE)
            rc = -EEXIST;
    }
    if (rc == 0) {
        p->obj->w->staged = 1;
        rc = staging_rename(m->journal, p->obj->id, inv, from, to, &err);
        if (rc == 0)
            p->obj->w->dirops++; /* a directory may have moved */
        if (rc < 0)
            mw_fail(m, p->obj, from, rc, &err);
        else if (strcmp(from, to))
            follow(m, p->obj, from, to, frozen, fd);
        fd = -1;
    }
    pthread_mutex_unlock(&m->lock);
    if (fd >= 0)
        close(fd);
    fuse_reply_err(req, -rc);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    struct mount_obj *mo = NULL;
    int rc;

    (void)flags;
    if (strncmp(name, "user.", 5)) {
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    if (n && n->kind == MK_OBJ && (!strcmp(name, XA_COMMIT) || !strcmp(name, XA_DISCARD)))
        mo = n->obj;
    rc = !n ? -ESTALE : mo && mw_wobj(mo) ? 0 : mo ? -ENOMEM : -EPERM;
    pthread_mutex_unlock(&m->lock);
    if (rc == 0) {
        struct mw_caller who;
        mw_caller_of(req, &who);
        rc = !strcmp(name, XA_COMMIT) ? mw_commit(m, mo, &who, value, size)
                                      : mw_discard(m, mo, &who);
    }
    fuse_reply_err(req, -rc);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    (void)ino, (void)name;
    fuse_reply_err(req, strncmp(name, "user.", 5) ? EOPNOTSUPP : EPERM);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct mount *m = mount_req(req);
    struct statvfs sv;

    (void)ino;
    /* staged bytes go to the state dir, which normally shares the root's file system */
    if (fstatvfs(journal_state_fd(m->journal), &sv) < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    sv.f_namemax = MOUNT_NAME_MAX;
    sv.f_flag &= ~(unsigned long)ST_RDONLY;
    fuse_reply_statfs(req, &sv);
}

void mount_write_ops_init(void)
{
    mount_write_ops = mount_ops;
    mount_write_ops.lookup = mw_op_lookup;
    mount_write_ops.getattr = mw_op_getattr;
    mount_write_ops.setattr = mw_op_setattr;
    mount_write_ops.mkdir = op_mkdir;
    mount_write_ops.unlink = op_unlink;
    mount_write_ops.rmdir = op_rmdir;
    mount_write_ops.rename = op_rename;
    mount_write_ops.create = mw_op_create;
    mount_write_ops.open = mw_op_open;
    mount_write_ops.read = mw_op_read;
    mount_write_ops.write = mw_op_write;
    mount_write_ops.flush = mw_op_flush;
    mount_write_ops.release = mw_op_release;
    mount_write_ops.fsync = mw_op_fsync;
    mount_write_ops.opendir = mw_op_opendir;
    mount_write_ops.readdir = mw_op_readdir;
    mount_write_ops.readdirplus = mw_op_readdirplus;
    mount_write_ops.releasedir = mw_op_releasedir;
    mount_write_ops.fsyncdir = mw_op_fsyncdir;
    mount_write_ops.setxattr = op_setxattr;
    mount_write_ops.getxattr = mw_op_getxattr;
    mount_write_ops.listxattr = mw_op_listxattr;
    mount_write_ops.removexattr = op_removexattr;
    mount_write_ops.access = mw_op_access;
    mount_write_ops.statfs = op_statfs;
}
