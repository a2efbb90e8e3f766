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
    char *inventory;
    size_t inventory_len;
    /* the inventory file could not be read or does not hold the recorded bytes: the steps
     * that write the inventory fail with this (and the plan is reverted), the others run */
    struct ocfl_err inventory_lost;
    struct rstep *steps;
    size_t n_steps;
};

struct run {
    struct journal *j;
    struct ocfl_root *root;
    struct rplan *p;
    int objfd; /* -1 until the object directory exists */
    enum ocfl_digest_alg alg;
    journal_progress_fn progress;
    void *ctx;
    pthread_mutex_t pmu; /* guards the progress totals */
    uint64_t bytes_total, bytes_done;
    int revert_failed;    /* set when a revert could not complete */
    int root_inv_written; /* this process wrote the plan's root inventory.json */
    /* the last digest of the root inventory.json and the file it was of (run_digest_file):
     * the same inode, size and times mean the same bytes, so a second check reads nothing */
    int root_hex_valid;
    struct stat root_st;
    char root_hex[OCFL_DIGEST_HEX_MAX];
};

/* Open the object directory if it exists (run->objfd); 0, or -ENOENT. */
int run_open_object(struct run *run, struct ocfl_err *err);

/*
 * Digest of FILE (beneath run->objfd) in the plan's algorithm: 0 and @hex,
 * -ENOENT when absent (or when there is no object directory), else an error.
 */
int run_digest_file(struct run *run, const char *file, char hex[OCFL_DIGEST_HEX_MAX],
                    struct ocfl_err *err);

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

/* Add @add bytes to the plan's progress and report it. */
void run_report_progress(struct run *run, uint64_t add);

/*
 * Compensate the plan's effects: root inventory and sidecar back to the
 * base, content back to its sources, the version directory (or the new
 * object) removed when it is this plan's.  0, or the first error.
 */
int run_compensate(struct run *run, struct ocfl_err *err);

#endif
