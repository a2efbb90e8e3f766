/* run_int.h: a plan loaded for running, shared by the runner and the step executor. */
#ifndef OCFLFS_RUN_INT_H
#define OCFLFS_RUN_INT_H

#include <sys/stat.h>

#include "journal_int.h"

struct rstep {
    enum ocfl_step_kind kind;
    char *source, *dest, *digest;
    uint64_t size;
    enum journal_step_state state;
    unsigned attempts; /* as recorded: > 0 means some process began it */
};

struct rplan {
    int64_t id;
    char *object_id, *object_path, *base_digest, *inventory_digest, *version, *alg;
    int new_object;
    enum journal_plan_state state;
    /* the new inventory's bytes; NULL while not needed: a plan whose record was written by
     * this journal handle reads it only when a step must write the bytes (run_inventory) */
    char *inventory;
    size_t inventory_len;
    /* the record, "scratch/inventory-D.json" (NULL for plans from before schema v4, and in
     * tests that build a plan by hand), and whether it is known to hold the plan's bytes
     * (written by this handle, or digested): then inv_st is it as it was checked */
    char *inv_file;
    int inv_checked;
    struct stat inv_st;
    /* the inventory file could not be read or does not hold the recorded bytes: the steps
     * that write the inventory fail with this (and the plan is reverted), the others run */
    struct ocfl_err inventory_lost;
    struct rstep *steps;
    size_t n_steps;
    /* the policy the plan was recorded with (the journal's for plans from before it was) */
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];
};

struct run {
    struct journal *j;
    struct ocfl_root *root;
    struct rplan *p;
    int objfd; /* -1 until the object directory exists */
    /* the plan's version directory, opened and then fenced (run_open_version): -1 until then.
     * Every write into the version goes through it, so a writer paused past its lease writes
     * into the inode it claimed (removed by a taker's revert), never into a version
     * directory made again by another host under that name */
    int vfd;
    enum ocfl_digest_alg alg;
    journal_progress_fn progress;
    void *ctx;
    pthread_mutex_t pmu; /* guards the progress totals */
    uint64_t bytes_total, bytes_done;
    int revert_failed;      /* set when a revert could not complete */
    int root_inv_written;   /* this process wrote the plan's root inventory.json */
    struct stat written_st; /* and what it was right after (root_inv_written) */
    int fenced;             /* the hooks' fence refused a switch step: stop, write nothing */
    /* the last digest of the root inventory.json and the file it was of (run_digest_file),
     * or the caller's hint (journal_hint_root_inventory): the same inode, size and times mean
     * the same bytes, so a second check reads nothing, when those times were at least 2 s
     * older than root_stat_ns (CLOCK_REALTIME when the stat was taken) */
    int root_hex_valid;
    struct stat root_st;
    uint64_t root_stat_ns;
    char root_hex[OCFL_DIGEST_HEX_MAX];
};

/* The policy of step @idx of the running plan. */
const struct journal_retry *run_retry(const struct run *run, size_t idx);

/*
 * Read @name (the plan's record, relative to the state dir) into p->inventory and check it
 * against the plan's digest: a plan never writes bytes other than those it was made with.
 * Marks the record checked (p->inv_checked, p->inv_st) when it did not change while read.
 * 0, or an error naming the plan (-EIO for other bytes, -ENOMEM).
 */
int run_read_inventory(struct journal *j, struct rplan *p, const char *name, struct ocfl_err *err);

/*
 * The plan's inventory bytes in p->inventory: 0 when there, else read from the record and
 * checked against the plan's digest (also marks the record checked).  The error of a lost
 * inventory, or of that read.
 */
int run_inventory(struct run *run, struct ocfl_err *err);

/* Open the object directory if it exists (run->objfd); 0, or -ENOENT. */
int run_open_object(struct run *run, struct ocfl_err *err);

/*
 * Open the plan's version directory (run->vfd), then fence (run_fence): a lease still held
 * after the open means the directory opened is the one this plan claimed (nobody else could
 * remove or make it meanwhile).  0 (at once when open), -ENOENT when it is not there, the
 * fence's JOURNAL_FENCED, or an error.
 */
int run_open_version(struct run *run, struct ocfl_err *err);

/* @path (relative to the object) within the plan's version directory: "" for the directory
 * itself, the rest after "VERSION/", or NULL when it is not beneath it. */
const char *run_version_rel(const struct run *run, const char *path);

/* Open directory @path beneath the object: through run->vfd when within the version
 * directory (open), else beneath run->objfd.  An fd, or a negative errno. */
int run_open_dir_in_object(struct run *run, const char *path);

/*
 * Digest of FILE (beneath run->objfd) in the plan's algorithm: 0 and @hex,
 * -ENOENT when absent (or when there is no object directory), else an error.
 */
int run_digest_file(struct run *run, const char *file, char hex[OCFL_DIGEST_HEX_MAX],
                    struct ocfl_err *err);

/* Digest of FILE beneath @dirfd in @alg: 0, -ENOENT when absent, else an error. */
int run_digest_at(int dirfd, const char *file, enum ocfl_digest_alg alg,
                  char hex[OCFL_DIGEST_HEX_MAX], struct ocfl_err *err);

/*
 * The version inventory step's short way: the plan's record (when checked and unchanged)
 * hard-linked as @vfd's inventory.json, @vfd fsynced.  1 when done (or done before a
 * crash: the same inode, or the right bytes, already there), 0 when the caller must write
 * the bytes instead (no checked record, another filesystem, a refused link, a wrong file
 * there), or an error.
 */
int run_link_record(struct run *run, int vfd, struct ocfl_err *err);

/*
 * The root inventory step's short way, after its conflict checks: the root copy renamed
 * over the object's inventory.json, the object directory fsynced.  A copy this journal
 * handle did not write (same inode, size, times) is digested first; one with other bytes is
 * removed.  1 when done, 0 when the caller must write the bytes, or an error.
 */
int run_rename_root_copy(struct run *run, struct ocfl_err *err);

/*
 * Do step @idx once.  @attempt is this attempt's number (1-based) and
 * @before the attempts recorded before this process ran it.  0 once the
 * effect is durable (content steps: except the directory fsync, which the
 * caller does per batch), else a negative errno with @err set.
 */
int run_exec_step(struct run *run, size_t idx, unsigned attempt, unsigned before,
                  struct ocfl_err *err);

/*
 * Content step @idx through directories the caller opened beneath the
 * object and the state directory: @srcdir holds the step's source, @dstdir
 * its dest (their last elements).  One renameat when all is well; anything
 * else (source gone because moved before, another filesystem, an injected
 * fault) goes the careful way of run_exec_step.  0 once the file is at its
 * dest; durable once the caller has fsynced both directories.
 */
int run_exec_content_at(struct run *run, size_t idx, unsigned attempt, unsigned before, int srcdir,
                        int dstdir, struct ocfl_err *err);

/*
 * Run the content steps in [@from, @to) that are not done, on the journal's
 * threads; make them durable (each directory involved fsynced once) and
 * record them done in one transaction.  A batch stops taking steps after
 * about a second: 0 can leave later steps of the range undone (the caller
 * goes on from the first step not done).  Else the first step's error.
 */
int run_content_batch(struct run *run, size_t from, size_t to, struct ocfl_err *err);

/*
 * A purge (steps_purge.c).  run_purge_position: where the object stands: 0 whole where it
 * was and unchanged since the plan, 1 moved out (recorded, or by an earlier run), or
 * JOURNAL_CONFLICT (a new version meanwhile, or gone).  run_exec_purge: one purge step, idempotent,
 * durable when it returns 0.
 */
int run_purge_position(struct run *run, struct ocfl_err *err);
/* Whether the purge's object has been moved out: recorded so, or gone from its path with the
 * purge area there (1), not (0), or a negative errno when that cannot be told. */
int run_purge_moved(struct run *run);
int run_exec_purge(struct run *run, const struct rstep *s, struct ocfl_err *err);

/* The hooks' fence before a switch step (jdb_fence): 0, or JOURNAL_FENCED with run->fenced
 * set, so that the runner stops without a revert or a record (a step's own -ENOLCK from the
 * storage is an ordinary failure). */
int run_fence(struct run *run, struct ocfl_err *err);

/* Add @add bytes to the plan's progress and report it. */
void run_report_progress(struct run *run, uint64_t add);

/* Shared by steps.c and steps_revert.c: write the sidecar of @dir's inventory.json (durably);
 * make the parent directories of @path beneath @dirfd. */
int run_write_sidecar(int dirfd, const char *dir, const char *alg, const char *digest,
                      struct ocfl_err *err);
int run_parent_mkdirs(int dirfd, const char *path, struct ocfl_err *err);

/*
 * Compensate the plan's effects: root inventory and sidecar back to the
 * base, content back to its sources, the version directory (or the new
 * object) removed when it is this plan's.  0, or the first error.
 */
int run_compensate(struct run *run, struct ocfl_err *err);

#endif
