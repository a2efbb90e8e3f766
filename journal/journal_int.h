/* journal_int.h: what the journal's files share inside libjournal (not a public contract). */
#ifndef OCFLFS_JOURNAL_INT_H
#define OCFLFS_JOURNAL_INT_H

#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

#include "journal.h"

/* Room for "scratch/inventory-DIGEST.root.json". */
#define JDB_INV_NAME_MAX (64 + OCFL_DIGEST_HEX_MAX)

/* A file this journal handle wrote durably, as fstatat() saw it right after: the same inode,
 * size and times later mean the same bytes (the state directory is ours, locked). */
struct jdb_written {
    char name[JDB_INV_NAME_MAX]; /* relative to the state dir; "" when none */
    struct stat st;
};

struct journal {
    char *state_dir;
    int state_fd;
    int lock_fd;      /* -1 when read-only */
    int root_lock_fd; /* flock()ed storage root directory, -1 when none */
    unsigned flags;
    sqlite3 *db;
    pthread_mutex_t mu; /* serializes use of db */
    /* a second connection for kept attributes (staging_kept.c): in WAL mode it reads while
     * a commit holds db (and mu) for as long as its freeze hashes; opened at first use */
    sqlite3 *kept_db;
    sqlite3_stmt *kept_read_st; /* staging_kept_read's statement, prepared once */
    pthread_mutex_t kept_mu;
    struct journal_clock clock;
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT]; /* of new plans */
    unsigned threads;
    /* test hooks from the environment (-1 = off) */
    long kill_after_step, kill_before_step;
    long fail_step;
    unsigned fail_times;
    int fail_code;
    long long test_retry_ms; /* OCFLFS_TEST_RETRY_MS: every policy's initial interval, or -1 */
    /* the plan running in this process and whether cancel was asked */
    int64_t running_id;
    volatile int cancel_requested;
    /* the last plan inventory files written by plan_insert: the record and the root copy
     * (under plan_inventory.c's lock, as the hint) */
    struct jdb_written inv_record, inv_root;
    /* journal_hint_root_inventory(): what the caller knows of an object's inventory.json */
    char hint_path[PATH_MAX]; /* "" when none */
    struct stat hint_st;
    uint64_t hint_stat_ns;
    char hint_digest[OCFL_DIGEST_HEX_MAX];
    /* scratch files of removed rows that held acknowledged bytes: deleted only once the WAL
     * that removed their rows is synced (staging_durable.c; under mu) */
    char **graveyard;
    size_t n_graveyard;
    char orphaned[64];          /* scratch.orphaned-TIME when JOURNAL_FRESH_STATE set one aside */
    struct journal_hooks hooks; /* journal_set_hooks(); all NULL when none */
    int stop_at_switch;         /* test hook: SIGSTOP at that moment of a switch (JDB_STOP_*) */
    /* scratch numbers [seq_next, seq_end) reserved in staging_seq by a committed transaction,
     * handed out without touching the index (staging_write.c; under mu) */
    int64_t seq_next, seq_end;
};

/* The moments of a switch where OCFLFS_TEST_STOP_AT_SWITCH=N stops the process. */
enum {
    JDB_STOP_BEFORE_FENCE = 1, /* the root inventory's fence */
    JDB_STOP_AFTER_FENCE,      /* after it, before the storage checks */
    JDB_STOP_BEFORE_RENAME,    /* between those checks and the rename */
    JDB_STOP_SIDECAR,          /* after the root sidecar's fence, before its check */
    JDB_STOP_CONTENT,          /* in a content batch, its directories open, before its moves */
    JDB_STOP_REVERT,           /* in a revert, after its fence, before its record */
    JDB_STOP_REVERT_RECORDED,  /* in a revert, after its record, before it changes anything */
};

/* The hooks' fence for the plan's object (0 without one), and its plan event. */
int jdb_fence(struct journal *j, const char *object_id, struct ocfl_err *err);
/* The hooks' refence after a plan stopped by its fence: 0 to run it again (never without one). */
int jdb_refence(struct journal *j, const char *object_id);
void jdb_plan_event(struct journal *j, int64_t id, const char *object_id, const char *version,
                    enum journal_plan_state s, uint64_t done, uint64_t total);

/* The reserve (reserve.c): 5 MiB of blocks allocated to the WAL beyond its end, made once the
 * journal is open for writing, so that the staging index can record an unlink, a truncate or
 * a discard when the disk is full.  Best effort (a file system may refuse it). */
void jdb_reserve_make(struct journal *j);

/* Run SQL without results; -EIO with sqlite's message on failure. */
int jdb_exec(sqlite3 *db, const char *sql, struct ocfl_err *err);
/* BEGIN IMMEDIATE / COMMIT / ROLLBACK (callers hold j->mu). */
int jdb_begin(struct journal *j, struct ocfl_err *err);
int jdb_commit(struct journal *j, struct ocfl_err *err);
void jdb_rollback(struct journal *j);
/* A negative errno for a sqlite result code, with the message in @err. */
int jdb_fail(sqlite3 *db, int rc, const char *what, struct ocfl_err *err);
/* The negative errno for sqlite result @rc on @db (the OS errno behind an
 * SQLITE_IOERR when there is one, e.g. -ENOSPC), without a message. */
int jdb_errno(sqlite3 *db, int rc);

/* Step and plan state updates, each its own short transaction. */
/* "scratch/inventory-DIGEST.json" (relative to the state dir) into @buf; 0, -ENAMETOOLONG. */
int jdb_inventory_file_name(const char *digest, char *buf, size_t size);
/* The root copy beside the record @record ("scratch/inventory-D.json" ->
 * "scratch/inventory-D.root.json") into @buf; 0, -ENAMETOOLONG. */
int jdb_inventory_root_name(const char *record, char *buf, size_t size);
/* Whether @a and @b are the same file with the same size, mtime and ctime. */
int jdb_same_file(const struct stat *a, const struct stat *b);
/* Whether @w is the file @name of the state dir as this handle wrote it (fstatat now; that
 * stat into *ret_st when not NULL).  The jdb_written of a journal are read and changed only
 * through these functions (one lock for them all). */
int jdb_written_matches(struct journal *j, const struct jdb_written *w, const char *name,
                        struct stat *ret_st);
/* Forget @w (its file was renamed away, or is being rewritten). */
void jdb_written_forget(struct jdb_written *w);
/* The hint of journal_hint_root_inventory() when it is about @object_path: 1 and its stat,
 * moment and digest; else 0. */
int jdb_hint_get(struct journal *j, const char *object_path, struct stat *st, uint64_t *stat_ns,
                 char hex[OCFL_DIGEST_HEX_MAX]);
/* Whether an unfinished plan other than @except_id uses the inventory file @name
 * (_locked: the caller holds j->mu). */
int jdb_inventory_file_in_use(struct journal *j, const char *name, int64_t except_id);
int jdb_inventory_file_in_use_locked(struct journal *j, const char *name, int64_t except_id);
/*
 * Write @plan's inventory bytes durably to the record @inv_file and, when the state dir is
 * on the storage root's filesystem, to its root copy too, the two on two threads; remember
 * both in j->inv_record / j->inv_root.  The copy is optional: failing to write it removes
 * it.  0, or the record's error.  @locked: the caller holds j->mu.
 */
int jdb_write_inventory_files(struct journal *j, const struct ocfl_plan *plan, const char *inv_file,
                              int locked, struct ocfl_err *err);
/* After a plan could not be recorded: remove @inv_file and its root copy unless an
 * unfinished plan uses them. */
void jdb_drop_unrecorded(struct journal *j, const char *inv_file, int locked);
/* Plan @id has ended: remove its record and root copy unless another unfinished plan has
 * the same (the row keeps the record's name). */
void jdb_drop_inventory_files(struct journal *j, int64_t id);
int jdb_plan_set_state(struct journal *j, int64_t id, enum journal_plan_state s,
                       const char *last_error, struct ocfl_err *err);
/* Record plan @id reverting (with @last_error) unless it has ended meanwhile (a taker of this
 * host finished or reverted it): 1 when recorded, 0 when it had ended, or a negative errno. */
int jdb_plan_set_reverting(struct journal *j, int64_t id, const char *last_error);
/* A purged object's rows: the mount's index entry and the attributes kept for it. */
int jdb_forget_object(struct journal *j, const char *object_id, struct ocfl_err *err);
int jdb_step_begin(struct journal *j, int64_t id, size_t idx, unsigned attempts);
int jdb_step_fail(struct journal *j, int64_t id, size_t idx, unsigned attempts, const char *msg);
/* Mark @n steps done (one transaction), with their attempt counts (NULL: 1 each).
 * @idx ascending.  @bytes, when not NULL, holds each step's size (its bytes_done
 * becomes its size); NULL records 0. */
int jdb_steps_done(struct journal *j, int64_t id, const size_t *idx, const unsigned *attempts,
                   const uint64_t *bytes, size_t n);
int jdb_step_set_state(struct journal *j, int64_t id, size_t idx, enum journal_step_state s);
int jdb_step_progress(struct journal *j, int64_t id, size_t idx, uint64_t bytes);

#endif
