/* mount.h: the daemon's core: the mount, its inode table, the object table, names, trees and
 * the log, which every room of the daemon (fs/core, fs/read, fs/write) builds on. */
#ifndef OCFLFS_MOUNT_H
#define OCFLFS_MOUNT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "err.h"
#include "identity.h"
#include "inventory.h"
#include "object.h"
#include "root.h"

struct journal;
struct mount_wobj;
struct fuse_session;

/*
 * Locking: one mutex (struct mount.lock) guards the object list, the object
 * cache and the inode table.  FUSE handlers take it for the short time they
 * consult an inventory (bsearch over sorted state); reads of file data run
 * without it, on the descriptor of their file handle.  Reading an object's
 * inventory (which may take a second for a large one) runs without it too:
 * handlers call mount_node_preload() first, which marks the object loading,
 * releases the lock while it reads, and publishes the result under it;
 * other threads wanting the same object wait on its condition variable.
 */

/* One object of the storage root, known from the index or a walk. */
struct mount_obj {
    unsigned idx; /* position in struct mount_objects.all (stable) */
    char *id;
    char *name;                  /* directory name: the encoded id */
    char *path;                  /* relative to the storage root */
    int gone;                    /* no longer in the root (kept so inode keys stay valid) */
    struct mount_obj *name_next; /* hash chain by name */

    /* the loaded object (NULL when not loaded), in the LRU when loaded */
    struct ocfl_object *o;
    uint64_t gen;            /* bumped on every (re)load: cached attributes check it */
    uint64_t head_noted_gen; /* the load whose inventory digest the staging index knows */
    size_t weight;           /* state entries of the loaded inventory, for the cache bound */
    struct mount_obj *lru_prev, *lru_next;
    int load_err;             /* last failure (negative errno) or 0 */
    char *load_msg;           /* its message, for status and logs */
    double load_err_at;       /* monotonic seconds, to retry now and then */
    int loading;              /* a thread reads the inventory without m->lock */
    pthread_cond_t loaded_cv; /* broadcast (with m->lock) when that load ends */
    /* the root inventory sidecar as seen at load, to notice outside changes */
    struct timespec sidecar_mtime;
    ino_t sidecar_ino;
    off_t sidecar_size;
    double checked_at;
    /* the head view's listings: head_gen is bumped when a (re)load finds a root inventory
     * whose digest differs from the last one loaded (inv_digest), i.e. changed outside */
    uint64_t head_gen;
    char inv_digest[OCFL_DIGEST_HEX_MAX];
    uint64_t inval_stamp; /* the view stamp last invalidated explicitly (mount_write_dir.c) */
    /* the write side (mount_write*.c): NULL until the object is written to */
    struct mount_wobj *w;
    int staged_new; /* a new object staged by mkdir, not yet in the root */
};

struct mount_objects {
    struct mount_obj **all; /* insertion order: readdir offsets are indices */
    size_t n, alloc;
    struct mount_obj **by_name; /* hash buckets */
    size_t n_buckets;
    struct mount_obj *lru_head, *lru_tail; /* most recently used first */
    size_t n_loaded, weight_loaded;
    size_t max_loaded, max_weight; /* cache bounds */
};

enum mount_kind {
    MK_ROOT = 1,      /* MOUNT/ */
    MK_ROOT_CTL,      /* MOUNT/.ocfl/ */
    MK_ROOT_STATUS,   /* MOUNT/.ocfl/status */
    MK_OBJ,           /* MOUNT/NAME/: the head tree's top */
    MK_DIR,           /* a directory of a version tree (version 0 = head) */
    MK_FILE,          /* a file of a version tree */
    MK_CTL,           /* NAME/.ocfl/ */
    MK_VERSIONS,      /* NAME/.ocfl/versions/ */
    MK_VERSION,       /* NAME/.ocfl/versions/vN/: the top of version N's tree */
    MK_CTL_INVENTORY, /* NAME/.ocfl/inventory.json */
    MK_CTL_LOG,       /* NAME/.ocfl/log */
    MK_CTL_STATUS,    /* NAME/.ocfl/status */
    /* the write side (mount_write*.c, mount_ctl_*.c) */
    MK_CTL_COMMIT,  /* NAME/.ocfl/commit */
    MK_CTL_DISCARD, /* NAME/.ocfl/discard */
    MK_ROOT_PLANS,  /* MOUNT/.ocfl/plans/ */
    MK_ROOT_PLAN,   /* MOUNT/.ocfl/plans/ID.json (version = plan id) */
};

/*
 * An inode.  Keyed by (kind, object, version, path).  A node lives while the
 * kernel holds it (nlookup > 0) or something of ours holds it beyond one
 * locked section (pins > 0: open handles, directory snapshots, a handler that
 * drops m->lock); otherwise it is idle, and the least recently idle are freed
 * beyond a small number (mount_nodes_trim), except the root and objects' tops.
 * Inode numbers are never reused while mounted: a path looked up again after
 * its node was freed gets a new number.  A pointer to a node is valid while
 * m->lock is held, and beyond that only while the holder has it pinned.
 */
struct mount_node {
    uint64_t ino;
    uint64_t nlookup;                         /* the kernel's references (lookup minus forget) */
    struct mount_obj *obj;                    /* NULL for MK_ROOT* */
    char *path;                               /* logical path ("" at a tree's top) */
    struct mount_node *key_next;              /* hash chain by key */
    struct mount_node *ino_next;              /* hash chain by number */
    struct mount_node *idle_prev, *idle_next; /* the idle list (mount_nodes_trim) */
    /* attributes cached for obj->gen (committed content does not change) */
    uint64_t attr_gen;
    uint64_t size;
    uint64_t blocks; /* 512-byte blocks its content file holds (fewer when sparse) */
    struct timespec mtime;
    /* how the kernel has this file open (mount_io.c): it refuses to mix a
     * passthrough open with one in its caching mode on the same inode */
    dev_t backing_dev; /* the content file the backing file stands for */
    ino_t backing_ino;
    /* a head directory: 1 + the object's view stamp when its listing was last served
     * (mount_write_dir.c), 0 when never; the kernel may keep the listing while it matches */
    uint64_t list_stamp;
    unsigned pins; /* our references that outlive a locked section */
    enum mount_kind kind;
    unsigned version; /* 0 = head view, N = versions/vN */
    uint32_t hash;
    unsigned attr_version; /* the version the attributes describe (head resolved) */
    unsigned nlink;
    unsigned staged_links; /* the write view's link count of a directory, while ... */
    uint64_t links_stamp;  /* ... this is its stamp plus one (mount_write_view.c) */
    int backing_id;        /* kernel passthrough backing file, 0 when none */
    unsigned pt_opens;     /* open handles reading through the backing file */
    unsigned cached_opens; /* open handles in the kernel's caching mode */
    unsigned char idle;    /* on the idle list (lazily: rechecked there) */
    unsigned char buried;  /* a removed name (mount_write_ns.c): lookups never find it */
};

struct mount_nodes {
    struct mount_node **buckets;     /* by key */
    struct mount_node **ino_buckets; /* by number */
    size_t n_buckets;
    size_t n;                  /* nodes alive */
    uint64_t last_ino;         /* the last number handed out */
    uint64_t n_freed;          /* nodes freed so far */
    uint64_t n_freed_returned; /* n_freed when memory was last given back (mount_ops.c) */
    struct mount_node *idle_head, *idle_tail; /* least recently idle first */
    size_t n_idle;
    size_t idle_keep; /* idle nodes kept for a later lookup (trim frees the older ones) */
};

struct mount {
    pthread_mutex_t lock;
    struct ocfl_root *root;
    struct journal *journal; /* may be NULL (tests) */
    struct cluster *cluster; /* --cluster: joined, commits under object leases; else NULL */
    uint64_t n_notices;      /* other hosts' switches heard (mount_notice.c; lock held) */
    const char *ctl_name;    /* ".ocfl" or -o ctl=NAME */
    int foreground;
    int log_fd; /* --log FILE (O_APPEND), or the state dir's ocflfs.log when daemonized
                 * without a syslog socket; -1: stderr in the foreground, else syslog */
    uid_t uid;
    gid_t gid;
    struct timespec started;
    struct mount_objects objs;
    struct mount_nodes nodes;
    double ttl_committed; /* entry/attr timeout for versions/ (immutable) */
    double ttl_head;      /* for the head view, which may change */
    /* the background walk that refreshes the object list (mount_objects.c) */
    pthread_t refresher;
    int refresher_started, refreshing;
    double refreshed_at; /* monotonic seconds of the last finished walk */
    /* a first mount (no object index): the list fills in from the background walk, each
     * object shown as it is found; set until that walk ends */
    int first_walk;
    _Atomic int walk_stop; /* unmount: the walk stops where it is (nothing of it recorded) */
    double refresh_age;    /* a root listing walks again when the last walk is older */
    /* the content directory last stat'ed in (mount_attr.c), opened beneath its object */
    int cdir_fd;                /* -1 when none */
    char *cdir_path;            /* relative to the object */
    struct mount_obj *cdir_obj; /* and the load (gen) it was opened for */
    uint64_t cdir_gen;
    /* the write side: the FUSE session (for invalidations), the default committer */
    struct fuse_session *session;
    const char *user_name, *user_address; /* the mounting user's, in the versions it makes */
    /* a shared mount (issue 13): other callers' identities and who may commit */
    struct identity_map *user_map; /* login -> name, address (--user-map), or NULL */
    const char *address_template;  /* "mailto:{login}@example.org", or NULL */
    int named_users;               /* any caller's request may name a user (-o named_users) */
    int shared;                    /* -o allow_other: the kernel checks modes for every caller */
    const char *commit_group;      /* -o commit_group: only its members commit and discard */
    gid_t commit_gid;
    /* objects the journal kept attributes for when the mount began (sorted; loaded at the
     * first stat): one never written since needs no query to know it has none */
    char **kept_ids;
    size_t n_kept_ids;
    int kept_ids_loaded;
    /* kernel passthrough of committed content (mount_io.c) */
    int passthrough_off; /* -o nopassthrough */
    /* -o write_passthrough: a file created through the mount is written by the kernel
     * straight into its scratch file (passthrough); a commit takes it once it is closed */
    int write_passthrough;
    int passthrough;     /* negotiated at init: committed reads bypass the daemon */
    uint64_t n_reads;    /* FUSE read requests served (atomic builtins) */
    uint64_t n_writes;   /* FUSE write requests of staged files (the same) */
    uint64_t n_pt_opens; /* opens handed to the kernel's passthrough */
    uint64_t n_readdirs; /* FUSE readdir/readdirplus requests served (atomic builtins) */
};

/* The longest name of a file or directory (statfs's f_namemax): what the storage root's file
 * systems hold in a content path. */
#define MOUNT_NAME_MAX 255

/* ---- mount_log.c: to stderr in the foreground, syslog otherwise; the clock */
void mount_log(const struct mount *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Monotonic seconds. */
double mount_now(void);

/* ---- mount_names.c: object id <-> directory name */

/*
 * Encode @id as a directory name: '%' -> "%25", '/' -> "%2F", a leading '.'
 * -> "%2E"; when that is longer than 255 bytes, its first 200 bytes (cut at
 * a UTF-8 boundary and never inside an escape) + "~" + 32 hex digits of the
 * id's sha256.  *ret is malloc'd.  -ENOMEM.
 */
int mount_name_encode(const char *id, char **ret);

/* Decode a name made by mount_name_encode (not a hashed one); -EINVAL when
 * the name cannot be one.  *ret is malloc'd. */
int mount_name_decode(const char *name, char **ret);

/* ---- mount_objects.c: the list of objects and the cache of loaded ones */

int mount_objects_init(struct mount_objects *os, size_t max_loaded, size_t max_weight);
void mount_objects_release(struct mount_objects *os);

/* Add (or update the path of) object @id at @path.  Returns the entry or NULL (ENOMEM). */
struct mount_obj *mount_objects_add(struct mount_objects *os, const char *id, const char *path);

/* The entry named @name (not gone), or NULL. */
struct mount_obj *mount_objects_find(const struct mount_objects *os, const char *name);

/*
 * Fill the list: from the state dir's index when it has rows (then walk the
 * root in the background, see mount_objects_refresh).  Without an index the
 * list starts empty and first_walk is set: the walk started once mounted adds
 * each object as it finds it (objects are found by name through the layout
 * meanwhile); only when changes are staged is the root walked now.  Returns
 * the number of objects or a negative errno.
 */
int mount_objects_populate(struct mount *m, struct ocfl_err *err);

/*
 * Walk the root, read each unknown object's id, mark vanished objects gone,
 * and rewrite the index.  Takes m->lock only to update the list.
 */
int mount_objects_refresh(struct mount *m, struct ocfl_err *err);

/*
 * Start a background refresh (lock held) unless one runs or one finished
 * less than @min_age seconds ago.  mount_objects_stop_refresh() (lock not
 * held) waits for it at the end.
 */
void mount_objects_refresh_async(struct mount *m, double min_age);
void mount_objects_stop_refresh(struct mount *m);

/*
 * An object created outside after the list was made: when the root has a
 * layout and @name decodes to an id that the layout maps to an existing
 * object with that id, add it (and to the index).  Lock held.  NULL when
 * there is no such object.
 */
struct mount_obj *mount_objects_discover(struct mount *m, const char *name);

/*
 * The loaded object of @mo, loading it (and evicting the least recently
 * used beyond the bounds) when needed; notices an outside change of the
 * root inventory at most once a second and reloads.  Called with m->lock
 * held, which it never releases (it reads the inventory under it when the
 * object was not preloaded, see mount_obj_load); the result is valid until
 * the lock is released.  A failure is logged once per attempt and returned
 * as -EIO.
 */
int mount_obj_get(struct mount *m, struct mount_obj *mo, struct ocfl_object **ret);

/*
 * Load @mo as mount_obj_get does, but read the inventory with m->lock
 * released (called with it held; held again on return), or wait (lock
 * released) for another thread that reads it.  Callers must expect any
 * other state to have changed meanwhile, so they call it before anything
 * else.  Returns 0, -EIO (the failure is kept in mo->load_err, so a
 * mount_obj_get within 2 s answers -EIO too) or -ENOMEM.
 */
int mount_obj_load(struct mount *m, struct mount_obj *mo);
/* Drop @mo's loaded object and read it again now, under m->lock (held): a commit's switch to
 * the version it wrote.  0 or as mount_obj_get. */
int mount_obj_reload(struct mount *m, struct mount_obj *mo);

/*
 * Preload the object a handler is about to use: @n's object, or with @name
 * and @n the root, the object of that name (a lookup).  Lock held; it may be
 * released meanwhile (see mount_obj_load); @n is pinned meanwhile, and objects
 * are never freed, so both stay valid; a failure is left for mount_obj_get to
 * report.
 */
void mount_node_preload(struct mount *m, struct mount_node *n, const char *name);

/* ---- mount_nodes.c: the inode table (all with m->lock held) */

/* An empty table that keeps @idle_keep idle nodes for later lookups.  0 or -ENOMEM. */
int mount_nodes_init(struct mount_nodes *ns, size_t idle_keep);
/* Free every node (pinned or not) and the table.  NULL is fine. */
void mount_nodes_release(struct mount_nodes *ns);

/* The node of a key, created when missing (NULL on ENOMEM).  @path is copied.  A new node
 * is idle: it stays valid until the lock is released, then until mount_nodes_trim, unless
 * the caller counts a lookup on it (nlookup) or pins it. */
struct mount_node *mount_node_get(struct mount_nodes *ns, enum mount_kind kind,
                                  struct mount_obj *obj, unsigned version, const char *path);

/* The node of a key when there is one (not a buried one), else NULL; creates nothing. */
struct mount_node *mount_node_find(const struct mount_nodes *ns, enum mount_kind kind,
                                   const struct mount_obj *obj, unsigned version, const char *path);

/*
 * Give @n (same kind, object, version, number) the path @path: the write
 * side's rename, or a path no lookup can produce ("\x01..." for a node that
 * was unlinked).  The caller makes sure no other node has that key.
 * 0 or -ENOMEM.
 */
int mount_node_rekey(struct mount_nodes *ns, struct mount_node *n, const char *path);

/* Every node, in no particular order: the first with @n NULL, then the one after @n, NULL at
 * the end.  Nodes must not be made or freed meanwhile (rekeying is fine). */
struct mount_node *mount_nodes_next(const struct mount_nodes *ns, const struct mount_node *n);

/* The node of @ino, or NULL (never made, or freed). */
struct mount_node *mount_node_by_ino(const struct mount_nodes *ns, uint64_t ino);

/* Keep @n alive beyond this locked section (an open handle, a listing's snapshot, a handler
 * that releases the lock); every pin is matched by one mount_node_unpin.  NULL is fine. */
void mount_node_pin(struct mount_node *n);
void mount_node_unpin(struct mount_nodes *ns, struct mount_node *n);

/* The kernel got @n in a reply (lookup, create, mkdir, readdirplus): count it (nlookup). */
void mount_node_lookup(struct mount_nodes *ns, struct mount_node *n);

/* The kernel forgets @count lookups of @n (clamped at 0); an unreferenced node turns idle. */
void mount_node_forget(struct mount_nodes *ns, struct mount_node *n, uint64_t count);

/* Whether @n has no references: nlookup, pins, or a passthrough backing file to close first
 * (mount_io.c); the root and objects' tops never are (but for a removed new object's). */
int mount_node_unused(const struct mount_node *n);

/*
 * Free idle nodes (unused ones, oldest first) until at most ns->idle_keep remain idle.
 * Call it where the calling thread holds no unpinned node pointer it will use again (the
 * end of a handler's locked section, a forget).  Returns the number freed.
 */
size_t mount_nodes_trim(struct mount_nodes *ns);

/* ---- mount_tree.c: version trees from sorted state */

/* What @path is in version @v: 0 none, 1 a file (*ret_entry set), 2 a directory. */
int mount_tree_classify(const struct ocfl_version *v, const char *path,
                        const struct ocfl_state_entry **ret_entry);

/*
 * One child of the directory @dir ("" for the top) in @v, starting at state
 * index @pos (use mount_tree_first for the first).  Fills @name (of @size
 * bytes, at least 256), *ret_is_dir, and *ret_next (the index after this
 * child's whole subtree).  Returns 1 when a child was found, 0 at the end,
 * -ENAMETOOLONG when a name does not fit (the child is skipped via *ret_next).
 */
size_t mount_tree_first(const struct ocfl_version *v, const char *dir);
int mount_tree_child(const struct ocfl_version *v, const char *dir, size_t pos, char *name,
                     size_t size, int *ret_is_dir, size_t *ret_next);

/* Number of subdirectories of @dir in @v. */
unsigned mount_tree_subdirs(const struct ocfl_version *v, const char *dir);

/* Version that introduced the content @path has in version @num (walks back
 * while the digest stays the same). */
unsigned mount_tree_introduced(const struct ocfl_inventory *inv, unsigned num, const char *path);

/* Parse an RFC 3339 date-time into @ts; -EINVAL when it is not one. */
int mount_parse_time(const char *text, struct timespec *ts);

#endif
