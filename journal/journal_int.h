/* journal_int.h: what the journal's files share inside libjournal (not a public contract). */
#ifndef OCFLFS_JOURNAL_INT_H
#define OCFLFS_JOURNAL_INT_H

#include <pthread.h>

#include "journal.h"

struct journal {
    char *state_dir;
    int state_fd;
    int lock_fd;      /* -1 when read-only */
    int root_lock_fd; /* flock()ed storage root directory, -1 when none */
    unsigned flags;
    sqlite3 *db;
    pthread_mutex_t mu; /* serializes use of db */
    struct journal_clock clock;
    struct journal_retry retry;
    unsigned threads;
    /* test hooks from the environment (-1 = off) */
    long kill_after_step, kill_before_step;
    long fail_step;
    unsigned fail_times;
    int fail_code;
    /* the plan running in this process and whether cancel was asked */
    int64_t running_id;
    volatile int cancel_requested;
};

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
/* Whether an unfinished plan other than @except_id uses the inventory file @name. */
int jdb_inventory_file_in_use(struct journal *j, const char *name, int64_t except_id);
int jdb_plan_set_state(struct journal *j, int64_t id, enum journal_plan_state s,
                       const char *last_error, struct ocfl_err *err);
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
