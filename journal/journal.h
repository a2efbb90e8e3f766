/* journal.h: the durable journal of update plans (SQLite), its lock, and the plan runner. */
#ifndef OCFLFS_JOURNAL_H
#define OCFLFS_JOURNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "err.h"
#include "plan.h"
#include "root.h"

/*
 * One journal per state directory (default ROOT/extensions/ocflfs): the
 * SQLite database ocflfs.db (WAL, synchronous=FULL, every write in BEGIN
 * IMMEDIATE; only the staging index's own commits run with
 * synchronous=NORMAL, made durable by the user's fsync, a commit's freeze
 * or unmount: see staging.h), the lock file ocflfs.lock (flock, held while
 * the journal is open for writing) and scratch/ (staged file data).
 *
 * Schema v1 (user_version 1, application_id JOURNAL_APPLICATION_ID):
 *   plans(id, object_id, object_path, base_digest, inventory BLOB,
 *         inventory_digest, version, digest_algorithm, created, message,
 *         user_name, user_address, state, last_error, created_ns,
 *         started_ns, finished_ns)
 *   steps(plan_id, idx, kind, source, dest, digest, size, state, attempts,
 *         last_error, started_ns, finished_ns, bytes_done)
 *   objects(id TEXT PRIMARY KEY, path TEXT NOT NULL, head TEXT,
 *           inventory_digest TEXT, mtime_ns INTEGER)   -- the mount's index
 * Times are nanoseconds since the epoch (from the journal's clock).
 * Schema v9 adds plans.retry_policy (journal_retry_to_json: the policy in force when the plan
 * was recorded; NULL in plans recorded before, which run under the journal's).
 * Schema v2 adds the staging index: staged_objects, staged, staging_seq
 * (see staging.h); v3 the base digest of each object's staged changes
 * (staged_objects.base_digest); v4 plans.inventory_file: the new inventory's
 * bytes live in STATE/scratch/inventory-DIGEST.json (written durably before
 * the plan's row; the row's blob stays empty), read back and checked against
 * inventory_digest when a plan resumes, deleted when it ends.  Large
 * objects' inventories are tens of megabytes: in the row they were written
 * twice (WAL, checkpoint) and read back once more.  When the state dir and the storage
 * root are on one filesystem, a second durable copy, scratch/inventory-DIGEST.root.json, is
 * written beside it (on another thread): the root inventory step renames it into place, the
 * version inventory step hard-links the record; either falls back to writing the bytes.
 */
#define JOURNAL_APPLICATION_ID 0x4f43464c /* "OCFL" */
/* 2: staging index, 3: its bases, 4: inventory files, 5: synced sizes, 6: atime, ctime,
 * 7: attributes kept across commits, 8: owners, 9: each plan's retry policy */
#define JOURNAL_SCHEMA_VERSION 9

/* The conflict code: the object changed under the plan (another tool wrote it). */
#define JOURNAL_CONFLICT (-ESTALE)

/* The fence code: the hooks' fence refused a switch step (cluster mode: this host's lease of
 * the object is lost or about to be).  The plan stops where it is, unreverted and still
 * unfinished: the host that takes the lease over finishes or reverts it.  (Only a refusal of
 * the fence does that: an ENOLCK of the storage itself fails a step as any error does.) */
#define JOURNAL_FENCED (-ENOLCK)

struct journal;

/* Time, injectable so tests need not sleep.  Both run on any thread. */
struct journal_clock {
    uint64_t (*now_ns)(void *ctx);            /* wall-clock ns since the epoch */
    void (*sleep_ns)(void *ctx, uint64_t ns); /* wait that long */
    void *ctx;
};

/*
 * Retry policy per step.  A failed attempt n (1-based) is retried after
 * min(initial_ms * coefficient^(n-1), max_ms) unless n == max_attempts or
 * the error is non-retryable (then the plan fails and is reverted).
 */
#define JOURNAL_RETRY_CODES_MAX 32
struct journal_retry {
    uint64_t initial_ms;   /* default 100 */
    double coefficient;    /* default 2.0 */
    uint64_t max_ms;       /* default 30000 */
    unsigned max_attempts; /* default 5 */
    /* Negative errnos that are never retried (n_non_retryable of them); the defaults:
     * -EINVAL, -EBADMSG, -ENOENT, -EEXIST, -ENOTDIR, -EISDIR, JOURNAL_CONFLICT,
     * -ECANCELED, -ENOTSUP. */
    unsigned n_non_retryable;
    int non_retryable[JOURNAL_RETRY_CODES_MAX];
};

/*
 * The kinds of step that have a policy of their own: content moves and copies; the object's
 * own files before the switch (declaration, version directories, version inventory); the
 * switch (root inventory and sidecar, a purge's move); releases (scratch released, a purged
 * tree deleted, its layout directories pruned).
 */
enum journal_retry_kind {
    JOURNAL_RETRY_CONTENT = 0,
    JOURNAL_RETRY_INVENTORY,
    JOURNAL_RETRY_SWITCH,
    JOURNAL_RETRY_RELEASE,
    JOURNAL_RETRY_KIND_COUNT
};

/* "content", "inventory", "switch", "release"; NULL when out of range. */
const char *journal_retry_kind_name(enum journal_retry_kind k);

/* The policy kind of a step of kind @step. */
enum journal_retry_kind journal_retry_kind_of(enum ocfl_step_kind step);

/* Fill @r with the defaults above. */
void journal_retry_default(struct journal_retry *r);

/* Milliseconds to wait after failed attempt @attempt (1-based). */
uint64_t journal_retry_delay_ms(const struct journal_retry *r, unsigned attempt);

/* Whether @code (a negative errno) may be retried under @r: never JOURNAL_CONFLICT nor
 * -ECANCELED, whatever @r's list says; else when the list does not name it. */
int journal_retry_allowed(const struct journal_retry *r, int code);

/*
 * The policies of every kind as one JSON object, {"content": {"initial_interval_ms": 100,
 * "backoff_coefficient": 2.0, "maximum_interval_ms": 30000, "maximum_attempts": 5,
 * "non_retryable": ["EINVAL", ...]}, "inventory": ...}: what a plan records.  *ret is
 * malloc()ed; 0 or -ENOMEM.
 */
int journal_retry_to_json(const struct journal_retry r[JOURNAL_RETRY_KIND_COUNT], char **ret);

/* The reverse: a kind missing from @json keeps what @r holds.  0, or -EBADMSG for text that
 * is not such an object or a policy past the settings' bounds (coefficient 1 to 100,
 * intervals at most 24 h, 1 to 1000000 attempts); then @r is left as it was. */
int journal_retry_from_json(const char *json, struct journal_retry r[JOURNAL_RETRY_KIND_COUNT]);

enum journal_open_flags {
    JOURNAL_READONLY = 1, /* no lock, no migration, no writes: for plans/plan
                             listings while a writer runs (WAL readers) */
    /* When ocflfs.db is missing or empty but scratch/ holds staged files (the index of
     * staged changes was lost): without this flag journal_open refuses (-EUCLEAN, naming
     * what it found); with it, scratch/ is set aside as scratch.orphaned-TIME/ (named in
     * the message of journal_orphaned()) and a new journal starts. */
    JOURNAL_FRESH_STATE = 2,
    /* Cluster mode: the state dir is on shared (network) storage and the root is shared by
     * several hosts, coordinated by leases (journal_set_hooks).  The root is not flock()ed,
     * and the database keeps a rollback journal (journal_mode=TRUNCATE, synchronous=FULL for
     * every transaction) instead of WAL, whose shared-memory index is not safe on network
     * file systems.  One process opens the journal at a time (the lock file, and the
     * host's membership of the cluster). */
    JOURNAL_CLUSTER = 4,
    /* With JOURNAL_CLUSTER: the journal of another host that this one has taken over (its
     * heartbeat stopped; the cluster marked it taken by this host).  Its lock file is not
     * taken: the claim stands for it, and a paused process of that host may still hold
     * it (it is fenced: its leases are gone). */
    JOURNAL_TAKEOVER = 8,
};

struct journal_options {
    unsigned flags;                    /* enum journal_open_flags */
    const struct journal_clock *clock; /* NULL = the real clock */
    /* The policy of new plans, one per kind (an array of JOURNAL_RETRY_KIND_COUNT), recorded
     * in each plan: a plan resumed later keeps its own.  NULL = journal_retry_default() for
     * every kind. */
    const struct journal_retry *retry;
    unsigned threads; /* content step workers; 0 = number of cores */
    /* The storage root this writer changes (NULL = none).  Unless
     * JOURNAL_READONLY, its directory is flock()ed too (an O_RDONLY fd,
     * nothing written into the root), so that one root has one writer
     * whatever the state dir: -EBUSY naming the root when another process
     * holds it.  Released by journal_close() or the death of the process. */
    const char *root;
    /* What the holder is doing, written with its pid into the lock file, so that the next
     * process refused names it ("mount on /mnt/ocfl", "put"); NULL = nothing. */
    const char *holder;
};

/*
 * Open the journal of @state_dir: create the directory (and scratch/) if
 * needed, take the lock (-EBUSY, message naming the state dir, when another
 * process holds it), open ocflfs.db and migrate it to JOURNAL_SCHEMA_VERSION
 * in one transaction (a database of another application, even one without
 * an application_id, is never changed).  Then the lock on opts->root, if
 * given.  @opts may be NULL.  With JOURNAL_READONLY no lock is taken; a missing database is
 * -ENOENT, an older schema -EPROTO. -EMEDIUMTYPE when the file is a database of another
 * application, -EPROTO for a newer schema than this build knows.  *ret is owned by the caller
 * (journal_close).  Do not keep a journal open across fork().
 */
int journal_open(const char *state_dir, const struct journal_options *opts, struct journal **ret,
                 struct ocfl_err *err);

/* Where JOURNAL_FRESH_STATE set the orphaned scratch files aside (relative to the state
 * dir), NULL when it did not. */
const char *journal_orphaned(const struct journal *j);

/* Close the database and release the lock.  NULL is fine. */
void journal_close(struct journal *j);

/* Whether the journal keeps a rollback journal instead of WAL (JOURNAL_CLUSTER): 1 or 0. */
int journal_rollback_mode(const struct journal *j);

/* The connection (owned by the journal; serialize use with journal_lock()). */
sqlite3 *journal_sqlite(struct journal *j);

/* The journal's connection is shared by its worker threads: hold this mutex
 * around any direct use of journal_sqlite() while plans may be running. */
void journal_lock(struct journal *j);
void journal_unlock(struct journal *j);

/* The state directory as given, and an O_DIRECTORY fd on it (owned). */
const char *journal_state_dir(const struct journal *j);
int journal_state_fd(const struct journal *j);

/* "now" from the journal's clock, ns since the epoch. */
uint64_t journal_now_ns(const struct journal *j);

/*
 * Bring @db to JOURNAL_SCHEMA_VERSION: each numbered migration from the
 * database's user_version on, all in one BEGIN IMMEDIATE transaction, then
 * application_id and user_version set.  Exposed for tests.  -EMEDIUMTYPE /
 * -EPROTO as journal_open.
 */
int journal_migrate(sqlite3 *db, struct ocfl_err *err);

enum journal_plan_state {
    JOURNAL_PLAN_PENDING = 0,
    JOURNAL_PLAN_RUNNING,
    JOURNAL_PLAN_DONE,
    JOURNAL_PLAN_FAILED, /* could not finish and could not be reverted */
    JOURNAL_PLAN_REVERTING,
    JOURNAL_PLAN_REVERTED,  /* failed (or conflict) and reverted: object at its old head */
    JOURNAL_PLAN_CANCELLED, /* cancelled before the switch and reverted */
};

enum journal_step_state {
    JOURNAL_STEP_PENDING = 0,
    JOURNAL_STEP_RUNNING,
    JOURNAL_STEP_DONE,
    JOURNAL_STEP_FAILED,
    JOURNAL_STEP_REVERTED,
};

const char *journal_plan_state_name(enum journal_plan_state s);
/*
 * Whether a process holds the lock of state directory @state_dir (a mount, put, resume):
 * 1 held, 0 free (then a plan recorded as running was interrupted: its process died), or a
 * negative errno.  Takes and gives back the lock at once when it is free.
 */
int journal_lock_held(const char *state_dir);
const char *journal_step_state_name(enum journal_step_state s);
/* Whether a plan in state @s still has work (pending, running, reverting). */
int journal_plan_state_unfinished(enum journal_plan_state s);

/* What a plan's run tells, and asks, the caller (cluster mode); every member may be NULL. */
struct journal_plan_event {
    int64_t plan_id;
    const char *object_id, *version;
    enum journal_plan_state state; /* running while it runs; then done, reverted, failed... */
    uint64_t bytes_done, bytes_total;
    /* the last event of a plan (its end) only: the object's path, the new inventory's
     * digest, and whether the plan was a purge (then done means the object is gone) */
    const char *object_path, *inventory_digest;
    int purge, final;
};

struct journal_hooks {
    /* Right before each switch step (the root inventory's rename, the root sidecar), after
     * the step's checks on the storage: 0 to go on, else a negative errno (JOURNAL_FENCED)
     * with @err set: the plan stops, unreverted. */
    int (*fence)(void *ctx, const char *object_id, struct ocfl_err *err);
    /* After a commit's plan was stopped by its fence (the lease ran short, a slow step):
     * 0 when the lease of @object_id was taken again (nobody took this host over, so the
     * plan is still this process's), and the commit runs the plan again; else a negative
     * errno, and the plan stays stopped for a takeover.  NULL: never. */
    int (*refence)(void *ctx, const char *object_id, struct ocfl_err *err);
    /* When a plan starts, moves (at most every content batch) and ends. */
    void (*plan_event)(void *ctx, const struct journal_plan_event *ev);
    void *ctx;
};

/* Set (or, with NULL, clear) the hooks; before any plan runs.  They are called on the
 * threads that run plans. */
void journal_set_hooks(struct journal *j, const struct journal_hooks *h);

/*
 * Record @plan (built by ocfl_plan_build) for the object at @object_path
 * (relative to the storage root) in one transaction, state pending.
 * *ret_id gets the plan's id (1, 2, ...).  Step sources are paths relative
 * to the state directory (e.g. "scratch/put-1-2/w0/5"), and their data must
 * already be durable: a content step only renames (or, across filesystems,
 * copies and verifies) them.
 */
int journal_plan_add(struct journal *j, const struct ocfl_plan *plan, const char *object_path,
                     int64_t *ret_id, struct ocfl_err *err);

/*
 * journal_plan_add inside a transaction the caller already holds: the caller
 * has taken journal_lock() and begun (BEGIN IMMEDIATE) on journal_sqlite();
 * nothing is committed or rolled back here.  Lets the staging index freeze
 * staged changes and record their plan atomically (commit.h).
 */
int journal_plan_add_locked(struct journal *j, const struct ocfl_plan *plan,
                            const char *object_path, int64_t *ret_id, struct ocfl_err *err);

/* Called by the runner with the plan's progress (any thread, serialized). */
typedef void (*journal_progress_fn)(void *ctx, int64_t plan_id, uint64_t bytes_done,
                                    uint64_t bytes_total);

/*
 * Run plan @id against @root from its first unfinished step (recovery
 * included: where the root inventory already is the plan's new one only
 * cleanup remains; an object in neither the base nor the new state is a
 * conflict).  Returns 0 when the plan is done.  On failure the plan is
 * reverted (object at its old head, sources back in place) and the step's
 * error is returned (JOURNAL_CONFLICT for a conflict) with a message naming
 * the plan, the object and the step; the plan's final state is reverted,
 * or failed when even the revert could not complete.  A plan already
 * finished returns 0 (done) or -EALREADY.  @progress may be NULL.
 */
int journal_plan_run(struct journal *j, struct ocfl_root *root, int64_t id,
                     journal_progress_fn progress, void *ctx, struct ocfl_err *err);

/*
 * What the caller knows of the root inventory of the object at @object_path (relative to
 * the storage root, as given to journal_plan_add): @st, an fstatat() of its inventory.json
 * taken just before the bytes whose digest is @digest (lower-case hex, in the object's
 * digest algorithm) were read (struct ocfl_object's inventory_st and inventory_digest), and
 * @stat_ns, a wall-clock moment (ns since the epoch: journal_now_ns() with the default clock)
 * no later than that fstatat, e.g. read before ocfl_object_open().  A later run of a plan for that
 * object takes the digest from here instead of reading the file, while the file still has that
 * inode, size and times and those times are at least 2 s older than @stat_ns (racy-git's rule: a
 * change within the clock's granularity could otherwise keep them).  Replaces the previous hint; a
 * NULL
 * @object_path clears it.  0, or -EINVAL (bad digest, path too long: no hint kept).
 */
int journal_hint_root_inventory(struct journal *j, const char *object_path, const struct stat *st,
                                uint64_t stat_ns, const char *digest);

/*
 * Run every unfinished plan, oldest first (what mount and `resume` do on
 * start).  Returns the number of plans that finished done, or the first
 * error (after trying them all); *ret_failed (optional) counts failures.
 */
int journal_recover(struct journal *j, struct ocfl_root *root, journal_progress_fn progress,
                    void *ctx, size_t *ret_failed, struct ocfl_err *err);

/*
 * Cancel plan @id: only before its switch point (the root inventory step
 * has not started); reverts it and leaves it cancelled.  -EBUSY past the
 * switch point, -EALREADY when it is already finished, -ENOENT no such plan.
 */
int journal_plan_cancel(struct journal *j, struct ocfl_root *root, int64_t id,
                        struct ocfl_err *err);

/*
 * Remove entries of STATE_DIR/scratch whose name starts with @prefix (e.g.
 * "put-") and that no unfinished plan refers to (as a step's source or a
 * prefix of one): what a process killed while staging left behind.  Returns
 * the number removed, or a negative errno.
 */
int journal_scratch_gc(struct journal *j, const char *prefix, struct ocfl_err *err);

/* A plan as recorded, for listings. */
struct journal_plan_info {
    int64_t id;
    char *object_id, *object_path, *version;
    char *base_digest; /* NULL for a new object */
    char *inventory_digest, *digest_algorithm;
    char *created, *message, *user_name, *user_address; /* user_* may be NULL */
    enum journal_plan_state state;
    char *last_error;                            /* NULL when none */
    int64_t created_ns, started_ns, finished_ns; /* 0 when not yet */
    size_t n_steps, steps_done;
    uint64_t bytes_total, bytes_done; /* content steps */
    int purge;                        /* a purge (version: the head it removes), not a version */
    /* the policy the plan runs under: its own when recorded (retry_recorded), else the
     * journal's */
    int retry_recorded;
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];
};

struct journal_step_info {
    size_t idx;
    enum ocfl_step_kind kind;
    char *source, *dest, *digest; /* NULL when the kind has none */
    uint64_t size, bytes_done;
    enum journal_step_state state;
    unsigned attempts;
    char *last_error;
    int64_t started_ns, finished_ns;
};

/*
 * List plans, oldest first: the unfinished ones, or all with @all.
 * *ret is an array of *ret_n infos (journal_plan_infos_free).
 */
int journal_plans_list(struct journal *j, int all, struct journal_plan_info **ret, size_t *ret_n,
                       struct ocfl_err *err);

/* One plan and (when @ret_steps is not NULL) its steps.  -ENOENT no such plan. */
int journal_plan_get(struct journal *j, int64_t id, struct journal_plan_info *ret,
                     struct journal_step_info **ret_steps, size_t *ret_n_steps,
                     struct ocfl_err *err);

void journal_plan_info_release(struct journal_plan_info *p);
void journal_plan_infos_free(struct journal_plan_info *p, size_t n);
void journal_step_infos_free(struct journal_step_info *s, size_t n);

#endif
