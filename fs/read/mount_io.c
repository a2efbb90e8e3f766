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
 * (EIO), and the other way round.  So every open of a tree file goes through
 * here with m->lock held: a passthrough open only when the inode has no
 * cached open, and any other open in direct io while it has passthrough
 * opens.  (A kernel of 6.18 also refuses a direct io open of an inode with a
 * backing file: a staged file written by passthrough takes only passthrough
 * opens of the same file, mount_io_join_backing.)  The counts may run ahead of
 * the kernel's (it forgets a file before its RELEASE reaches us), which
 * only costs a passthrough or a cache, never a failed open.
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

enum mount_iomode mount_io_open_writer(struct mount *m, fuse_req_t req, struct mount_node *n,
                                       int fd, struct fuse_file_info *fi)
{
    enum mount_iomode mode = MOUNT_IO_NONE;

    /* only a file no one else has open: a cached open of it would be refused meanwhile */
    if (!n->cached_opens && !n->pt_opens && !n->backing_id) {
        fi->direct_io = 0;
        mode = mount_io_open_committed(m, req, n, fd, fi);
        if (mode == MOUNT_IO_PT)
            return mode;
        mount_io_release(m, NULL, n, mode); /* undo what that open counted */
    }
    fi->direct_io = 1;
    return mount_io_open(n, fi);
}

void mount_io_drop_stale_backing(fuse_req_t req, struct mount_node *n)
{
    if (!n->backing_id || n->pt_opens)
        return;
#ifdef OCFLFS_FUSE_PASSTHROUGH
    fuse_passthrough_close(req, n->backing_id);
#else
    (void)req;
#endif
    n->backing_id = 0;
}

int mount_io_join_backing(struct mount *m, struct mount_node *n, int fd, struct fuse_file_info *fi)
{
    struct stat st;

    if (fstat(fd, &st) < 0)
        return -errno;
    if (n->backing_dev != st.st_dev || n->backing_ino != st.st_ino)
        return -EBUSY;
    fi->direct_io = 0;
    fi->keep_cache = 0;
    fi->backing_id = n->backing_id;
    mount_node_pin(n);
    n->pt_opens++;
    m->n_pt_opens++;
    return 0;
}

enum mount_iomode mount_io_open_committed(struct mount *m, fuse_req_t req, struct mount_node *n,
                                          int fd, struct fuse_file_info *fi)
{
#ifdef OCFLFS_FUSE_PASSTHROUGH
    struct stat st;

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
    return MOUNT_IO_PT;
#else
    (void)m, (void)req, (void)fd;
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
    }
    mount_node_unpin(&m->nodes, n); /* may leave it idle: the caller holds the lock */
}
