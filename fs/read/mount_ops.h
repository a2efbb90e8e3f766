/* mount_ops.h: the read view of the mount (fs/read): what its files share, and what the write
 * view builds on. */
#ifndef OCFLFS_MOUNT_OPS_H
#define OCFLFS_MOUNT_OPS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>

#include "mount.h"

/* The mount a request belongs to. */
static inline struct mount *mount_req(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

/* ---- mount_view.c: what the operations share */

/* The version a tree node shows (head resolved), or NULL when it has none. */
const struct ocfl_version *mount_node_version(const struct mount_node *n,
                                              const struct ocfl_object *o);

/* @dir + "/" + @name (or @name at the top) into @buf; -ENAMETOOLONG. */
int mount_join(const char *dir, const char *name, char *buf, size_t size);

/*
 * The child @name of @p, as a node (not yet counted as looked up).  Called
 * with the lock held.  Returns 0, -ENOENT, -ENOTDIR, -EIO or -ENOMEM.
 */
int mount_child_node(struct mount *m, struct mount_node *p, const char *name,
                     struct mount_node **ret);

/* A reply entry for @n with attributes @st and its timeouts. */
void mount_fill_entry(struct mount *m, struct mount_node *n, const struct stat *st,
                      struct fuse_entry_param *e);

/*
 * How a lookup sees the tree: find @name under @p, stat it, fill the entry.
 * The committed view (mount_ops.c) and the staged view (mount_write_dir.c)
 * differ only there (mount_lookup_reply does the rest).
 */
struct mount_lookup_view {
    int (*child)(struct mount *m, struct mount_node *p, const char *name, struct mount_node **ret);
    int (*stat)(struct mount *m, struct mount_node *n, struct stat *st);
    void (*fill)(struct mount *m, struct mount_node *n, const struct stat *st,
                 struct fuse_entry_param *e);
};

/*
 * Reply to a read of @size bytes at @off from an open handle: from its file
 * @fd (>= 0; libfuse reads or splices it, counted in the read statistics)
 * or, for control files, from its in-memory bytes @buf of @len.
 */
void mount_reply_read(fuse_req_t req, int fd, const char *buf, size_t len, size_t size, off_t off);

/* Answer a FUSE lookup through @v: an entry, a negative entry for a missing
 * name (cached briefly), or the error. */
void mount_lookup_reply(fuse_req_t req, fuse_ino_t parent, const char *name,
                        const struct mount_lookup_view *v);

/* mount_dir.c */
void mount_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mount_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi);
void mount_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                          struct fuse_file_info *fi);

/* mount_io.c: the io mode of open files (all with m->lock held).  Every open pins its node
 * (mount_node_pin) and mount_io_release unpins it: a handle's node outlives its forget. */

/* At FUSE init: ask for kernel passthrough when offered and not turned off (m->passthrough). */
void mount_io_init(struct mount *m, struct fuse_conn_info *conn);
/*
 * Open tree file @n whose committed content is on @fd (the caller keeps
 * @fd): through a kernel passthrough backing file when negotiated and the
 * inode has no cached open (sets fi->backing_id, clears keep_cache), else as
 * mount_io_open.  Returns the mode to pass to mount_io_release.
 */
enum mount_iomode mount_io_open_committed(struct mount *m, fuse_req_t req, struct mount_node *n,
                                          int fd, struct fuse_file_info *fi);
/*
 * A writer of a staged file (-o write_passthrough) whose bytes are on @fd, its scratch file:
 * through a passthrough backing file when the inode has no other open (the kernel then writes
 * @fd itself, the daemon sees no write), else direct io as any writer.  Sets fi->direct_io.
 */
enum mount_iomode mount_io_open_writer(struct mount *m, fuse_req_t req, struct mount_node *n,
                                       int fd, struct fuse_file_info *fi);
/* A backing file left to @n by an open whose reply failed (no passthrough open of it now):
 * closed, so that the next open chooses afresh.  Lock held. */
void mount_io_drop_stale_backing(fuse_req_t req, struct mount_node *n);
/*
 * An open of tree file @n while the kernel has it backed by a file (n->backing_id): every
 * open of such an inode must be passthrough to that same file, so @fd must be it (-EBUSY
 * otherwise: the path names other bytes now).  0 and the open counted as MOUNT_IO_PT.
 */
int mount_io_join_backing(struct mount *m, struct mount_node *n, int fd, struct fuse_file_info *fi);
/* Any other open of tree file @n: cached, or direct io while it has passthrough opens. */
enum mount_iomode mount_io_open(struct mount_node *n, struct fuse_file_info *fi);
/* A handle of @n opened in @mode is released (@req NULL when its open reply failed). */
void mount_io_release(struct mount *m, fuse_req_t req, struct mount_node *n,
                      enum mount_iomode mode);

/* mount_xattr.c */
void mount_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void mount_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/* ---- mount_attr.c: attributes of nodes */

/*
 * Fill @st for @n (object loaded as needed).  Called with m->lock held.
 * Returns 0, -EIO for an object that fails to load, -ENOENT when the node's
 * path no longer exists (head changed).
 */
int mount_node_stat(struct mount *m, struct mount_node *n, struct stat *st);

/* Entry/attr timeout for @n. */
double mount_node_ttl(const struct mount *m, const struct mount_node *n);

/* ---- mount_ctl.c: contents of the control files */

/* Build the bytes of a control file (MK_ROOT_STATUS, MK_CTL_LOG, MK_CTL_STATUS,
 * MK_CTL_INVENTORY).  Called with m->lock held.  *ret is malloc'd. */
int mount_ctl_content(struct mount *m, struct mount_node *n, char **ret, size_t *ret_len);

/* ---- mount_io.c: the kernel's io mode of open files */

/* How an open file handle is served (the kernel refuses to mix passthrough and cached opens). */
enum mount_iomode {
    MOUNT_IO_NONE = 0, /* not a tree file (control files), or direct io */
    MOUNT_IO_CACHED,   /* the kernel's page cache, reads through the daemon */
    MOUNT_IO_PT,       /* kernel passthrough to a backing file */
};

/* Count one FUSE read request (for status). */
void mount_io_count_read(struct mount *m);

/* ---- mount_ops.c: the FUSE low-level operations */
extern const struct fuse_lowlevel_ops mount_ops;

#endif
