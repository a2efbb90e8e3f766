/* put_pipe.c: hash a big file and copy it to the stage in one pass, on two threads. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#include "put_pipe.h"

/*
 * A big file in a pipeline of two threads: a helper reads each chunk and
 * writes it to the stage while this thread hashes the same buffer, so
 * hashing overlaps the copy on another core.  The bytes staged are the
 * bytes hashed.  The staged copy is written with O_DIRECT while the pieces
 * stay aligned: the device reads the buffer itself, so no CPU time goes to
 * copying into the page cache and the final fdatasync has only metadata
 * left to flush.  Where the file system refuses O_DIRECT, from the first
 * unaligned piece on (the tail) and when $OCFLFS_TEST_NO_DIRECT is set, the
 * writes are buffered, and writeback is started chunk by chunk so that the
 * final fdatasync has little left to wait for.
 */
#define PIPE_BUFS  4
#define PIPE_CHUNK (4u << 20) /* read size */
#define DIO_ALIGN  4096u      /* offsets, lengths and buffers of O_DIRECT writes */

struct pipeline {
    int in, out;
    int direct; /* out is O_DIRECT (only the helper changes it once started) */
    int refuse; /* tests: fail the first O_DIRECT write with EINVAL */
    char *buf[PIPE_BUFS];
    ssize_t len[PIPE_BUFS];
    uint64_t filled, hashed; /* buffers read by the helper, hashed by the caller */
    int rerr, werr, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

static void pipe_post(struct pipeline *q, uint64_t *field, uint64_t v, int *errp, int e)
{
    pthread_mutex_lock(&q->mu);
    if (field)
        *field = v;
    if (errp)
        *errp = e;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

/* Turn O_DIRECT on or off on @fd: 0 or -errno (-EINVAL: not supported). */
static int set_direct(int fd, int on)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0)
        return -errno;
    return 0;
}

static int pwrite_all(int fd, const char *buf, size_t len, uint64_t off)
{
    while (len) {
        ssize_t w = pwrite(fd, buf, len, (off_t)off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        off += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

/* Write @n bytes of @b at @off of the staged copy (see above): 0 or -errno. */
static int stage_write(struct pipeline *q, const char *b, size_t n, uint64_t off)
{
    int r;

    if (q->direct && ((off | n) & (DIO_ALIGN - 1))) {
        if ((r = set_direct(q->out, 0)) < 0)
            return r;
        q->direct = 0;
    }
    if (q->direct) {
        ssize_t w = -1;
        if (q->refuse)
            errno = EINVAL;
        else
            do
                w = pwrite(q->out, b, n, (off_t)off);
            while (w < 0 && errno == EINTR);
        if (w == (ssize_t)n)
            return 0;
        if (w < 0 && errno != EINVAL)
            return -errno;
        /* Refused (the file system wants another alignment) or short: go on buffered. */
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            off += (uint64_t)w;
        }
        if ((r = set_direct(q->out, 0)) < 0)
            return r;
        q->direct = 0;
    }
    if ((r = pwrite_all(q->out, b, n, off)) < 0)
        return r;
    /* Start writing back now, so the final fdatasync has little left to wait for. */
    sync_file_range(q->out, (off_t)off, (off_t)n, SYNC_FILE_RANGE_WRITE);
    return 0;
}

static void *pipe_io(void *arg)
{
    struct pipeline *q = arg;
    uint64_t off = 0;

    for (uint64_t k = 0;; k++) {
        char *b = q->buf[k % PIPE_BUFS];
        ssize_t n;
        int e = 0;

        pthread_mutex_lock(&q->mu);
        while (k - q->hashed >= PIPE_BUFS && !q->stop)
            pthread_cond_wait(&q->cv, &q->mu);
        int stop = q->stop;
        pthread_mutex_unlock(&q->mu);
        if (stop)
            return NULL;
        do
            n = read(q->in, b, PIPE_CHUNK);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            e = -errno;
        q->len[k % PIPE_BUFS] = n < 0 ? 0 : n;
        pipe_post(q, &q->filled, k + 1, &q->rerr, e);
        if (n <= 0)
            return NULL;
        e = stage_write(q, b, (size_t)n, off);
        if (e < 0) {
            pipe_post(q, NULL, 0, &q->werr, e);
            return NULL;
        }
        off += (uint64_t)n;
    }
}

int put_pipe_file(struct ocfl_hasher *h, int in, int out, const struct put_pipe_opts *o,
                  uint64_t *ret_total, int *ret_write)
{
    struct pipeline q = {.in = in, .out = out};
    pthread_t th;
    uint64_t total = 0;
    int r = 0, k;

    *ret_write = 0;
    for (k = 0; k < PIPE_BUFS; k++)
        if (posix_memalign((void **)&q.buf[k], DIO_ALIGN, PIPE_CHUNK)) {
            q.buf[k] = NULL;
            break;
        }
    if (k < PIPE_BUFS || pthread_mutex_init(&q.mu, NULL)) {
        while (k--)
            free(q.buf[k]);
        return -ENOMEM;
    }
    pthread_cond_init(&q.cv, NULL);
    q.direct = o->no_direct != 1 && set_direct(out, 1) == 0;
    q.refuse = o->no_direct == 2;
    if (pthread_create(&th, NULL, pipe_io, &q)) {
        r = -EAGAIN;
        goto out;
    }
    for (uint64_t i = 0;; i++) {
        pthread_mutex_lock(&q.mu);
        while (q.filled <= i && !q.werr)
            pthread_cond_wait(&q.cv, &q.mu);
        ssize_t n = q.werr ? -1 : q.len[i % PIPE_BUFS];
        r = q.werr ? q.werr : q.rerr;
        pthread_mutex_unlock(&q.mu);
        if (r < 0 || n <= 0) {
            *ret_write = q.werr < 0;
            break;
        }
        ocfl_hasher_update(h, q.buf[i % PIPE_BUFS], (size_t)n);
        total += (uint64_t)n;
        if (o->progress)
            o->progress(o->ctx, (uint64_t)n);
        pipe_post(&q, &q.hashed, i + 1, NULL, 0);
    }
    pipe_post(&q, NULL, 0, &q.stop, 1);
    pthread_join(th, NULL);
    if (r == 0 && q.werr) {
        r = q.werr;
        *ret_write = 1;
    }
    *ret_total = total;
out:
    pthread_cond_destroy(&q.cv);
    pthread_mutex_destroy(&q.mu);
    for (k = 0; k < PIPE_BUFS; k++)
        free(q.buf[k]);
    return r;
}
