/* runner.c: run a journaled plan step by step: retries, recovery, revert, cancel. */
#include "run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

/* Content steps are run and recorded done in batches of at most this many (each batch
 * costs a round of directory fsyncs and a journal transaction; a batch also ends after
 * about a second, see content_batch.c, so the recorded progress moves at least that often). */
#define BATCH_STEPS 16384
#define BATCH_BYTES (1ull << 30)

static int is_purge(const struct rplan *p)
{
    return p->n_steps && ocfl_plan_kind_is_purge(p->steps[0].kind);
}

static void rplan_free(struct rplan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_steps; i++) {
        free(p->steps[i].source);
        free(p->steps[i].dest);
        free(p->steps[i].digest);
    }
    free(p->steps);
    free(p->object_id);
    free(p->object_path);
    free(p->base_digest);
    free(p->inventory_digest);
    free(p->version);
    free(p->alg);
    free(p->inventory);
    free(p->inv_file);
    free(p);
}

static int load_plan(struct journal *j, int64_t id, struct rplan **ret, struct ocfl_err *err)
{
    struct journal_plan_info info;
    struct journal_step_info *steps = NULL;
    size_t n = 0;
    struct rplan *p;
    sqlite3_stmt *st;
    char *inv_file = NULL;
    int ok = 1, r, rc;

    r = journal_plan_get(j, id, &info, &steps, &n, err);
    if (r < 0)
        return r;
    p = calloc(1, sizeof(*p));
    if (!p) {
        r = -ENOMEM;
        goto out;
    }
    p->id = id;
    p->state = info.state;
    p->object_id = info.object_id;
    p->object_path = info.object_path;
    p->base_digest = info.base_digest;
    p->inventory_digest = info.inventory_digest;
    p->version = info.version;
    p->alg = info.digest_algorithm;
    memcpy(p->retry, info.retry, sizeof(p->retry));
    for (int k = 0; j->test_retry_ms >= 0 && k < JOURNAL_RETRY_KIND_COUNT; k++)
        p->retry[k].initial_ms = (uint64_t)j->test_retry_ms;
    info.object_id = info.object_path = info.base_digest = info.inventory_digest = NULL;
    info.version = info.digest_algorithm = NULL;
    p->steps = calloc(n ? n : 1, sizeof(*p->steps));
    if (!p->steps) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct rstep *s = &p->steps[i];
        s->kind = steps[i].kind;
        s->source = steps[i].source;
        s->dest = steps[i].dest;
        s->digest = steps[i].digest;
        steps[i].source = steps[i].dest = steps[i].digest = NULL;
        s->size = steps[i].size;
        s->state = steps[i].state;
        s->attempts = steps[i].attempts;
    }
    p->n_steps = n;
    pthread_mutex_lock(&j->mu);
    rc = sqlite3_prepare_v2(j->db,
                            "SELECT new_object, inventory, inventory_file FROM plans WHERE id = ?",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            p->new_object = sqlite3_column_int(st, 0);
            p->inventory_len = (size_t)sqlite3_column_bytes(st, 1);
            p->inventory = malloc(p->inventory_len + 1);
            if (p->inventory) {
                if (p->inventory_len) /* a dropped inventory is NULL */
                    memcpy(p->inventory, sqlite3_column_blob(st, 1), p->inventory_len);
                p->inventory[p->inventory_len] = 0;
            } else {
                ok = 0;
            }
            if (sqlite3_column_text(st, 2) &&
                !(inv_file = strdup((const char *)sqlite3_column_text(st, 2))))
                ok = 0;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->mu);
    if (rc != SQLITE_OK)
        r = jdb_fail(j->db, rc, "cannot read the plan", err);
    else if (!ok)
        r = -ENOMEM;
    /* an unfinished plan's bytes from its file (an ended plan needs none); without them only
     * the inventory steps cannot run, so a revert (or the cleanup after a switch) still can.
     * The file this handle has just written (same inode, size and times) needs no second
     * read: its bytes are read only if a step has to write them (run_inventory). */
    if (r >= 0 && inv_file && journal_plan_state_unfinished(p->state)) {
        free(p->inventory);
        p->inventory = NULL;
        p->inventory_len = 0;
        if (jdb_written_matches(j, &j->inv_record, inv_file, &p->inv_st)) {
            p->inv_checked = 1;
        } else {
            r = run_read_inventory(j, p, inv_file, &p->inventory_lost);
            if (r == -ENOMEM)
                *err = p->inventory_lost;
            else
                r = 0;
        }
        p->inv_file = inv_file;
        inv_file = NULL;
    }
    free(inv_file);
out:
    journal_plan_info_release(&info);
    journal_step_infos_free(steps, n);
    if (r < 0) {
        rplan_free(p);
        if (r == -ENOMEM)
            ocfl_err_set(err, r, "cannot load plan %lld: out of memory", (long long)id);
        return r;
    }
    *ret = p;
    return 0;
}

const struct journal_retry *run_retry(const struct run *run, size_t idx)
{
    return &run->p->retry[journal_retry_kind_of(run->p->steps[idx].kind)];
}

void run_report_progress(struct run *run, uint64_t add)
{
    pthread_mutex_lock(&run->pmu);
    run->bytes_done += add;
    if (run->progress)
        run->progress(run->ctx, run->p->id, run->bytes_done, run->bytes_total);
    pthread_mutex_unlock(&run->pmu);
}

/* One step with retries (non-content steps; recorded begin and end). */
static int run_one(struct run *run, size_t idx, struct ocfl_err *err)
{
    struct journal *j = run->j;
    struct rstep *s = &run->p->steps[idx];
    const struct journal_retry *policy = run_retry(run, idx);
    unsigned before = s->attempts, attempts = s->attempts;
    uint64_t bytes[1];
    int r;

    for (;;) {
        attempts++;
        jdb_step_begin(j, run->p->id, idx, attempts);
        s->attempts = attempts;
        if ((long)idx == j->kill_before_step)
            raise(SIGKILL);
        ocfl_err_clear(err);
        r = run_exec_step(run, idx, attempts, attempts - 1, err);
        if (r >= 0) {
            if ((long)idx == j->kill_after_step)
                raise(SIGKILL);
            bytes[0] = s->size;
            r = jdb_steps_done(j, run->p->id, &idx, &attempts, bytes, 1);
            if (r < 0)
                return ocfl_err_set(err, r, "journal: cannot record step %zu done", idx);
            s->state = JOURNAL_STEP_DONE;
            return 0;
        }
        /* fenced: the plan is no longer this process's, nor is its journal row */
        if (run->fenced)
            return JOURNAL_FENCED;
        /* A conflict found before touching anything leaves the step unattempted,
         * so a revert does not take what it found for its own. */
        /* (only what is recorded: the loop's count goes on, and a conflict is never
         * retried whatever the policy says, so it cannot loop) */
        unsigned recorded = attempts;
        if (r == JOURNAL_CONFLICT && !before && attempts == 1)
            s->attempts = recorded = 0;
        jdb_step_fail(j, run->p->id, idx, recorded, err ? err->msg : "failed");
        s->state = JOURNAL_STEP_FAILED;
        if (!journal_retry_allowed(policy, r) || attempts >= policy->max_attempts)
            return r;
        j->clock.sleep_ns(j->clock.ctx, journal_retry_delay_ms(policy, attempts) * 1000000u);
    }
}

/*
 * Release steps from @from on (at most BATCH_STEPS): each once, stopping at the first that
 * fails; the directories they removed from fsynced once each; recorded done in one
 * transaction.  Returns how many it recorded done (0: let run_one retry the step at @from).
 */
static int run_releases(struct run *run, size_t from, struct ocfl_err *err)
{
    struct journal *j = run->j;
    struct rplan *p = run->p;
    size_t *idx, n = 0, end = from;
    unsigned *att;
    int r = 0;

    while (end < p->n_steps && p->steps[end].kind == OCFL_STEP_RELEASE && end - from < BATCH_STEPS)
        end++;
    idx = calloc(end - from, sizeof(*idx));
    att = calloc(end - from, sizeof(*att));
    if (!idx || !att) {
        free(idx);
        free(att);
        return 0;
    }
    for (size_t i = from; i < end; i++) {
        struct rstep *s = &p->steps[i];
        unsigned a = s->attempts + 1;
        if (s->state == JOURNAL_STEP_DONE)
            continue;
        if ((long)i == j->kill_before_step)
            raise(SIGKILL);
        r = run_exec_step(run, i, a, a - 1, err);
        s->attempts = a;
        if (r < 0) {
            jdb_step_fail(j, p->id, i, a, err ? err->msg : "failed");
            r = 0; /* record the ones before it */
            break;
        }
        if ((long)i == j->kill_after_step)
            raise(SIGKILL);
        idx[n] = i;
        att[n++] = a;
    }
    /* The removals durable before they are recorded: each directory once. */
    for (size_t k = 0; r >= 0 && k < n; k++) {
        const char *src = p->steps[idx[k]].source, *slash = strrchr(src, '/');
        char *dir;
        int len = slash ? (int)(slash - src) : 0;
        if (k) {
            const char *prev = p->steps[idx[k - 1]].source, *ps = strrchr(prev, '/');
            if ((ps ? ps - prev : 0) == len && !strncmp(prev, src, (size_t)len))
                continue;
        }
        if (!(dir = strndup(src, (size_t)len))) {
            r = ocfl_err_set(err, -ENOMEM, "cannot fsync the directory of '%s': out of memory",
                             src);
            break;
        }
        r = ocfl_io_fsync_dir(journal_state_fd(j), dir, err);
        free(dir);
        if (r == -ENOENT)
            r = 0; /* removed itself (the staging directory, released last): its parent is
                      fsynced for it */
    }
    if (r >= 0 && jdb_steps_done(j, p->id, idx, att, NULL, n) >= 0)
        for (size_t k = 0; k < n; k++)
            p->steps[idx[k]].state = JOURNAL_STEP_DONE;
    else
        n = 0;
    free(idx);
    free(att);
    ocfl_err_clear(err);
    return (int)n;
}

/* Test hook: stop (SIGSTOP) at revert moment @at (JDB_STOP_REVERT*), once. */
static void stop_in_revert(struct journal *j, int at)
{
    if (j->stop_at_switch == at) {
        j->stop_at_switch = 0;
        raise(SIGSTOP);
    }
}

static int revert(struct run *run, int cause, struct ocfl_err *err)
{
    struct journal *j = run->j;
    enum journal_plan_state final =
        cause == -ECANCELED ? JOURNAL_PLAN_CANCELLED : JOURNAL_PLAN_REVERTED;
    struct ocfl_err cerr = {0};
    char why[sizeof(err->msg)];
    int r;

    snprintf(why, sizeof(why), "%s", err && err->msg[0] ? err->msg : "failed");
    /* a revert writes the object too: in cluster mode not without the lease (a host that
     * woke after a takeover would undo the version its taker finished) */
    if (run_fence(run, err) < 0)
        return JOURNAL_FENCED;
    stop_in_revert(j, JDB_STOP_REVERT);
    /* not over a plan that has ended meanwhile: a taker of this host (paused past its lease
     * here) finished or reverted it, and a revert recorded over 'done' would undo that
     * version the next time this journal runs */
    if (jdb_plan_set_reverting(j, run->p->id, why) == 0) {
        ocfl_err_set(err, JOURNAL_FENCED, "plan %lld for '%s' has ended meanwhile: not reverted",
                     (long long)run->p->id, run->p->object_id);
        run->fenced = 1;
        return JOURNAL_FENCED;
    }
    stop_in_revert(j, JDB_STOP_REVERT_RECORDED);
    /* fsyncs every file and directory it changes; a purge reverts before its move, when
     * nothing has changed */
    r = is_purge(run->p) ? 0 : run_compensate(run, &cerr);
    if (r < 0 && run->fenced) {
        /* the lease ran out during the revert: its taker decides now; nothing more recorded */
        ocfl_err_set(err, JOURNAL_FENCED, "%s", cerr.msg);
        return JOURNAL_FENCED;
    }
    if (r < 0) {
        char both[2 * sizeof(err->msg) + 64];
        snprintf(both, sizeof(both), "%s; revert failed: %s", why, cerr.msg);
        run->revert_failed = 1;
        jdb_plan_set_state(j, run->p->id, JOURNAL_PLAN_FAILED, both, NULL);
        ocfl_err_set(err, cause, "plan %lld for '%s' failed and could not be reverted: %s",
                     (long long)run->p->id, run->p->object_id, both);
        return cause;
    }
    pthread_mutex_lock(&j->mu);
    if (jdb_begin(j, NULL) == 0) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(j->db,
                               "UPDATE steps SET state = 'reverted' WHERE plan_id = ? AND"
                               " state IN ('done', 'running')",
                               -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, run->p->id);
            sqlite3_step(st);
            sqlite3_finalize(st);
        }
        jdb_commit(j, NULL);
    }
    pthread_mutex_unlock(&j->mu);
    jdb_plan_set_state(j, run->p->id, final, why, NULL);
    ocfl_err_set(err, cause, "plan %lld for '%s' %s: %s", (long long)run->p->id, run->p->object_id,
                 final == JOURNAL_PLAN_CANCELLED ? "was cancelled and reverted"
                                                 : "failed and was reverted",
                 why);
    return cause;
}

static void run_init(struct run *run, struct journal *j, struct ocfl_root *root, struct rplan *p)
{
    memset(run, 0, sizeof(*run));
    run->j = j;
    run->root = root;
    run->p = p;
    run->objfd = -1;
    run->vfd = -1;
    run->alg = ocfl_digest_alg_from_name(p->alg);
    pthread_mutex_init(&run->pmu, NULL);
    /* what the caller knew of this object's root inventory (run_digest_file checks it) */
    if (jdb_hint_get(j, p->object_path, &run->root_st, &run->root_stat_ns, run->root_hex))
        run->root_hex_valid = strlen(run->root_hex) == ocfl_digest_hex_len(run->alg);
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == OCFL_STEP_CONTENT) {
            run->bytes_total += p->steps[i].size;
            if (p->steps[i].state == JOURNAL_STEP_DONE)
                run->bytes_done += p->steps[i].size;
        }
}

static void run_release(struct run *run)
{
    if (run->objfd >= 0)
        close(run->objfd);
    if (run->vfd >= 0)
        close(run->vfd);
    pthread_mutex_destroy(&run->pmu);
}

/* Where the object stands: 1 switched (root inventory is the new one), 0 at base, or conflict. */
static int position(struct run *run, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    int r;

    r = run_open_object(run, err);
    if (r < 0 && r != -ENOENT)
        return r;
    r = run_digest_file(run, "inventory.json", hex, err);
    if (r == -ENOENT)
        return run->p->new_object
                   ? 0
                   : ocfl_err_set(err, JOURNAL_CONFLICT,
                                  "conflict: object '%s' has no inventory.json", run->p->object_id);
    if (r < 0)
        return r;
    if (ocfl_digest_equal(hex, run->p->inventory_digest))
        return 1;
    if (!run->p->new_object && ocfl_digest_equal(hex, run->p->base_digest))
        return 0;
    return ocfl_err_set(err, JOURNAL_CONFLICT,
                        "conflict: object '%s' is neither at the plan's base nor at its new "
                        "version %s",
                        run->p->object_id, run->p->version);
}

/*
 * A purge: its move is the switch point.  Before it, a failure or a cancel leaves the object
 * where it was (there is nothing to undo); after it the purge only goes forward: a step that
 * keeps failing leaves the plan failed, and `resume` of that plan finishes it.
 */
static int run_purge(struct run *run, struct ocfl_err *err)
{
    struct rplan *p = run->p;
    struct journal *j = run->j;
    int r = run_purge_position(run, err);

    if (r < 0)
        return revert(run, r, err);
    /* moved by an earlier run but not recorded: the move step runs again all the same (it
     * finds the object moved and makes that durable before it is recorded) */
    for (size_t i = 0; i < p->n_steps; i++) {
        if (p->steps[i].state == JOURNAL_STEP_DONE)
            continue;
        if (i == 0 && r == 0 && j->cancel_requested) {
            ocfl_err_set(err, -ECANCELED, "cancelled");
            return revert(run, -ECANCELED, err);
        }
        int rr = run_one(run, i, err);
        /* a move that failed after its rename (an fsync, the journal's record) has passed
         * the switch point: only forward from there */
        if (rr < 0 && i == 0 && run_purge_moved(run) != 1)
            return revert(run, rr, err);
        if (rr < 0 && i == 0) {
            size_t idx = 0;
            if (jdb_steps_done(j, p->id, &idx, NULL, NULL, 1) == 0)
                p->steps[0].state = JOURNAL_STEP_DONE;
        }
        r = rr;
        if (r < 0) {
            char why[sizeof(err->msg) + 512];
            snprintf(why, sizeof(why),
                     "%s; object '%s' is gone from '%s' and what is left of it is in '%s': "
                     "resume plan %lld to finish the purge",
                     err && err->msg[0] ? err->msg : "failed", p->object_id, p->object_path,
                     p->steps[0].dest, (long long)p->id);
            jdb_plan_set_state(j, p->id, JOURNAL_PLAN_FAILED, why, NULL);
            return ocfl_err_set(err, r, "plan %lld failed: %s", (long long)p->id, why);
        }
    }
    return jdb_plan_set_state(j, p->id, JOURNAL_PLAN_DONE, NULL, err);
}

static int run_steps(struct run *run, struct ocfl_err *err)
{
    struct rplan *p = run->p;
    struct journal *j = run->j;
    size_t sw = p->n_steps, i = 0;
    int r;

    if (is_purge(p))
        return run_purge(run, err);
    for (size_t k = 0; k < p->n_steps; k++)
        if (p->steps[k].kind == OCFL_STEP_ROOT_INV)
            sw = k;
    r = position(run, err);
    if (r < 0)
        return revert(run, r, err);
    if (r == 1) {
        /* Already switched: everything up to the root inventory is done. */
        size_t *idx = calloc(sw + 1, sizeof(*idx));
        size_t n = 0;
        if (!idx)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        for (size_t k = 0; k <= sw && k < p->n_steps; k++)
            if (p->steps[k].state != JOURNAL_STEP_DONE) {
                idx[n++] = k;
                p->steps[k].state = JOURNAL_STEP_DONE;
            }
        r = jdb_steps_done(j, p->id, idx, NULL, NULL, n);
        free(idx);
        if (r < 0)
            return ocfl_err_set(err, r, "journal: cannot record plan %lld", (long long)p->id);
    }
    while (i < p->n_steps) {
        struct rstep *s = &p->steps[i];
        if (i <= sw && j->cancel_requested) {
            ocfl_err_set(err, -ECANCELED, "cancelled");
            return revert(run, -ECANCELED, err);
        }
        if (s->state == JOURNAL_STEP_DONE) {
            i++;
            continue;
        }
        if (s->kind == OCFL_STEP_CONTENT) {
            size_t e = i;
            uint64_t bytes = 0;
            while (e < p->n_steps && p->steps[e].kind == OCFL_STEP_CONTENT && e - i < BATCH_STEPS &&
                   bytes < BATCH_BYTES)
                bytes += p->steps[e++].size;
            r = run_content_batch(run, i, e, err);
            if (r < 0)
                return revert(run, r, err);
            jdb_plan_event(j, p->id, p->object_id, p->version, JOURNAL_PLAN_RUNNING,
                           run->bytes_done, run->bytes_total);
            continue; /* from the first step the batch left undone, if it ended early */
        }
        if (s->kind == OCFL_STEP_RELEASE && run_releases(run, i, err) > 0)
            continue;
        r = run_one(run, i, err);
        if (run->fenced)
            return JOURNAL_FENCED; /* no longer ours: not even a revert is written */
        if (r < 0) {
            if (s->kind == OCFL_STEP_RELEASE) {
                /* The version is complete; a leftover staged file is not worth undoing it. */
                jdb_plan_set_state(j, p->id, JOURNAL_PLAN_DONE, err ? err->msg : NULL, NULL);
                ocfl_err_clear(err);
                return 0;
            }
            return revert(run, r, err);
        }
        i++;
    }
    return jdb_plan_set_state(j, p->id, JOURNAL_PLAN_DONE, NULL, err);
}

int journal_plan_run(struct journal *j, struct ocfl_root *root, int64_t id,
                     journal_progress_fn progress, void *ctx, struct ocfl_err *err)
{
    struct rplan *p;
    struct run run;
    int r;

    if (j->flags & JOURNAL_READONLY)
        return ocfl_err_set(err, -EROFS, "journal '%s' is open read-only", j->state_dir);
    r = load_plan(j, id, &p, err);
    if (r < 0)
        return r;
    if (p->state == JOURNAL_PLAN_DONE) {
        rplan_free(p);
        return 0;
    }
    /* a purge that failed past its move can only be finished */
    if (!journal_plan_state_unfinished(p->state) &&
        !(p->state == JOURNAL_PLAN_FAILED && is_purge(p) &&
          p->steps[0].state == JOURNAL_STEP_DONE)) {
        r = ocfl_err_set(err, -EALREADY, "plan %lld is %s", (long long)id,
                         journal_plan_state_name(p->state));
        rplan_free(p);
        return r;
    }
    run_init(&run, j, root, p);
    run.progress = progress;
    run.ctx = ctx;
    j->running_id = id;
    j->cancel_requested = 0;
    if (p->state == JOURNAL_PLAN_REVERTING) {
        ocfl_err_set(err, -EIO, "revert interrupted");
        r = revert(&run, -EIO, err);
    } else {
        r = jdb_plan_set_state(j, id, JOURNAL_PLAN_RUNNING, NULL, err);
        if (r >= 0) {
            jdb_plan_event(j, id, p->object_id, p->version, JOURNAL_PLAN_RUNNING, run.bytes_done,
                           run.bytes_total);
            r = run_steps(&run, err);
        }
    }
    j->running_id = 0;
    if (j->hooks.plan_event) {
        struct journal_plan_info info;
        if (journal_plan_get(j, id, &info, NULL, NULL, NULL) == 0) {
            struct journal_plan_event ev = {id,
                                            p->object_id,
                                            p->version,
                                            info.state,
                                            run.bytes_done,
                                            run.bytes_total,
                                            info.object_path,
                                            info.inventory_digest,
                                            info.purge,
                                            1};
            j->hooks.plan_event(j->hooks.ctx, &ev);
            journal_plan_info_release(&info);
        }
    }
    run_release(&run);
    rplan_free(p);
    return r;
}

int journal_recover(struct journal *j, struct ocfl_root *root, journal_progress_fn progress,
                    void *ctx, size_t *ret_failed, struct ocfl_err *err)
{
    struct journal_plan_info *plans;
    size_t n, failed = 0;
    int r, first = 0, done = 0;

    r = journal_plans_list(j, 0, &plans, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        struct ocfl_err e = {0};
        r = journal_plan_run(j, root, plans[i].id, progress, ctx, &e);
        if (r < 0) {
            failed++;
            if (!first) {
                first = r;
                if (err)
                    *err = e;
            }
        } else {
            done++;
        }
    }
    journal_plan_infos_free(plans, n);
    if (ret_failed)
        *ret_failed = failed;
    return first ? first : done;
}

int journal_plan_cancel(struct journal *j, struct ocfl_root *root, int64_t id, struct ocfl_err *err)
{
    struct rplan *p;
    struct run run;
    int r;

    if (j->running_id == id) {
        j->cancel_requested = 1;
        return 0;
    }
    r = load_plan(j, id, &p, err);
    if (r < 0)
        return r;
    if (!journal_plan_state_unfinished(p->state)) {
        r = ocfl_err_set(err, -EALREADY, "plan %lld is already %s", (long long)id,
                         journal_plan_state_name(p->state));
        rplan_free(p);
        return r;
    }
    for (size_t k = 0; k < p->n_steps && !is_purge(p); k++)
        if (p->steps[k].kind == OCFL_STEP_ROOT_INV &&
            (p->steps[k].attempts || p->steps[k].state == JOURNAL_STEP_DONE)) {
            r = ocfl_err_set(err, -EBUSY,
                             "plan %lld is past its switch point (the root inventory of '%s' "
                             "is being replaced); resume it instead",
                             (long long)id, p->object_id);
            rplan_free(p);
            return r;
        }
    run_init(&run, j, root, p);
    /* a purge's move is one rename: an object not moved out (still there, changed by another
     * tool, or gone) may be cancelled even when a move was begun */
    if (is_purge(p) && (r = run_purge_moved(&run)) != 0) {
        if (r == 1)
            r = ocfl_err_set(err, -EBUSY,
                             "plan %lld is past its switch point (object '%s' has been moved "
                             "out of the layout); resume it instead",
                             (long long)id, p->object_id);
        else
            r = ocfl_err_set(err, r, "cannot tell where object '%s' is", p->object_id);
        run_release(&run);
        rplan_free(p);
        return r;
    }
    ocfl_err_set(err, -ECANCELED, "cancelled by the user");
    r = revert(&run, -ECANCELED, err);
    if (!run.revert_failed && r != JOURNAL_FENCED) {
        ocfl_err_clear(err);
        r = 0;
    }
    run_release(&run);
    rplan_free(p);
    return r;
}
