/* validate_content.c: the validator's content files, hashed once each by a thread pool. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "validate_int.h"

#define READ_BUF (1024 * 1024)
/* Report progress at most every this many bytes per thread. */
#define PROGRESS_STEP (4u * 1024 * 1024)

int vfiles_add(struct vfiles *f, const char *path, uint64_t size)
{
    if (f->n == f->alloc) {
        size_t na = f->alloc ? f->alloc * 2 : 64;
        struct vfile *nv = realloc(f->v, na * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        f->v = nv;
        f->alloc = na;
    }
    f->v[f->n].path = strdup(path);
    if (!f->v[f->n].path)
        return -ENOMEM;
    f->v[f->n].size = size;
    f->v[f->n].status = 0;
    f->n++;
    f->sorted = 0;
    return 0;
}

static int cmp_vfile(const void *a, const void *b)
{
    return strcmp(((const struct vfile *)a)->path, ((const struct vfile *)b)->path);
}

void vfiles_sort(struct vfiles *f)
{
    if (f->n > 1)
        qsort(f->v, f->n, sizeof(*f->v), cmp_vfile);
    f->sorted = 1;
}

struct vfile *vfiles_find(const struct vfiles *f, const char *path)
{
    struct vfile key = {.path = (char *)path};

    if (!f->n)
        return NULL;
    return bsearch(&key, f->v, f->n, sizeof(*f->v), cmp_vfile);
}

void vfiles_release(struct vfiles *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].path);
    free(f->v);
    free(f->hex);
    memset(f, 0, sizeof(*f));
}

void vfiles_want(struct vfiles *f, enum ocfl_digest_alg alg)
{
    if (alg <= OCFL_DIGEST_UNKNOWN || alg >= OCFL_DIGEST_COUNT_)
        return;
    for (size_t i = 0; i < f->n_algs; i++)
        if (f->algs[i] == alg)
            return;
    f->algs[f->n_algs++] = alg;
}

uint64_t vfiles_total(const struct vfiles *f)
{
    uint64_t t = 0;

    for (size_t i = 0; i < f->n; i++)
        t += f->v[i].size;
    return t;
}

const char *vfiles_digest(const struct vfiles *f, const struct vfile *file,
                          enum ocfl_digest_alg alg)
{
    size_t idx = (size_t)(file - f->v);

    if (!f->hashed || file->status < 0 || idx >= f->n)
        return NULL;
    for (size_t s = 0; s < f->n_algs; s++)
        if (f->algs[s] == alg)
            return f->hex + (idx * f->n_algs + s) * OCFL_DIGEST_HEX_MAX;
    return NULL;
}

struct pool {
    struct vfiles *f;
    struct vctx *c;
    unsigned mask;
    atomic_size_t next;
    atomic_uint_fast64_t done;
    uint64_t total;
    pthread_mutex_t progress_lock;
    int oom;
};

static void progress(struct pool *p, uint64_t add)
{
    const struct ocfl_validate_opts *o = p->c->opts;
    uint64_t done = atomic_fetch_add(&p->done, add) + add;

    if (!o || !o->progress)
        return;
    pthread_mutex_lock(&p->progress_lock);
    o->progress(o->progress_ctx, p->c->progress_base + done, p->c->progress_base + p->total);
    pthread_mutex_unlock(&p->progress_lock);
}

/* Hash one file in every wanted algorithm; 0 or a negative errno. */
static int hash_one(struct pool *p, struct ocfl_hasher *h, char *buf, size_t idx)
{
    struct vfiles *f = p->f;
    uint64_t pending = 0;
    int fd, rc = 0;

    fd = ocfl_io_open(p->c->fd, f->v[idx].path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
    if (fd < 0)
        return fd;
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    if ((rc = ocfl_hasher_reset(h)) < 0) {
        /* a context that failed to start must not be fed (OpenSSL would crash) */
        close(fd);
        return rc;
    }
    for (;;) {
        ssize_t n = read(fd, buf, READ_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        ocfl_hasher_update(h, buf, (size_t)n);
        pending += (uint64_t)n;
        if (pending >= PROGRESS_STEP) {
            progress(p, pending);
            pending = 0;
        }
    }
    close(fd);
    if (pending)
        progress(p, pending);
    if (rc < 0)
        return rc;
    for (size_t s = 0; s < f->n_algs; s++) {
        char *out = f->hex + (idx * f->n_algs + s) * OCFL_DIGEST_HEX_MAX;
        rc = ocfl_hasher_final(h, f->algs[s], out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void *worker(void *arg)
{
    struct pool *p = arg;
    struct ocfl_hasher *h = NULL;
    char *buf = malloc(READ_BUF);

    if (!buf || ocfl_hasher_new(p->mask, &h, NULL) < 0) {
        p->oom = 1; /* benign race: only ever set to 1 */
        free(buf);
        return NULL;
    }
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->f->n)
            break;
        p->f->v[i].status = hash_one(p, h, buf, i);
    }
    ocfl_hasher_free(h);
    free(buf);
    return NULL;
}

int vfiles_hash(struct vfiles *f, struct vctx *c)
{
    struct pool p = {.f = f, .c = c};
    pthread_t tids[64];
    unsigned nthreads = c->opts && c->opts->threads ? c->opts->threads : 0;
    unsigned started = 0;

    if (!f->n_algs || !f->n) {
        f->hashed = 1;
        return 0;
    }
    free(f->hex);
    f->hex = calloc(f->n * f->n_algs, OCFL_DIGEST_HEX_MAX);
    if (!f->hex)
        return -ENOMEM;
    for (size_t s = 0; s < f->n_algs; s++)
        p.mask |= 1u << f->algs[s];
    p.total = vfiles_total(f);
    atomic_init(&p.next, 0);
    atomic_init(&p.done, 0);
    pthread_mutex_init(&p.progress_lock, NULL);
    if (!nthreads) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = cpus > 0 ? (unsigned)cpus : 1;
    }
    if (nthreads > 64)
        nthreads = 64;
    if (nthreads > f->n)
        nthreads = (unsigned)f->n;
    /* The calling thread works too, so start one fewer. */
    for (unsigned i = 1; i < nthreads; i++) {
        if (pthread_create(&tids[started], NULL, worker, &p) != 0)
            break;
        started++;
    }
    worker(&p);
    for (unsigned i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&p.progress_lock);
    c->progress_base += p.total;
    /* A worker that could not start claimed no file; the others did them. */
    if (p.oom && atomic_load(&p.next) < f->n)
        return -ENOMEM;
    f->hashed = 1;
    return 0;
}
