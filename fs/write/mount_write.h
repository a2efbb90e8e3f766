/* mount_write.h: the write view of the mount (fs/write): staging through the mount, copy-up,
 * commit and discard, the control files; what its files share. */
#ifndef OCFLFS_MOUNT_WRITE_H
#define OCFLFS_MOUNT_WRITE_H

#include "mount_hash.h"
#include "mount_ops.h"
#include "staging.h"

/*
 * Locking: m->lock (the mount's mutex) is taken around every staging_* call
 * and every use of a loaded inventory, so operations on the staging index
 * are serialized with each other (a lookup-then-write cannot race with
 * another one).  A commit does not hold m->lock.  Writes through a file
 * handle (pwrite, ftruncate) pass the object's gate (mw_gate_enter/leave);
 * a commit closes the gate until its generation is frozen (and hashed), so
 * no byte lands in a scratch file while the commit freezes it; then the
 * epoch moves on and every handle copies up before its next write, into
 * the next generation, while the plan runs.  Order: gate, fh->mu, m->lock.
 */

/* Who sent a request: the calling process's credentials (mw_caller_of). */
struct mw_caller {
    uid_t uid;
    gid_t gid;
    gid_t groups[64]; /* supplementary groups, as far as the kernel tells them */
    size_t n_groups;
    char login[64]; /* passwd name, or the number */
};
/* Fill @who from request @req. */
/* One open file of the write side (or a control file it owns).  A head file opened for
 * reading is one too: it follows its path (renames, copy-ups, commits, a discard) so that
 * it reads what a writer of that path wrote, until the path is unlinked or replaced. */
struct mw_fh {
    int fd;               /* scratch / content descriptor, -1 for control files */
    struct mount_obj *mo; /* NULL for root control files */
    char *path;           /* logical path, kept up to date by rename; NULL when orphaned */
    int frozen_orphan;    /* orphaned while fd was a frozen or committed file: copy first */
    uint64_t orphaned_by; /* the unlink that orphaned it: its handles share one file after it */
    char scratch[64];     /* the scratch file written, "" for read-only handles */
    int writable;         /* opened for writing */
    int cleared;          /* the row's digest was cleared by the first write */
    int kill_priv;        /* opened by another user than the owner of a set-ID file: its
                           * first write clears set-user-ID and set-group-ID, as POSIX says */
    int report;           /* record size and digest at release */
    pthread_mutex_t mu;   /* writes through this handle (hash order) */
    pthread_cond_t cv;    /* signalled when a replied write has been accounted */
    unsigned inflight;    /* writes replied to but not accounted for hashing yet */
    int shared;           /* another write handle has the same scratch: no digest */
    _Atomic int broken;   /* truncated by path meanwhile: the sequential hash is void */
    uint64_t epoch;       /* the object's epoch when scratch was last checked */
    uint64_t seen;        /* a reader: mw_source_stamp when its descriptor was chosen */
    int *retired;         /* descriptors replaced while a read may still use them */
    size_t n_retired, cap_retired;
    struct mw_hash *hj; /* background hash from offset 0 (mount_hash.h), NULL when broken */
    uint64_t seq_off;   /* bytes written in order from 0 (handed to the hasher) */
    int alg;            /* enum ocfl_digest_alg of the object */
    /* control files */
    enum mount_kind kind;
    char *buf;
    size_t len;
    struct mw_caller *opener;  /* .ocfl/commit, .ocfl/discard: who opened it, whom the kernel
                                * let write (a write may come from another process it was
                                * handed to, a set-user-ID program's output) */
    struct mw_fh *next, *prev; /* the object's write handles */
    struct mount_node *node;   /* the tree file opened, NULL for control files */
    enum mount_iomode io;      /* how the kernel has it open (mount_io.c) */
    int pt_writer; /* kernel passthrough: the kernel writes its scratch file, the daemon sees
                    * no write (-o write_passthrough; a commit copies what may still be written) */
};

/* File handles of the write side are tagged with bit 0 in fi->fh (the read side's are not). */
static inline struct mw_fh *mw_fh_of(const struct fuse_file_info *fi)
{
    return (fi->fh & 1) ? (struct mw_fh *)(uintptr_t)(fi->fh & ~(uint64_t)1) : NULL;
}

/* Close and free @fh, unlinking it from its object's handles (lock held). */
void mw_fh_free(struct mw_fh *fh);

/* Per-object state of the write side (struct mount_obj.w). */
struct mount_wobj {
    pthread_mutex_t gate_mu; /* the gate: writers pass unless a commit is freezing */
    pthread_cond_t gate_cv;
    int freezing;
    unsigned writers;
    int staged;              /* has (or may have) staged rows: the view asks the staging index */
    int committing;          /* a commit runs */
    int moving;              /* its plan may be moving the frozen files: opens of them wait */
    pthread_cond_t moved_cv; /* with m->lock: moving went back to 0 */
    int64_t plan_id;         /* its plan, once known */
    uint64_t epoch;          /* bumped by every commit and discard */
    uint64_t copyups;        /* bumped whenever a path of the object gets a new scratch file */
    uint64_t unlinks;        /* numbers the unlinks that orphaned handles (mw_fh.orphaned_by) */
    uint64_t dirops;         /* bumped by mkdir, rmdir and rename: directory link counts */
    uint64_t kept_stamp;     /* mw_view_stamp + 1 when kept was learnt, 0: not yet */
    /* the top directory's owner and mode as last shown (its control files follow them
     * without asking the journal, which a commit may hold) */
    int top_known;
    uid_t top_uid;
    gid_t top_gid;
    mode_t top_mode;
    int kept;          /* the journal keeps modes or times of its entries (kept_attrs) */
    char *last_result; /* JSON of the last commit or discard */
    struct mw_fh *fhs; /* open write handles */
};

/* The write state of @mo, created on first use (lock held).  NULL on ENOMEM. */
struct mount_wobj *mw_wobj(struct mount_obj *mo);
/* Writes through a handle of @w's object pass the gate (waiting while a commit freezes). */
void mw_gate_enter(struct mount_wobj *w);
void mw_gate_leave(struct mount_wobj *w);
/* A commit closes the gate once the writers inside have left and finishes the object's
 * background hashes (mw_hash_finish, m->lock not held); mw_gate_open reopens it. */
void mw_gate_close(struct mount_wobj *w);
void mw_gate_open(struct mount_wobj *w);

/* Lock held.  The attributes of head file @n whose path no longer exists but which is still
 * open (an unlinked file stays usable until its last close): through a write handle's bytes, or
 * the committed content a reader has.  -ENOENT when nothing holds it open. */
int mw_stat_open_handle(struct mount *m, struct mount_node *n, struct stat *st);
/* Whether @e is backed by a frozen scratch file (one a running commit may move away). */
int mw_frozen_scratch(const struct staging_entry *e);
/* Lock held.  While a commit of @mo may be moving its frozen scratch files into the object,
 * wait (m->lock is released meanwhile: anything looked up before is stale); 1 when it waited,
 * 0 when no commit moves.  The commit switches the view to its version before it wakes us. */
int mw_wait_moved(struct mount *m, struct mount_obj *mo);
/* Whether a commit of @mo may be moving its frozen files now (lock held). */
int mw_moving(const struct mount_obj *mo);

/* Free every object's write state (at unmount). */
void mw_release_all(struct mount *m);

/* Changes whenever the file behind a head path of @mo may have changed (lock held): readers
 * look their path up again when it moved since they chose their descriptor. */
uint64_t mw_source_stamp(const struct mount_obj *mo);
/* Wall-clock nanoseconds. */
int64_t mw_now_ns(void);

/*
 * Before head path @path of @mo (a file, or a directory and what is below it) is unlinked or
 * replaced, lock held.  Returns 1 when it had to wait for a commit moving files (the lock was
 * released: look everything up again), 0 when done, a negative errno.  When the path is a file
 * that handles hold: *ret_frozen says whether its bytes are a frozen or committed file, which no
 * handle may write, and *ret_fd (else -1) is a descriptor on those bytes, for mw_orphan.
 */
int mw_before_unlink(struct mount *m, struct mount_obj *mo, const char *path, int *ret_frozen,
                     int *ret_fd);
/*
 * After @path of @mo was unlinked or replaced, lock held: its handles lose their path, and
 * nothing of them is recorded.  They share one file from now on, as descriptors of one inode
 * do: a writer's of the path's writable file, else @fd (taken: closed here).  With @frozen, or
 * for a writer from before a commit, the first write through any of them gives them all one
 * private copy (mw_revalidate).
 */
void mw_orphan(struct mount_obj *mo, const char *path, int frozen, int fd);
/* A discard dropped every staged file of @mo (lock held): its writers lose their path; those
 * from before a commit hold frozen or committed files and copy before they write. */
void mw_orphan_writers(struct mount_obj *mo);

/*
 * Whether head path @path (just made from a parent's path and a new name @name) can be
 * staged: -ENAMETOOLONG when @name is longer than MOUNT_NAME_MAX bytes or @path longer than
 * OCFL_PATH_MAX_BYTES, what one call names below a directory on a native file system.  Its
 * content path is longer and the library resolves it element by element, so a name the view
 * accepts never makes a commit fail.
 */
int mw_path_fits(const char *path, const char *name);

/*
 * (mount_ctl_write.c) The owner of an entry the caller of @req makes under @parent (lock held): the
 * caller's uid and gid, or the parent's group when the parent is set-group-ID; a new directory
 * (@dir_mode not NULL) under such a parent is set-group-ID too, as on a local file system.
 */
void mw_new_owner(struct mount *m, fuse_req_t req, struct mount_node *parent, int64_t *uid,
                  int64_t *gid, mode_t *dir_mode);
/* The group of committed content nobody chowned: -o commit_group's, else the mounting user's. */
gid_t mw_default_gid(const struct mount *m);

/* Whether @n is a node of an object's head tree (MK_OBJ, MK_DIR or MK_FILE of version 0). */
int mw_is_head(const struct mount_node *n);
/* Whether the view of @mo must consult the staging index. */
int mw_staged(const struct mount_obj *mo);

/* The base inventory of @mo for staging: NULL for a new object.  Lock held.  -EIO. */
int mw_inv(struct mount *m, struct mount_obj *mo, const struct ocfl_inventory **ret);

/* Attributes of a head node, the staged view included.  Lock held. */
int mw_stat(struct mount *m, struct mount_node *n, struct stat *st);
/* Lock held.  @e is what the index says of @n's path now (a lookup or a create just got it):
 * the next mw_stat of @n in this thread uses it once instead of asking the index again.  Call
 * with @e NULL when done (at the latest before this thread takes the lock again), whether or
 * not it was used. */
void mw_stat_memo(const struct mount_node *n, const struct staging_entry *e);
/* The attributes every node of the mount starts from (owner, inode number).  Lock held. */
void mw_base_stat(struct mount *m, struct mount_node *n, struct stat *st);

/*
 * Log a staging failure of @path (NULL: the object as a whole) in @mo (NULL: a new object
 * named by @path) and pass the code through.  Ordinary POSIX answers (ENOENT, EEXIST, ...)
 * are not failures and are not logged; a failure is logged once: the same object, path and
 * message again within a minute only adds to a count said with the next line logged for them.
 */
int mw_fail(struct mount *m, struct mount_obj *mo, const char *path, int rc,
            const struct ocfl_err *err);

/* Invalidate the kernel's view of every head node of @mo (lock NOT held; after replying):
 * the entries and inodes of its files and directories, and the listing of its top. */
void mw_invalidate_object(struct mount *m, struct mount_obj *mo);
/* mw_invalidate_object in a detached thread (from a request handler, lock held or not: the
 * kernel may hold a lock of the inode the request is about).  Does nothing without a session
 * or on ENOMEM. */
void mw_invalidate_object_async(struct mount *m, struct mount_obj *mo);
/* ---- mount_notice.c: another host's switch (cluster mode) */

/* A notice of the cluster (cluster_listen's callback; @ctx is the mount): an object that
 * another host switched is read again and the kernel's entries of it dropped, a new one is
 * added to the listing, a purged one marked gone.  Lock not held. */
struct cluster_notice;
void mw_cluster_notice(void *ctx, const struct cluster_notice *n);

/* Wait until the threads of mw_invalidate_object_async have ended (before the session goes). */
void mw_invalidations_wait(void);

/*
 * The view stamp of @mo: it changes whenever the head view may have changed other than
 * through the kernel (a reload that found another inventory, a commit, its revert, a
 * discard).  A head directory whose listing was served at the current stamp
 * (mount_node.list_stamp) may be kept by the kernel (lock held).
 */
uint64_t mw_view_stamp(const struct mount_obj *mo);
/* 1 when @mo's view stamp moved since the last explicit invalidation (and note it as done):
 * the caller then calls mw_invalidate_object_async.  0 otherwise, and for NULL.  Lock held. */
int mw_check_view(struct mount *m, struct mount_obj *mo);

/* ---- mount_ctl_write.c: commit, discard, status, plans, and the attributes of any node */
/* Any node (lock held): mw_stat for head nodes, the write side's control files, else
 * mount_node_stat. */
int mw_node_stat(struct mount *m, struct mount_node *n, struct stat *st);

void mw_caller_of(fuse_req_t req, struct mw_caller *who);

/*
 * Commit @mo's staged changes for caller @who (lock not held).  @text is the commit message,
 * or a JSON request (journal_commit_request_parse); the version names the user the request
 * names (where @who may), else @who (the mounting user as --user says; others by the user
 * map or passwd).  Returns 0 once the version is durable, or a negative errno: -EINVAL a bad
 * request, -EACCES not allowed (-o commit_group, naming another user), -ENODATA nothing
 * staged, -ESTALE a conflict, -EBUSY a commit running; the outcome, a refusal included, is
 * kept for .ocfl/commit and logged with the caller.
 */
int mw_commit(struct mount *m, struct mount_obj *mo, const struct mw_caller *who, const char *text,
              size_t len);
/* Drop @mo's staged changes for @who (lock not held; -o commit_group applies).  0 or a
 * negative errno. */
int mw_discard(struct mount *m, struct mount_obj *mo, const struct mw_caller *who);

/* Bytes of a write-side control file or a status that includes staged changes (lock held). */
int mw_ctl_content(struct mount *m, struct mount_node *n, char **ret, size_t *ret_len);

/* The child @name of the control directories (lock held): 0, -ENOENT, or 1 when not ours. */
int mw_ctl_child(struct mount *m, struct mount_node *p, const char *name, struct mount_node **ret);

/* Recover unfinished plans and staging, and list staged objects, before serving. */
int mw_startup(struct mount *m, struct ocfl_err *err);

/* ---- mount_write_dir.c: lookup, attributes, listings, access, xattrs */
void mw_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void mw_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mw_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mw_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi);
void mw_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi);
void mw_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mw_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void mw_op_access(fuse_req_t req, fuse_ino_t ino, int mask);
void mw_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void mw_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);

/* ---- mount_write_file.c: file data */
void mw_op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                  struct fuse_file_info *fi);
void mw_op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mw_op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi);
void mw_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                 struct fuse_file_info *fi);
void mw_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mw_op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void mw_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

/* ---- mount_write_follow.c: copy-up, and handles following their path */
/*
 * Make @path writable in the current generation: its scratch file, or a
 * copy-up (from @from_fd when >= 0, else from its current bytes).  *ret_fd
 * gets an O_RDWR descriptor; @trunc < 0 keeps the bytes.  Lock held.
 */
int mw_make_writable(struct mount *m, struct mount_obj *mo, const char *path, int64_t trunc,
                     int from_fd, int *ret_fd, struct staging_entry *ret);
/* Before writing through @fh (inside the gate, fh->mu held, m->lock not held): copy up when a
 * commit or discard moved on since it was checked, and clear the row's digest once. */
int mw_revalidate(struct mount *m, struct mw_fh *fh);
/* A descriptor on the bytes head file @path of @mo shows now (its staged file or committed
 * content); waits while a commit moves that file.  Lock held. */
int mw_reader_fd(struct mount *m, struct mount_obj *mo, const char *path, int *ret_fd);
/* Before a read through reader @fh: take its path's current file when it may have changed.
 * Lock not held. */
void mw_reader_follow(struct mount *m, struct mw_fh *fh);
/* Writer @fh after a commit or discard: follow its path (with @copy_up, copy its frozen bytes
 * up when nobody did).  fh->mu and m->lock held. */
int mw_writer_follow(struct mount *m, struct mw_fh *fh, int copy_up);

/* ---- mount_write_attr.c */
void mw_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                   struct fuse_file_info *fi);

/* ---- mount_write_ns.c: names, xattr commands, statfs, the operation table */
extern struct fuse_lowlevel_ops mount_write_ops;
/* Fill mount_write_ops from mount_ops plus the write side. */
void mount_write_ops_init(void);

#endif
