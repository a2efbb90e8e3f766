/* mount_io.c: how the kernel serves open files: passthrough to committed content, cached, or
 * direct. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mount_ops.h"

/*
 * The kernel (fs/fuse/iomode.c) puts an inode in one io mode at a time:
 * while a passthrough open of it is open, an open in its caching mode fails
 * (EIO), and the other way round; direct io opens mix with both.  So every
 * open of a tree file goes through here with m->lock held: a passthrough
 * open only when the inode has no cached open, and any other open in
 * direct io while it has passthrough opens.  The counts may run ahead of
 * the kernel's (it forgets a file before its RELEASE reaches us), which
 * only costs a passthrough or a cache, never a failed open.
 *
 * The kernel also wants every open of an inode that has a backing file to
 * be a passthrough open, and a writer must not get one (its writes would
 * land in committed content).  So a head file opened through passthrough
 * is detached: its node leaves the key table and the kernel's entry for
 * its path is dropped before the open is answered, so a later open of the
 * path (a writer's copy-up) looks it up as a new inode.  The last reader
 * reattaches it when no new node took the path meanwhile.
 */

void mount_io_count_read(struct mount *m)
{
    __atomic_fetch_add(&m->n_reads, 1, __ATOMIC_RELAXED);
}

void mount_io_init(struct mount *m, struct fuse_conn_info *conn)
{
#ifdef OCFLFS_FUSE_PASSTHROUGH
    if (!m->passthrough_off && (conn->capable & FUSE_CAP_PASSTHROUGH)) {
        conn->want |= FUSE_CAP_PASSTHROUGH;
        /* a storage root on overlayfs still works; the mount itself is then not stackable */
        conn->max_backing_stack_depth = 1;
        m->passthrough = 1;
    }
    mount_log(m, "kernel passthrough: %s",
              m->passthrough                            ? "on"
              : m->passthrough_off                      ? "off (-o nopassthrough)"
              : !(conn->capable & FUSE_CAP_PASSTHROUGH) ? "off (the kernel does not offer it)"
                                                        : "off");
#else
    (void)conn;
    m->passthrough = 0;
    if (m->foreground)
        mount_log(m, "kernel passthrough: off (libfuse older than 3.17)");
#endif
}

enum mount_iomode mount_io_open(struct mount_node *n, struct fuse_file_info *fi)
{
    mount_node_pin(n); /* the handle holds the node until mount_io_release */
    if (n->pt_opens) {
        fi->direct_io = 1;
        fi->keep_cache = 0;
    }
    if (fi->direct_io)
        return MOUNT_IO_NONE;
    n->cached_opens++;
    return MOUNT_IO_CACHED;
}

enum mount_iomode mount_io_open_committed(struct mount *m, fuse_req_t req, struct mount_node *n,
                                          int fd, struct fuse_file_info *fi, int *ret_detached)
{
#ifdef OCFLFS_FUSE_PASSTHROUGH
    struct stat st;

    *ret_detached = 0;
    if (!m->passthrough || n->cached_opens || fi->direct_io || fstat(fd, &st) < 0)
        return mount_io_open(n, fi);
    if (n->backing_id && (n->backing_dev != st.st_dev || n->backing_ino != st.st_ino)) {
        if (n->pt_opens) /* the head moved on while a reader has the old bytes */
            return mount_io_open(n, fi);
        fuse_passthrough_close(req, n->backing_id);
        n->backing_id = 0;
    }
    if (!n->backing_id) {
        int id = fuse_passthrough_open(req, fd);
        if (id <= 0)
            return mount_io_open(n, fi);
        n->backing_id = id;
        n->backing_dev = st.st_dev;
        n->backing_ino = st.st_ino;
    }
    fi->backing_id = n->backing_id;
    fi->keep_cache = 0; /* the kernel drops the page cache of a passthrough open */
    mount_node_pin(n);
    n->pt_opens++;
    m->n_pt_opens++;
    if (n->version == 0 && !n->detached)
        *ret_detached = n->detached = 1;
    return MOUNT_IO_PT;
#else
    (void)m, (void)req, (void)fd;
    *ret_detached = 0;
    return mount_io_open(n, fi);
#endif
}

void mount_io_release(struct mount *m, fuse_req_t req, struct mount_node *n, enum mount_iomode mode)
{
    if (!n)
        return;
    if (mode == MOUNT_IO_CACHED && n->cached_opens)
        n->cached_opens--;
    if (mode == MOUNT_IO_PT && n->pt_opens) {
        /* the last reader closes the backing file; without a request (an open
         * whose reply failed) it stays for the next open of the same bytes, or
         * until the kernel forgets the inode (mount_ops.c) */
        if (--n->pt_opens == 0 && req && n->backing_id) {
#ifdef OCFLFS_FUSE_PASSTHROUGH
            fuse_passthrough_close(req, n->backing_id);
#endif
            n->backing_id = 0;
        }
        if (n->pt_opens == 0 && n->detached)
            mount_node_reattach(&m->nodes, n);
    }
    mount_node_unpin(&m->nodes, n); /* may leave it idle: the caller holds the lock */
}

void mount_io_forget_entry(struct mount *m, struct mount_node *n)
{
    struct mount_node *p;
    const char *slash, *name;
    uint64_t parent;

    pthread_mutex_lock(&m->lock);
    slash = strrchr(n->path, '/');
    name = slash ? slash + 1 : n->path;
    if (slash) {
        char dir[4096];
        size_t len = (size_t)(slash - n->path);
        if (len >= sizeof(dir)) {
            pthread_mutex_unlock(&m->lock);
            return;
        }
        memcpy(dir, n->path, len);
        dir[len] = '\0';
        /* the kernel holds the parent of an entry it has: a missing node has none */
        p = mount_node_find(&m->nodes, MK_DIR, n->obj, 0, dir);
    } else {
        p = mount_node_find(&m->nodes, MK_OBJ, n->obj, 0, "");
    }
    parent = p ? p->ino : 0;
    char *copy = parent ? strdup(name) : NULL;
    pthread_mutex_unlock(&m->lock);
    /* not under the lock: the kernel takes the directory's lock, whose holder may wait for us */
    if (copy && m->session)
        fuse_lowlevel_notify_inval_entry(m->session, parent, copy, strlen(copy));
    free(copy);
}
