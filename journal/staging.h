/* staging.h: the staging index: staged changes per object in SQLite, merged over the head. */
#ifndef OCFLFS_STAGING_H
#define OCFLFS_STAGING_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "inventory.h"
#include "journal.h"

/*
 * The staging index lives in the journal's database (schema v2):
 *   staged_objects(object_id, new_object, gen, frozen_gen, plan_id)
 *   staged(object_id, path, gen, parent, kind, digest, scratch, size, mode,
 *          mtime_ns)  -- indexed by (object_id, parent, path) for listings
 * A staged row overrides the head state at its logical path: a file backed
 * by a digest (content already in the object: renamed or untouched), a file
 * backed by a scratch file (STATE/scratch/fN, named from a sequence), a
 * whiteout (the path is removed) or an explicit directory.
 *
 * Generations: the rows of an object carry the generation they were written
 * in.  A commit freezes the current generation (it becomes the plan's) and
 * later writes go to the next one; the view of a path is its row of the
 * highest generation, else the head.  At most one generation is frozen per
 * object.  A frozen scratch file is never written again: the glue checks
 * `frozen` before writing through a handle and copies up (staging_copy_up,
 * from its still-open descriptor) into a fresh scratch file.
 *
 * Every function below runs in one short transaction under journal_lock()
 * (BEGIN IMMEDIATE for changes, BEGIN for reads; see staging_sync for what
 * is durable when); do not call them with the lock held.  @inv is the
 * object's current inventory (its head is the base of the view), NULL for a
 * new object.  Paths are logical paths ("a/b.txt"; "" is the object's top
 * directory); a name that is not UTF-8 or not a valid logical path gives
 * -EILSEQ / -EINVAL.  Errors are negative errnos with a message naming the
 * path in @err.  The glue serializes operations on one object (a
 * lookup-then-write must not race with a commit's freeze).
 */

enum staging_kind {
    STAGING_NONE = 0, /* no such path in the view */
    STAGING_FILE,
    STAGING_DIR,
};

/* What a path is in the merged view. */
/* In staging_entry.mode: the permission bits below were set (mode 0 included). */
#define STAGING_MODE_SET 0x10000u

struct staging_entry {
    enum staging_kind kind;
    int staged;  /* 1: from a staged row; 0: the head (or an implicit directory) */
    int frozen;  /* 1: the row belongs to a frozen generation (do not write its scratch) */
    int64_t gen; /* the row's generation (0 for the head) */
    char digest[OCFL_DIGEST_HEX_MAX]; /* "" when not known (a scratch file being written) */
    char scratch[64];                 /* "scratch/sK/fN" (or, made before, "scratch/fN")
                                         relative to the state dir, or "" */
    int64_t size;                     /* -1 when not known (digest-backed: stat the content) */
    uint32_t mode;                    /* permission bits set by create, mkdir or chmod, with
                                       * STAGING_MODE_SET; 0 = never set (the default) */
    int64_t mtime_ns;                 /* kept by utimens / writes, 0 = unknown */
    int64_t atime_ns;                 /* kept by utimens, 0 = as mtime_ns */
    int64_t ctime_ns;                 /* the last change of the entry or its attributes (set by
                                       * staging itself, never by the caller), 0 = as mtime_ns */
    int64_t synced_size;              /* scratch bytes proven on disk (an fsync returned) */
    int64_t uid, gid;                 /* its owner (create, mkdir, chown), -1: the default */
    char damaged[160]; /* "" or why the scratch data is not what was acknowledged (reads give
                          EIO, a commit fails, until the path is rewritten or removed) */
};

/* Whether the glue may write @e's scratch file in place (staged, scratch-backed, not frozen,
 * not damaged). */
int staging_entry_writable(const struct staging_entry *e);

/*
 * Look @path up in the merged view of object @oid.  Always fills *ret
 * (kind STAGING_NONE when absent) and returns 0, or a negative errno.
 * An entry of the head nobody staged (staged = 0) carries the mode and
 * times kept for it, if any (below).
 */
int staging_lookup(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *path, struct staging_entry *ret, struct ocfl_err *err);

/*
 * Kept attributes.  OCFL versions no mode and no time; the mount keeps what
 * the view showed when a commit ends (journal table kept_attrs): a file's
 * with the digest it was committed with (another tool's new content there
 * has the version's time and the default mode again), a directory's as
 * long as it is there, the object's top directory's from its first entry
 * change or chmod on.  A removal in a version drops what was kept below it.
 * staging_kept_any: 1 when object @oid has kept attributes, 0 when none.
 */
int staging_kept_any(struct journal *j, const char *oid, struct ocfl_err *err);
/*
 * The mode, times and owner kept for head entry @path of @oid into @e (left as they are
 * when none; for a file, @digest is its head digest and must be the one they were kept
 * with).  These three read on a connection of their own: a commit that holds the journal
 * for its freeze does not hold them up.  0 or -EIO.
 */
int staging_kept_read(struct journal *j, const char *oid, const char *path, const char *digest,
                      struct staging_entry *e, struct ocfl_err *err);
/* The ids of all objects with kept attributes, sorted (strcmp), into a malloc'd array of
 * malloc'd strings; free with staging_ids_free. */
int staging_kept_objects(struct journal *j, char ***ret, size_t *ret_n, struct ocfl_err *err);
void staging_ids_free(char **ids, size_t n);

struct staging_dirent {
    char *name; /* one element */
    enum staging_kind kind;
};

/*
 * The children of directory @dir ("" = top) in the merged view, sorted by
 * name (strcmp).  Staged rows come from the parent index; the head's part
 * is a range of its sorted state.  -ENOENT / -ENOTDIR when @dir is not a
 * directory.  *ret (array of *ret_n) is freed with staging_dirents_free.
 */
int staging_list(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                 const char *dir, struct staging_dirent **ret, size_t *ret_n, struct ocfl_err *err);
void staging_dirents_free(struct staging_dirent *d, size_t n);

/*
 * Create an empty file at @path (parent must be a directory: -ENOENT,
 * -ENOTDIR; -EEXIST when the path exists) backed by a new scratch file.
 * *ret_fd (optional) gets an O_RDWR descriptor on it (the caller's);
 * *ret (optional) the new entry.  The scratch file's directory entry is made
 * durable by staging_sync (the glue's fsync), not here.  @uid and @gid: its
 * owner (the caller), -1 for the mount's default; mkdir and new objects alike.
 */
int staging_create(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *path, uint32_t mode, int64_t uid, int64_t gid, int *ret_fd,
                   struct staging_entry *ret, struct ocfl_err *err);

/* The bytes a copy-up starts from. */
struct staging_source {
    int fd;              /* the committed content, or the still-open descriptor of a frozen
                          * scratch file; -1 when truncate_to is 0 */
    int64_t truncate_to; /* >= 0: cut the copy to this size (O_TRUNC opens copy nothing);
                          * < 0: all of it */
};

/*
 * Copy-up: make @path (an existing file of the view) scratch-backed in the
 * current generation, with the bytes of @src, copied with copy_file_range
 * (FICLONE first).  Mode and mtime are kept.  *ret_fd gets an O_RDWR
 * descriptor.  -EISDIR / -ENOENT.
 */
int staging_copy_up(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                    const char *path, const struct staging_source *src, int *ret_fd,
                    struct staging_entry *ret, struct ocfl_err *err);

/*
 * A private, nameless copy of @src_fd's bytes (O_TMPFILE in the state
 * directory): for a handle whose path was unlinked while its descriptor was
 * a frozen or committed file, which must never be written again.  Nothing
 * of it is recorded; it goes with its last descriptor.  *ret_fd gets an
 * O_RDWR descriptor.
 */
int staging_private_copy(struct journal *j, int src_fd, int *ret_fd, struct ocfl_err *err);

/*
 * Record what the glue learnt about a writable scratch-backed file: its size
 * and mtime after writes (digest cleared unless @digest is given), or at
 * close the digest of a file written sequentially from offset 0 (@digest,
 * NULL = unknown).  -EROFS when the row is frozen, -ENOENT.
 */
int staging_set_written(struct journal *j, const char *oid, const char *path, int64_t size,
                        int64_t mtime_ns, const char *digest, struct ocfl_err *err);

/*
 * Durability.  The staging transactions commit with synchronous=NORMAL
 * (WAL): once a function above returns, its change survives a crash of the
 * process (SIGKILL: the WAL is in the page cache) but not necessarily a
 * power loss.  These two are the points where the user asks for more.
 *
 * staging_sync: fsync(2) through the mount of @path: makes the staging
 * index durable (one FULL commit, which fsyncs the WAL with every earlier
 * commit in it) and, for a scratch-backed file, scratch/ (its directory
 * entry).  The file's bytes are the glue's fdatasync.  0 for an unstaged
 * path; -ENOENT, -EIO.
 */
int staging_sync(struct journal *j, const char *oid, const char *path, struct ocfl_err *err);
/* staging_sync for everything staged (fsyncdir, unmount): scratch/ and the index.  -EIO. */
int staging_sync_all(struct journal *j, struct ocfl_err *err);

/*
 * What survives a power loss (staging_durable.c).  A row's size and digest are trusted after
 * an unclean stop only as far as synced_size, the bytes of its scratch file proven on disk:
 * it is written in a FULL transaction after the fdatasync that proved them, so the row is
 * never durable before the bytes it vouches for.  At mount (staging_recover) every scratch
 * file is checked: its size is taken from the disk and its digest dropped (the commit hashes
 * it), unless the last stop was a clean unmount and the size still matches; a file missing
 * or shorter than synced_size is marked damaged.
 *
 * staging_sync_scratch: the glue fdatasync'ed scratch file @scratch (stat'ed before:
 * @synced_size bytes are on disk); make its directory entry durable, then record the size in
 * every row naming it and make the whole index durable.  -EINVAL for a name not of scratch/.
 */
int staging_sync_scratch(struct journal *j, const char *scratch, int64_t synced_size,
                         struct ocfl_err *err);
/* Before the glue cuts scratch file @scratch to @size: lower its acknowledged size, durably
 * (a power loss could keep the cut and lose a later row). */
int staging_lower_synced(struct journal *j, const char *scratch, int64_t size,
                         struct ocfl_err *err);
/* Mark every row naming @scratch damaged, for reason @why (a failed flush). */
int staging_mark_damaged(struct journal *j, const char *scratch, const char *why,
                         struct ocfl_err *err);
/*
 * The damaged paths of @oid's view (generations <= @max_gen, 0 = all): their number, and in
 * *ret (malloc'd, NULL when none) "'path' (why); ..." for a message.
 */
int staging_damaged(struct journal *j, const char *oid, int64_t max_gen, char **ret,
                    struct ocfl_err *err);
/*
 * At a clean unmount, once nothing writes: fdatasync every scratch file the index names (not
 * frozen), record their sizes as acknowledged, set the clean flag (the next mount keeps the
 * digests), and delete the graveyard.  -EIO.
 */
int staging_close_clean(struct journal *j, struct ocfl_err *err);
/* How many staged scratch files (scratch/fN, scratch/sK/fN) the state dir @state_fd holds. */
int staging_scratch_count(int state_fd);

/* Truncate a writable scratch-backed file (the glue copies up first). */
int staging_truncate(struct journal *j, const char *oid, const char *path, int64_t size,
                     struct ocfl_err *err);

/*
 * chmod / utimens / chown: kept on the row (a head file gets a digest-backed
 * row), not versioned.  @mode, @atime_ns, @mtime_ns, @uid or @gid < 0 leave
 * that one unchanged; the change time becomes now.
 * Directories get an explicit row; the object's top ("") has none: its
 * attributes are kept at once (see staging_kept_any).
 */
int staging_set_attr(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                     const char *path, int64_t mode, int64_t atime_ns, int64_t mtime_ns,
                     int64_t uid, int64_t gid, struct ocfl_err *err);

/* unlink: -ENOENT, -EISDIR.  A scratch file of the current generation is deleted. */
int staging_unlink(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *path, struct ocfl_err *err);

/* mkdir: -EEXIST, -ENOENT / -ENOTDIR for the parent. */
int staging_mkdir(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                  const char *path, uint32_t mode, int64_t uid, int64_t gid, struct ocfl_err *err);

/* rmdir: -ENOENT, -ENOTDIR, -ENOTEMPTY; "" is -EBUSY. */
int staging_rmdir(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                  const char *path, struct ocfl_err *err);

/*
 * rename(2) within one object.  Files and directories; a directory of
 * committed content is moved as digest-backed rows plus whiteouts (no data
 * copied).  Over an existing target: file over file replaces, directory
 * over an empty directory replaces; -EISDIR (file over dir), -ENOTDIR (dir
 * over file), -ENOTEMPTY, -EINVAL (a directory into itself), -ENOENT.
 */
int staging_rename(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *from, const char *to, struct ocfl_err *err);

/*
 * Drop every staged change of @oid in the current generation (their scratch
 * files are deleted).  A new object stays (empty).  -EBUSY while a
 * generation is frozen.  Returns the number of rows dropped.
 */
int staging_discard(struct journal *j, const char *oid, struct ocfl_err *err);

/*
 * Drop the staged changes at each of @paths (logical paths of @oid, each with everything
 * staged beneath it) in one transaction: those paths show the head's @inv again (NULL for a
 * new object), other changes stay.  A committed entry that comes back gets back the
 * directories above it that the changes removed.  -ENOENT when nothing is staged at one of
 * the paths (nothing dropped then), -ENOTDIR when a staged file stands where a directory
 * would come back, -EBUSY while frozen, -EINVAL/-EILSEQ for a bad path.  Returns the number
 * of rows dropped.
 */
int staging_discard_paths(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                          const char *const *paths, size_t n, struct ocfl_err *err);

/* mkdir at the mount root: a new object without head, its top directory with @mode and owner
 * (nothing kept of an earlier object of that id stays).  -EEXIST when staged already. */
int staging_object_new(struct journal *j, const char *oid, uint32_t mode, int64_t uid, int64_t gid,
                       struct ocfl_err *err);
/* rmdir of an uncommitted new object: -ENOENT (not a new object), -ENOTEMPTY, -EBUSY (frozen). */
int staging_object_remove(struct journal *j, const char *oid, struct ocfl_err *err);

/*
 * Bases.  Staged changes are made on the head the glue shows; if another
 * tool writes a new version meanwhile, committing them would silently undo
 * or mix with its changes.  So the first staged change of an object records
 * the inventory digest the glue last noted for it (staging_note_head, at
 * every load of the object), and a commit refuses to go on when the object's
 * inventory is no longer that one (journal_commit_object).
 */
/* Note @digest as the inventory digest of @oid's head as the glue sees it now (not persisted). */
int staging_note_head(struct journal *j, const char *oid, const char *digest, struct ocfl_err *err);
/* The base of @oid's staged changes into @digest: 1, or 0 when there is none (no staged
 * changes, a new object, or changes staged before ocflfs recorded bases); < 0 on error. */
int staging_base(struct journal *j, const char *oid, char digest[OCFL_DIGEST_HEX_MAX],
                 struct ocfl_err *err);
/* The same, for a caller that holds journal_lock() (and maybe a transaction). */
int staging_base_locked(struct journal *j, const char *oid, char digest[OCFL_DIGEST_HEX_MAX],
                        struct ocfl_err *err);
/* Make @digest the base of @oid's staged changes (after a commit, or to rebase them). */
int staging_set_base(struct journal *j, const char *oid, const char *digest, struct ocfl_err *err);

/* One object with staged state. */
struct staging_object_info {
    char *object_id;
    int new_object;
    int64_t gen, frozen_gen; /* frozen_gen 0 when none */
    int64_t plan_id;         /* the frozen generation's plan, 0 when none */
    size_t n_rows;
};
/* Objects with staged rows or new (for the mount's list and status). */
int staging_objects(struct journal *j, struct staging_object_info **ret, size_t *ret_n,
                    struct ocfl_err *err);
void staging_object_infos_free(struct staging_object_info *o, size_t n);

/* One file of a merged state (what a commit writes). */
struct staging_file {
    char *path;
    char *digest;  /* NULL: a scratch file whose digest is not known */
    char *scratch; /* NULL: digest-backed */
    int64_t size;  /* -1 unknown */
};

struct staging_state {
    struct staging_file *files; /* sorted by path */
    size_t n_files;
    char **empty_dirs; /* explicit directories without any file in this state */
    size_t n_empty_dirs;
};
void staging_state_release(struct staging_state *s);

/*
 * The state after applying the rows of generations <= @max_gen (0 = all)
 * over @inv's head.  Used by status and commit.
 */
int staging_state_compute(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                          int64_t max_gen, struct staging_state *ret, struct ocfl_err *err);

/*
 * Status as JSON text (malloc'd): {"object","new_object","head","generation",
 * "frozen_generation","plan","added":[{"path","size"}],"modified":[...],
 * "removed":[{"path"}],"renamed":[{"from","to","size"}],"empty_dirs":[...],
 * "damaged":[{"path","reason"}]}.
 * Renamed = a removed head path whose digest reappears at an added path.
 */
int staging_status_json(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                        char **ret, struct ocfl_err *err);

/*
 * Keep the staging index's prepared statements between transactions on
 * @j's connection (the mount: thousands of small transactions).  One
 * journal per process at a time.  staging_cache_close finalizes them: call
 * it before journal_close, once no staging call runs (else the connection
 * stays open as a zombie).  Both accept NULL.
 */
void staging_cache_open(struct journal *j);
void staging_cache_close(struct journal *j);

/* ---- used by commit.c and recovery */

/* Freeze the current generation: returns it (> 0), -ENODATA when it has no
 * rows and the object is not new, -EBUSY when one is frozen already.  Must
 * be called inside the caller's transaction (journal_lock held, begun). */
int64_t staging_freeze_locked(struct journal *j, const char *oid, struct ocfl_err *err);
/*
 * Whether scratch file @scratch may be written by someone now: 1 when an open file of it may
 * write it (or when that cannot be told: no leases on this file system), 0 when none can,
 * -errno when it cannot be opened.  Under kernel passthrough the daemon does not see every
 * writer: a shared writable mapping keeps the file after its last close.
 */
int staging_scratch_written_elsewhere(struct journal *j, const char *scratch);
/* Whether read leases can be had in @j's state directory (a file made and removed there to
 * try): 0, or -errno with a message naming the directory (a network file system, leases
 * turned off in /proc/sys/fs/leases-enable). */
int staging_leases_work(struct journal *j, struct ocfl_err *err);
/*
 * Just after staging_freeze_locked, in the same transaction: the frozen row whose scratch file
 * is @scratch (a file someone may still write without the caller seeing it: kernel
 * passthrough) gets a copy of that file, made now, into a new scratch file named in @copy
 * (else ""); the file itself, still open, stays staged at the same path in the new generation,
 * with its acknowledged bytes.  So nothing a writer can still reach is ever moved into a
 * version.  -EIO when no frozen row has that file.  On a later
 * failure of the transaction the caller unlinks @copy.
 */
int staging_snapshot_locked(struct journal *j, const char *oid, const char *scratch, char copy[64],
                            struct ocfl_err *err);
/* Attach the frozen generation to its plan (inside the caller's transaction). */
int staging_set_plan_locked(struct journal *j, const char *oid, int64_t plan_id,
                            struct ocfl_err *err);
/* The plan is done: drop the frozen rows and, in the same transaction, make @new_base (the
 * plan's inventory digest; NULL: leave the base) the base of what stays staged and the head
 * later changes are noted on (own transaction). */
int staging_finish(struct journal *j, const char *oid, const char *new_base, struct ocfl_err *err);
/* The plan was reverted (or never recorded): merge the frozen rows back
 * into the current generation, deleting scratch files that later rows
 * superseded (own transaction). */
int staging_unfreeze(struct journal *j, const char *oid, struct ocfl_err *err);

/*
 * After journal_recover: reconcile every frozen generation with its plan's
 * final state (done: finish; reverted, cancelled or no plan: unfreeze;
 * failed or unfinished: left frozen and counted), then check every other
 * scratch file against its row (see staging_sync_scratch): an empty file is
 * made for a row that outlived a file never acknowledged, damage is marked
 * (staging_damaged tells where).
 * Returns the number of generations left frozen.
 */
int staging_recover(struct journal *j, struct ocfl_err *err);

#endif
