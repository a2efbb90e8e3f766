/* mount_ops.c: the FUSE low-level operations: lookup, attributes, open/read, refusals, the table.
 */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mount_ops.h"

/* Nodes freed between two returns of memory to the system (about 4 MiB of nodes). */
#define RETURN_MEMORY_NODES 16384

/* An open file: a content file's descriptor, or a control file's bytes. */
struct mount_fh {
    int fd;    /* -1 for control files */
    char *buf; /* control file bytes */
    size_t len;
    struct mount_node *node; /* the tree file, NULL for control files */
    enum mount_iomode io;    /* how the kernel has it open (mount_io.c) */
};

static int is_ctl_file(enum mount_kind k)
{
    return k == MK_ROOT_STATUS || k == MK_CTL_LOG || k == MK_CTL_STATUS || k == MK_CTL_INVENTORY;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    static const struct mount_lookup_view committed = {
        .child = mount_child_node,
        .stat = mount_node_stat,
        .fill = mount_fill_entry,
    };

    mount_lookup_reply(req, parent, name, &committed);
}

static void forget_one(struct mount *m, fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    struct mount_node *n = mount_node_by_ino(&m->nodes, ino);

    if (!n)
        return;
    mount_node_forget(&m->nodes, n, nlookup);
    /* a backing file kept for the next open (its open's reply failed) goes with the inode */
    if (!n->nlookup && !n->pins && n->backing_id && !n->pt_opens) {
#ifdef OCFLFS_FUSE_PASSTHROUGH
        fuse_passthrough_close(req, n->backing_id);
#endif
        n->backing_id = 0;
        mount_node_forget(&m->nodes, n, 0);
    }
    (void)req;
}

/*
 * After forgets (lock held): free idle nodes; 1 when so many were freed since the last time
 * that the caller should give the memory back (malloc keeps freed pages of its arenas, so a
 * daemon that walked a large tree once would keep its peak size).
 */
static int forgets_done(struct mount *m)
{
    mount_nodes_trim(&m->nodes);
    if (m->nodes.n_freed - m->nodes.n_freed_returned < RETURN_MEMORY_NODES)
        return 0;
    m->nodes.n_freed_returned = m->nodes.n_freed;
    return 1;
}

static void return_memory(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    struct mount *m = mount_req(req);
    int give_back;

    pthread_mutex_lock(&m->lock);
    forget_one(m, req, ino, nlookup);
    give_back = forgets_done(m);
    pthread_mutex_unlock(&m->lock);
    fuse_reply_none(req);
    if (give_back)
        return_memory();
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    struct mount *m = mount_req(req);
    int give_back;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < count; i++)
        forget_one(m, req, forgets[i].ino, forgets[i].nlookup);
    give_back = forgets_done(m);
    pthread_mutex_unlock(&m->lock);
    fuse_reply_none(req);
    if (give_back)
        return_memory();
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    struct stat st;
    double ttl = 0;
    int rc;

    (void)fi;
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? mount_node_stat(m, n, &st) : -ESTALE;
    if (n)
        ttl = mount_node_ttl(m, n);
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, ttl);
}

/* ---- files */

static int open_node(struct mount *m, fuse_req_t req, struct mount_node *n,
                     struct fuse_file_info *fi, struct mount_fh *fh)
{
    struct ocfl_object *o = NULL;
    const struct ocfl_version *v;
    const struct ocfl_state_entry *e = NULL;
    const char *cp;
    struct ocfl_err err = {0};
    int rc;

    if (is_ctl_file(n->kind)) {
        rc = mount_ctl_content(m, n, &fh->buf, &fh->len);
        fi->direct_io = 1;
        return rc;
    }
    if (n->kind != MK_FILE)
        return -EISDIR;
    if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
        return rc;
    if (!(v = mount_node_version(n, o)) || mount_tree_classify(v, n->path, &e) != 1)
        return -ENOENT;
    if (!(cp = ocfl_inventory_content_path(o->inv, e->digest)))
        return -EIO;
    rc = ocfl_object_open_content(o, cp, &err);
    if (rc < 0) {
        mount_log(m, "object '%s': cannot open '%s' for '%s': %s", n->obj->id, cp, n->path,
                  err.msg);
        return -EIO;
    }
    fh->fd = rc;
    /* committed bytes never change; a head path whose content changes gets a
     * new mtime/size, which invalidates the cache (FUSE_CAP_AUTO_INVAL_DATA) */
    fi->keep_cache = 1;
    /* best: the kernel reads the content file itself (passthrough) */
    fh->node = n;
    fh->io = mount_io_open_committed(m, req, n, fh->fd, fi);
    return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_fh *fh;
    struct mount_node *n;
    int rc;

    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND | O_CREAT))) {
        fuse_reply_err(req, EROFS);
        return;
    }
    fh = calloc(1, sizeof(*fh));
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fh->fd = -1;
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? open_node(m, req, n, fi, fh) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    if (rc < 0) {
        free(fh->buf);
        free(fh);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)fh;
    if (fuse_reply_open(req, fi) == -ENOENT) { /* interrupted: nobody will release it */
        pthread_mutex_lock(&m->lock);
        mount_io_release(m, NULL, fh->node, fh->io);
        pthread_mutex_unlock(&m->lock);
        if (fh->fd >= 0)
            close(fh->fd);
        free(fh->buf);
        free(fh);
    }
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct mount_fh *fh = (struct mount_fh *)(uintptr_t)fi->fh;

    (void)ino;
    mount_reply_read(req, fh->fd, fh->buf, fh->len, size, off);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount_fh *fh = (struct mount_fh *)(uintptr_t)fi->fh;

    (void)ino;
    if (fh) {
        struct mount *m = mount_req(req);
        pthread_mutex_lock(&m->lock);
        mount_io_release(m, req, fh->node, fh->io);
        pthread_mutex_unlock(&m->lock);
        if (fh->fd >= 0)
            close(fh->fd);
        free(fh->buf);
        free(fh);
    }
    fuse_reply_err(req, 0);
}

/* ---- everything that would write: read-only for now */

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    (void)ino, (void)attr, (void)to_set, (void)fi;
    fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    (void)parent, (void)name, (void)mode, (void)rdev;
    fuse_reply_err(req, EPERM);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    (void)parent, (void)name, (void)mode;
    fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent, (void)name;
    fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    (void)link, (void)parent, (void)name;
    fuse_reply_err(req, EPERM);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    (void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
    fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    (void)ino, (void)newparent, (void)newname;
    fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    (void)parent, (void)name, (void)mode, (void)fi;
    fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    (void)ino, (void)name, (void)value, (void)size, (void)flags;
    fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    (void)ino, (void)name;
    fuse_reply_err(req, EROFS);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    (void)ino;
    fuse_reply_err(req, (mask & W_OK) ? EROFS : 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct mount *m = mount_req(req);
    struct statvfs sv;

    (void)ino;
    if (fstatvfs(m->root->fd, &sv) < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    sv.f_namemax = MOUNT_NAME_MAX;
    sv.f_flag |= ST_RDONLY;
    fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    mount_io_init(userdata, conn);
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE;
    if (conn->capable & FUSE_CAP_SPLICE_MOVE)
        conn->want |= FUSE_CAP_SPLICE_MOVE;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
    /* lookups in one directory side by side: else the kernel holds every lookup in the root
     * while one of them waits for a large object's inventory to load */
    if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
        conn->want |= FUSE_CAP_PARALLEL_DIROPS;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
#ifdef FUSE_CAP_DIRECT_IO_ALLOW_MMAP
    /* writable handles are direct (see mw_op_open): shared mmap of them still works */
    if (conn->capable & FUSE_CAP_DIRECT_IO_ALLOW_MMAP)
        conn->want |= FUSE_CAP_DIRECT_IO_ALLOW_MMAP;
#endif
    /* no write_buf: a spliced write request would be copied out of a pipe once more */
    conn->want &= ~FUSE_CAP_SPLICE_READ;
    conn->max_write = 1u << 20;
    conn->max_readahead = 1u << 20;
    conn->max_read = 1u << 20; /* must equal -o max_read */
    conn->time_gran = 1;
}

const struct fuse_lowlevel_ops mount_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_unlink,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .create = op_create,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .opendir = mount_op_opendir,
    .readdir = mount_op_readdir,
    .readdirplus = mount_op_readdirplus,
    .setxattr = op_setxattr,
    .getxattr = mount_op_getxattr,
    .listxattr = mount_op_listxattr,
    .removexattr = op_removexattr,
    .access = op_access,
    .statfs = op_statfs,
};
