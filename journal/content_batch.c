/* content_batch.c: run a batch of content steps: directories opened once, moves in parallel,
 * one fsync per directory, one transaction to record them done. */
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

/* At most this many directory fds open at once (the rest are opened when needed). */
#define DIR_FDS 256

/* A batch takes no new step after this long: the recorded progress moves at least that often. */
#define BATCH_NS 1000000000ull

/* A directory a batch moves files out of (state side) or into (object side). */
struct bdir {
    int state; /* 1: beneath the state directory, 0: beneath the object */
    char *path;
    int fd;
};

struct batch {
    struct run *run;
    size_t *idx;
    unsigned *attempts;
    uint64_t *bytes;
    int *result;
    size_t *src, *dst; /* per item: index into dirs */
    size_t n;
    struct bdir *dirs;
    size_t n_dirs, dirs_alloc;
    size_t next;          /* next item to take (guarded by mu) */
    uint64_t deadline_ns; /* take no more after this (journal clock) */
    int stop;             /* a step failed for good: take no more */
    int failed_r;         /* its error */
    struct ocfl_err failed_err;
    pthread_mutex_t mu;
};

static int bdir_cmp(const void *a, const void *b)
{
    const struct bdir *x = a, *y = b;

    if (x->state != y->state)
        return x->state - y->state;
    return strcmp(x->path, y->path);
}

static int add_dir(struct batch *b, int state, const char *path, size_t len)
{
    struct bdir *d;

    if (b->n_dirs == b->dirs_alloc) {
        size_t na = b->dirs_alloc ? 2 * b->dirs_alloc : 64;
        struct bdir *t = realloc(b->dirs, na * sizeof(*t));
        if (!t)
            return -ENOMEM;
        b->dirs = t;
        b->dirs_alloc = na;
    }
    d = &b->dirs[b->n_dirs];
    d->state = state;
    d->fd = -1;
    d->path = strndup(path, len);
    if (!d->path)
        return -ENOMEM;
    b->n_dirs++;
    return 0;
}

/* Index of directory (@state, first @len bytes of @path) in the sorted table, or -1. */
static long find_dir(const struct batch *b, int state, const char *path, size_t len)
{
    struct bdir k = {.state = state, .path = strndup(path, len)}, *hit;

    if (!k.path)
        return -1;
    hit = bsearch(&k, b->dirs, b->n_dirs, sizeof(*b->dirs), bdir_cmp);
    free(k.path);
    return hit ? hit - b->dirs : -1;
}

static size_t parent_len(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? (size_t)(slash - path) : 0;
}

/*
 * The table: each source's directory; each dest's directory and all its
 * ancestors beneath the object (a directory made here is durable once its
 * parent is fsynced).  Sorted, so a parent comes before its children.
 */
static int collect_dirs(struct batch *b, struct ocfl_err *err)
{
    struct rplan *p = b->run->p;
    size_t w = 0;
    int r = 0;

    for (size_t k = 0; r == 0 && k < b->n; k++) {
        const struct rstep *s = &p->steps[b->idx[k]];
        size_t len = parent_len(s->dest);
        r = add_dir(b, 1, s->source, parent_len(s->source));
        /* Ancestors of the first dest in a directory only: the next ones share them. */
        if (r == 0 && (k == 0 || len != parent_len(p->steps[b->idx[k - 1]].dest) ||
                       strncmp(s->dest, p->steps[b->idx[k - 1]].dest, len)))
            for (size_t i = 0; r == 0 && i <= len; i++)
                if (i == len || s->dest[i] == '/')
                    r = add_dir(b, 0, s->dest, i);
    }
    if (r < 0)
        return ocfl_err_set(err, r, "cannot run plan %lld: out of memory",
                            (long long)b->run->p->id);
    qsort(b->dirs, b->n_dirs, sizeof(*b->dirs), bdir_cmp);
    for (size_t i = 0; i < b->n_dirs; i++) {
        if (w && !bdir_cmp(&b->dirs[w - 1], &b->dirs[i])) {
            free(b->dirs[i].path);
            continue;
        }
        b->dirs[w++] = b->dirs[i];
    }
    b->n_dirs = w;
    for (size_t k = 0; k < b->n; k++) {
        const struct rstep *s = &p->steps[b->idx[k]];
        long si = find_dir(b, 1, s->source, parent_len(s->source));
        long di = find_dir(b, 0, s->dest, parent_len(s->dest));
        if (si < 0 || di < 0)
            return ocfl_err_set(err, -ENAMETOOLONG, "path too long in step %zu", b->idx[k]);
        b->src[k] = (size_t)si;
        b->dst[k] = (size_t)di;
    }
    return 0;
}

/* Open directories of the table, making the missing ones beneath the object (no fsync
 * here: sync_dirs makes them durable with the moves).  At most DIR_FDS stay open, sources
 * first; steps whose directory has none go the careful way. */
static int open_dirs(struct batch *b, struct ocfl_err *err)
{
    struct run *run = b->run;
    const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    size_t n_open = 0;

    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < b->n_dirs; i++) {
            struct bdir *d = &b->dirs[i];
            int base = d->state ? journal_state_fd(run->j) : run->objfd, fd, r;
            if (d->state != pass)
                continue;
            /* beneath the object: through the claimed version directory (run->vfd) */
            fd = d->state ? ocfl_io_open(base, d->path, flags, 0)
                          : run_open_dir_in_object(run, d->path);
            if (fd == -ENOENT && !d->state) {
                size_t pl = parent_len(d->path);
                long pi = find_dir(b, 0, d->path, pl);
                const char *name = d->path + (pl ? pl + 1 : 0);
                int pfd = pl ? -1 : run->objfd, tmp = -1;
                if (pi >= 0 && b->dirs[pi].fd >= 0) {
                    pfd = b->dirs[pi].fd;
                } else if (pl) {
                    char *parent = strndup(d->path, pl);
                    pfd = tmp = parent ? run_open_dir_in_object(run, parent) : -ENOMEM;
                    free(parent);
                }
                r = pfd < 0 ? pfd : ocfl_io_mkdir_nosync(pfd, name, 0755, err);
                fd = r < 0 ? r : ocfl_io_open(pfd, name, flags, 0);
                if (tmp >= 0)
                    close(tmp);
                if (r < 0 && pfd >= 0)
                    return r; /* err set by ocfl_io_mkdir_nosync */
            }
            if (fd < 0) {
                if (d->state && fd == -ENOENT)
                    continue; /* a source directory moved before: its steps go the careful way */
                return ocfl_err_sys(err, fd, "cannot open directory '%s'", d->path);
            }
            if (n_open >= DIR_FDS) {
                close(fd);
                continue;
            }
            d->fd = fd;
            n_open++;
        }
    return 0;
}

/* One fsync per directory: the moves, and the directories made, are then durable. */
static int sync_dirs(struct batch *b, struct ocfl_err *err)
{
    for (size_t i = 0; i < b->n_dirs; i++) {
        struct bdir *d = &b->dirs[i];
        int r;
        if (d->fd >= 0)
            r = ocfl_io_fsync(d->fd, d->path, err);
        else
            r = ocfl_io_fsync_dir(d->state ? journal_state_fd(b->run->j) : b->run->objfd, d->path,
                                  err);
        if (r == -ENOENT && d->state)
            r = 0; /* a source directory moved before */
        if (r < 0)
            return r;
    }
    return 0;
}

static void *batch_worker(void *arg)
{
    struct batch *b = arg;
    struct run *run = b->run;
    struct journal *j = run->j;

    for (;;) {
        struct ocfl_err err = {0};
        size_t k;
        int r, sfd, dfd;

        pthread_mutex_lock(&b->mu);
        k = b->next++;
        if (b->stop || k >= b->n || (k && journal_now_ns(j) > b->deadline_ns)) {
            pthread_mutex_unlock(&b->mu);
            return NULL;
        }
        pthread_mutex_unlock(&b->mu);
        size_t idx = b->idx[k];
        struct rstep *s = &run->p->steps[idx];
        const struct journal_retry *policy = run_retry(run, idx);
        unsigned attempts = s->attempts;
        sfd = b->dirs[b->src[k]].fd;
        dfd = b->dirs[b->dst[k]].fd;
        for (;;) {
            attempts++;
            if ((long)idx == j->kill_before_step)
                raise(SIGKILL);
            if (sfd >= 0 && dfd >= 0)
                r = run_exec_content_at(run, idx, attempts, attempts - 1, sfd, dfd, &err);
            else
                r = run_exec_step(run, idx, attempts, attempts - 1, &err);
            if (r >= 0) {
                if ((long)idx == j->kill_after_step)
                    raise(SIGKILL);
                break;
            }
            if (run->fenced)
                break; /* no longer ours: nothing recorded, no retry */
            jdb_step_fail(j, run->p->id, idx, attempts, err.msg);
            if (!journal_retry_allowed(policy, r) || attempts >= policy->max_attempts)
                break;
            j->clock.sleep_ns(j->clock.ctx, journal_retry_delay_ms(policy, attempts) * 1000000u);
        }
        s->attempts = attempts;
        b->attempts[k] = attempts;
        b->bytes[k] = s->size;
        b->result[k] = r;
        if (r < 0) {
            s->state = JOURNAL_STEP_FAILED;
            pthread_mutex_lock(&b->mu);
            if (!b->stop) {
                b->stop = 1;
                b->failed_r = r;
                b->failed_err = err;
            }
            pthread_mutex_unlock(&b->mu);
        } else {
            run_report_progress(run, s->size);
        }
    }
}

static void fail(struct batch *b, int r, const struct ocfl_err *err)
{
    if (b->stop)
        return;
    b->stop = 1;
    b->failed_r = r;
    if (err)
        b->failed_err = *err;
}

int run_content_batch(struct run *run, size_t from, size_t to, struct ocfl_err *err)
{
    struct batch b = {.run = run};
    struct ocfl_err e = {0};
    unsigned nt = run->j->threads;
    pthread_t *th = NULL;
    size_t started = 0, n_ok = 0, m = to - from;
    int r = 0;

    b.idx = calloc(m, sizeof(*b.idx));
    b.attempts = calloc(m, sizeof(*b.attempts));
    b.bytes = calloc(m, sizeof(*b.bytes));
    b.result = calloc(m, sizeof(*b.result));
    b.src = calloc(m, sizeof(*b.src));
    b.dst = calloc(m, sizeof(*b.dst));
    pthread_mutex_init(&b.mu, NULL);
    if (!b.idx || !b.attempts || !b.bytes || !b.result || !b.src || !b.dst) {
        r = ocfl_err_set(err, -ENOMEM, "cannot run plan %lld: out of memory",
                         (long long)run->p->id);
        goto out;
    }
    for (size_t i = from; i < to; i++)
        if (run->p->steps[i].state != JOURNAL_STEP_DONE)
            b.idx[b.n++] = i;
    if (!b.n)
        goto out;
    /* the version directory's inode, fenced after its open: a batch paused past its lease
     * moves nothing into a version directory made again by another host */
    r = run_open_version(run, err);
    if (r < 0)
        goto out;
    r = collect_dirs(&b, err);
    if (r == 0)
        r = open_dirs(&b, err);
    if (r < 0)
        goto out;
    if (run->j->stop_at_switch == JDB_STOP_CONTENT) { /* test hook, once */
        run->j->stop_at_switch = 0;
        raise(SIGSTOP);
    }
    b.deadline_ns = journal_now_ns(run->j) + BATCH_NS;
    if (nt > b.n)
        nt = (unsigned)b.n;
    if (nt > 1)
        th = calloc(nt - 1, sizeof(*th));
    for (unsigned t = 0; th && t + 1 < nt; t++)
        if (pthread_create(&th[t], NULL, batch_worker, &b) == 0)
            started++;
    batch_worker(&b);
    for (size_t t = 0; t < started; t++)
        pthread_join(th[t], NULL);
    /* Every move of the batch durable before any is recorded.  The data of the
     * sources was durable before the plan was recorded (journal_plan_add). */
    r = sync_dirs(&b, &e);
    if (r < 0)
        fail(&b, r, &e);
    for (size_t k = 0; r == 0 && !run->fenced && k < b.n; k++)
        if (b.attempts[k] && b.result[k] == 0) {
            b.idx[n_ok] = b.idx[k];
            b.attempts[n_ok] = b.attempts[k];
            b.bytes[n_ok] = b.bytes[k];
            n_ok++;
        }
    if (!run->fenced) {
        int w = jdb_steps_done(run->j, run->p->id, b.idx, b.attempts, b.bytes, n_ok);
        if (w < 0) {
            ocfl_err_set(&e, w, "journal: cannot record steps done");
            fail(&b, w, &e);
        }
        for (size_t k = 0; w >= 0 && k < n_ok; k++)
            run->p->steps[b.idx[k]].state = JOURNAL_STEP_DONE;
    }
    r = 0;
    if (b.stop) {
        r = b.failed_r;
        if (err)
            *err = b.failed_err;
    }
out:
    for (size_t i = 0; i < b.n_dirs; i++) {
        if (b.dirs[i].fd >= 0)
            close(b.dirs[i].fd);
        free(b.dirs[i].path);
    }
    free(b.dirs);
    free(th);
    free(b.idx);
    free(b.attempts);
    free(b.bytes);
    free(b.result);
    free(b.src);
    free(b.dst);
    pthread_mutex_destroy(&b.mu);
    return r;
}
