/* mount_hash.c: a small pool of threads hashing sequentially written scratch files behind the
 * writers, and recording the digest once a released file is fully hashed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mount_hash.h"
#include "mount_write.h"

#define CHUNK        (1u << 20) /* bytes per pread */
#define AUTO_THREADS 4          /* at most, when not set */
#define MAX_THREADS  64         /* at most, when set */

struct mw_hash {
    struct mount *m;
    struct mount_obj *mo;
    int fd;           /* a read-only open of the writer's file, made once the file is big enough to
                       * hash (mw_hash_source; atomic: set under pool.mu, read by the hashing thread) */
    char scratch[64]; /* the scratch file hashed */
    char *path;       /* logical path, updated at release */
    int alg;          /* enum ocfl_digest_alg */
    struct ocfl_hasher *h; /* touched only by the one who set busy */
    /* below: under pool.mu */
    unsigned refs;
    int valid;                   /* 0: never record */
    int busy;                    /* a thread (or a digest_now) works on h */
    int queued;                  /* in the queue (holds a reference) */
    int released;                /* the handle is gone: record when caught up */
    uint64_t written;            /* bytes the writer accounted, in order from 0 */
    uint64_t hashed;             /* bytes fed to h */
    struct mw_hash *qnext;       /* queue */
    struct mw_hash *prev, *next; /* every live job (for invalidation by scratch name) */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* the queue has work, or stop */
    pthread_cond_t done; /* a job finished a chunk or a record (mw_hash_finish waits) */
    struct mw_hash *qhead, *qtail;
    struct mw_hash *all;
    pthread_t threads[MAX_THREADS];
    int n_threads;
    int started, stopping;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .cv = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

/* Free @j when its last reference goes.  pool.mu held; returns the job to free (outside). */
static struct mw_hash *unref_locked(struct mw_hash *j)
{
    if (--j->refs)
        return NULL;
    if (j->prev)
        j->prev->next = j->next;
    else if (pool.all == j)
        pool.all = j->next;
    if (j->next)
        j->next->prev = j->prev;
    return j;
}

/* The job's descriptor, -1 before mw_hash_source (a read fails: the job goes invalid). */
static int job_fd(const struct mw_hash *j)
{
    return __atomic_load_n(&j->fd, __ATOMIC_ACQUIRE);
}

static void job_free(struct mw_hash *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    ocfl_hasher_free(j->h);
    free(j->path);
    free(j);
}

void mw_hash_put(struct mw_hash *j)
{
    struct mw_hash *f;

    if (!j)
        return;
    pthread_mutex_lock(&pool.mu);
    f = unref_locked(j);
    pthread_mutex_unlock(&pool.mu);
    job_free(f);
}

/* Put @j on the queue unless it is there or being worked on.  pool.mu held. */
static void enqueue_locked(struct mw_hash *j)
{
    if (j->queued || pool.stopping)
        return;
    j->queued = 1;
    j->refs++;
    j->qnext = NULL;
    if (pool.qtail)
        pool.qtail->qnext = j;
    else
        pool.qhead = j;
    pool.qtail = j;
    pthread_cond_signal(&pool.cv);
}

/* Record the digest of a released, caught-up job.  No lock held. */
static void record(struct mw_hash *j)
{
    struct mount *m = j->m;
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    struct ocfl_err err = {0};
    char hex[OCFL_DIGEST_HEX_MAX];
    struct stat st;
    uint64_t size;
    int ok, rc;

    pthread_mutex_lock(&m->lock);
    pthread_mutex_lock(&pool.mu);
    ok = j->valid && !j->busy && j->hashed == j->written && j->path;
    if (ok) {
        j->valid = 0; /* consumed: recorded at most once */
        j->busy = 1;
    }
    size = j->written;
    pthread_mutex_unlock(&pool.mu);
    if (!ok) {
        pthread_mutex_unlock(&m->lock);
        return;
    }
    /* every change to the scratch file by another handle passes m->lock and invalidates us,
     * so under m->lock the bytes are the ones hashed if the size still matches */
    ok = fstat(job_fd(j), &st) == 0 && (uint64_t)st.st_size == size &&
         ocfl_hasher_final(j->h, j->alg, hex) == 0 && mw_inv(m, j->mo, &inv) == 0 &&
         staging_lookup(m->journal, j->mo->id, inv, j->path, &e, NULL) == 0 &&
         staging_entry_writable(&e) && !strcmp(e.scratch, j->scratch);
    if (ok) {
        rc = staging_set_written(m->journal, j->mo->id, j->path, st.st_size,
                                 (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec, hex,
                                 &err);
        if (rc < 0 && rc != -EROFS && rc != -ENOENT)
            mw_fail(m, j->mo, j->path, rc, &err);
    }
    pthread_mutex_lock(&pool.mu);
    j->busy = 0;
    pthread_cond_broadcast(&pool.done);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&m->lock);
}

/* Hash what @j has pending, up to @limit bytes of the file; record when released and caught
 * up.  Called with pool.mu held, returns with it. */
static void work(struct mw_hash *j, char *buf, uint64_t limit)
{
    while (j->valid && !j->busy && j->hashed < j->written && j->hashed < limit && !pool.stopping) {
        uint64_t off = j->hashed, want = j->written - j->hashed;
        size_t n = want > CHUNK ? CHUNK : (size_t)want, got = 0;
        j->busy = 1;
        pthread_mutex_unlock(&pool.mu);
        while (got < n) {
            ssize_t k = pread(job_fd(j), buf + got, n - got, (off_t)(off + got));
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        if (got == n)
            ocfl_hasher_update(j->h, buf, n);
        pthread_mutex_lock(&pool.mu);
        j->busy = 0;
        if (got == n)
            j->hashed += n;
        else
            j->valid = 0; /* shorter than written: truncated meanwhile */
        pthread_cond_broadcast(&pool.done);
    }
    if (j->valid && j->released && j->hashed == j->written && !pool.stopping) {
        pthread_mutex_unlock(&pool.mu);
        record(j);
        pthread_mutex_lock(&pool.mu);
    }
}

static void *hasher_main(void *arg)
{
    char *buf = malloc(CHUNK);
    struct mw_hash *j, *f;
    /* tests: the pool stops hashing a file at this many bytes (a hasher that fell behind) */
    const char *lim = getenv("OCFLFS_TEST_HASHER_LIMIT");
    uint64_t limit = lim && *lim ? strtoull(lim, NULL, 10) : UINT64_MAX;

    (void)arg;
    /* only idle CPU: the writers (and FUSE) go first; the hasher catches up meanwhile, e.g.
     * while a writer waits for fsync, and a commit that comes too early hashes itself */
    struct sched_param sp = {0};
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
    pthread_mutex_lock(&pool.mu);
    for (;;) {
        while (!pool.stopping && !pool.qhead)
            pthread_cond_wait(&pool.cv, &pool.mu);
        if (pool.stopping)
            break;
        j = pool.qhead;
        pool.qhead = j->qnext;
        if (!pool.qhead)
            pool.qtail = NULL;
        j->queued = 0;
        if (buf)
            work(j, buf, limit);
        else
            j->valid = 0;
        /* tests: a thread that fell behind keeps its job (until someone else hashes it) */
        while (limit != UINT64_MAX && !pool.stopping && j->valid && j->hashed >= limit &&
               j->hashed < j->written)
            pthread_cond_wait(&pool.done, &pool.mu);
        f = unref_locked(j);
        if (f) {
            pthread_mutex_unlock(&pool.mu);
            job_free(f);
            pthread_mutex_lock(&pool.mu);
        }
    }
    pthread_mutex_unlock(&pool.mu);
    free(buf);
    return NULL;
}

static unsigned set_threads; /* mw_hash_set_threads(), before the pool starts */

void mw_hash_set_threads(unsigned n)
{
    set_threads = n;
}

/* Start the threads once.  pool.mu held.  0 or -errno. */
static int start_locked(void)
{
    long cores;
    int want;

    if (pool.started)
        return pool.n_threads ? 0 : -EAGAIN;
    pool.started = 1;
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    want = cores > 2 ? (int)(cores - 1) : 1;
    if (want > AUTO_THREADS)
        want = AUTO_THREADS;
    if (set_threads)
        want = set_threads > MAX_THREADS ? MAX_THREADS : (int)set_threads;
    while (pool.n_threads < want &&
           pthread_create(&pool.threads[pool.n_threads], NULL, hasher_main, NULL) == 0)
        pool.n_threads++;
    return pool.n_threads ? 0 : -EAGAIN;
}

/* A read-only open of @fd's file (the same inode, renamed or not): a job keeps no descriptor
 * that may write, so that a file nobody writes can be told from one somebody still may
 * (staging_scratch_written_elsewhere).  -1 without /proc: then no job (the commit hashes). */
static int reopen_read_only(int fd)
{
    char self[64];

    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    return open(self, O_RDONLY | O_CLOEXEC);
}

struct mw_hash *mw_hash_new(struct mount *m, struct mount_obj *mo, int fd, const char *scratch,
                            const char *path, int alg)
{
    struct mw_hash *j;

    if (!ocfl_digest_alg_is_content(alg) || fd < 0 || !scratch || !path)
        return NULL;
    if (!(j = calloc(1, sizeof(*j))))
        return NULL;
    j->m = m;
    j->mo = mo;
    j->alg = alg;
    j->refs = 1;
    j->valid = 1;
    snprintf(j->scratch, sizeof(j->scratch), "%s", scratch);
    j->fd = -1; /* a small file never needs one (mw_hash_source) */
    if (!(j->path = strdup(path)) || ocfl_hasher_new(1u << alg, &j->h, NULL) < 0) {
        job_free(j);
        return NULL;
    }
    pthread_mutex_lock(&pool.mu);
    if (pool.stopping || start_locked() < 0) {
        pthread_mutex_unlock(&pool.mu);
        job_free(j);
        return NULL;
    }
    j->next = pool.all;
    if (j->next)
        j->next->prev = j;
    pool.all = j;
    pthread_mutex_unlock(&pool.mu);
    return j;
}

void mw_hash_source(struct mw_hash *j, int fd)
{
    struct stat a, b;
    int rfd = -1;

    if (!j || job_fd(j) >= 0)
        return;
    /* only a descriptor of the job's own scratch file (not one a copy-up switched to) */
    if (fd >= 0 && fstat(fd, &a) == 0 &&
        fstatat(journal_state_fd(j->m->journal), j->scratch, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        rfd = reopen_read_only(fd);
    pthread_mutex_lock(&pool.mu);
    if (rfd < 0) {
        j->valid = 0; /* nothing to read it through: the commit hashes the file */
    } else if (job_fd(j) < 0) {
        __atomic_store_n(&j->fd, rfd, __ATOMIC_RELEASE);
        rfd = -1;
    }
    pthread_mutex_unlock(&pool.mu);
    if (rfd >= 0)
        close(rfd);
}

void mw_hash_extend(struct mw_hash *j, uint64_t written)
{
    if (!j)
        return;
    pthread_mutex_lock(&pool.mu);
    if (j->valid && written > j->written) {
        j->written = written;
        if (written >= MW_HASH_MIN_BYTES && job_fd(j) < 0)
            j->valid = 0;                      /* no mw_hash_source: never hashed */
        else if (written >= MW_HASH_MIN_BYTES) /* a small file wakes no hasher */
            enqueue_locked(j);
    }
    pthread_mutex_unlock(&pool.mu);
}

void mw_hash_invalidate(struct mw_hash *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&pool.mu);
    j->valid = 0;
    pthread_mutex_unlock(&pool.mu);
}

void mw_hash_invalidate_scratch(const char *scratch, const struct mw_hash *keep)
{
    if (!scratch || !scratch[0])
        return;
    pthread_mutex_lock(&pool.mu);
    for (struct mw_hash *j = pool.all; j; j = j->next)
        if (j != keep && !strcmp(j->scratch, scratch))
            j->valid = 0;
    pthread_mutex_unlock(&pool.mu);
}

int mw_hash_digest_now(struct mw_hash *j, uint64_t size, char *hex)
{
    int ok;

    if (!j)
        return 0;
    pthread_mutex_lock(&pool.mu);
    ok = j->valid && !j->busy && j->hashed == j->written && j->written == size;
    if (ok) {
        j->valid = 0;
        j->busy = 1;
    }
    pthread_mutex_unlock(&pool.mu);
    if (!ok)
        return 0;
    ok = ocfl_hasher_final(j->h, j->alg, hex) == 0;
    pthread_mutex_lock(&pool.mu);
    j->busy = 0;
    pthread_mutex_unlock(&pool.mu);
    return ok;
}

void mw_hash_release(struct mw_hash *j, const char *path)
{
    struct mw_hash *f;
    char *p = path ? strdup(path) : NULL;

    if (!j) {
        free(p);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    free(j->path);
    j->path = p; /* NULL (orphaned, or ENOMEM): never recorded */
    j->released = 1;
    if (j->valid && p)
        enqueue_locked(j);              /* the thread records once caught up */
    pthread_cond_broadcast(&pool.done); /* a commit may be waiting for this release */
    f = unref_locked(j);
    pthread_mutex_unlock(&pool.mu);
    job_free(f);
}

/* A job of @w the caller can advance: valid, idle, with bytes to hash or a digest to record.
 * *ret_busy: a pool thread works on one; *ret_open: one is caught up but not released yet. */
static struct mw_hash *helpable_locked(const struct mount_wobj *w, int *ret_busy, int *ret_open)
{
    *ret_busy = *ret_open = 0;
    for (struct mw_hash *j = pool.all; j; j = j->next) {
        if (!j->mo || j->mo->w != w || (j->released && !j->path))
            continue; /* another object's, or orphaned: never recorded */
        if (j->busy) {
            *ret_busy = 1;
            continue;
        }
        if (j->valid && (j->hashed < j->written || j->released))
            return j;
        if (j->valid && !j->released)
            *ret_open = 1;
    }
    return NULL;
}

/* How long a commit waits for the release of a caught-up handle (close(2) returns after FLUSH;
 * RELEASE follows asynchronously, usually within microseconds). */
#define RELEASE_WAIT_NS (20 * 1000000L)

void mw_hash_finish(const struct mount_wobj *w)
{
    char *buf = malloc(CHUNK);
    struct mw_hash *j, *f;
    struct timespec until;
    int busy, open;

    if (!buf || !w)
        goto out;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += RELEASE_WAIT_NS;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pool.mu);
    while (!pool.stopping) {
        j = helpable_locked(w, &busy, &open);
        if (j) {
            j->refs++;
            work(j, buf, UINT64_MAX); /* records it when released */
            f = unref_locked(j);
            if (f) {
                pthread_mutex_unlock(&pool.mu);
                job_free(f);
                pthread_mutex_lock(&pool.mu);
            }
        } else if (busy) {
            pthread_cond_wait(&pool.done, &pool.mu); /* a hasher thread is inside a chunk */
        } else if (!open || pthread_cond_timedwait(&pool.done, &pool.mu, &until) != 0) {
            break; /* handles still open after the wait: their files are hashed by the commit */
        }
    }
    pthread_mutex_unlock(&pool.mu);
out:
    free(buf);
}

int mw_hash_pending(const char *scratch)
{
    int n = 0;

    pthread_mutex_lock(&pool.mu);
    for (struct mw_hash *j = pool.all; j; j = j->next)
        if (!strcmp(j->scratch, scratch) && j->valid && (j->queued || j->busy))
            n = 1;
    pthread_mutex_unlock(&pool.mu);
    return n;
}

void mw_hash_shutdown(void)
{
    struct mw_hash *j, *f;

    pthread_mutex_lock(&pool.mu);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.cv);
    pthread_cond_broadcast(&pool.done);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.n_threads; i++)
        pthread_join(pool.threads[i], NULL);
    pthread_mutex_lock(&pool.mu);
    pool.n_threads = 0;
    while ((j = pool.qhead)) {
        pool.qhead = j->qnext;
        j->queued = 0;
        f = unref_locked(j);
        if (f) {
            pthread_mutex_unlock(&pool.mu);
            job_free(f);
            pthread_mutex_lock(&pool.mu);
        }
    }
    pool.qtail = NULL;
    pthread_mutex_unlock(&pool.mu);
}
