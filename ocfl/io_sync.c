/* io_sync.c: fsync many files or directories at once, on threads.
 *
 * Why threads: an fsync mostly waits (for the device, for the file system's journal).  Several
 * waiting at once let ext4 and XFS fold them into one journal commit, and let a device with a
 * queue work on several files; one after the other, 10,000 small files cost 10,000 round trips.
 * syncfs(2) would be one call, but it is not forwarded by FUSE (LazyFS, ceph-fuse, glusterfs,
 * s3fs ...) and some network file systems ignore it: only each file's own fsync is a promise. */
#include "io.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

/* 48 measured: put of 10,000 files of 4 KiB 0.51-0.54 s, with 16 threads 0.73 s (ext4) */
#define SYNC_THREADS_DEFAULT 48
#define SYNC_THREADS_MAX     64

struct sync_job {
    int dirfd;
    const char *const *paths;
    size_t n;
    int datasync;
    size_t next; /* next path to take (atomic) */
    int failed;  /* a path failed: take no more (atomic) */
    pthread_mutex_t mu;
    int r; /* the first failure, under mu */
    struct ocfl_err err;
};

static int sync_one(struct sync_job *jb, const char *path, struct ocfl_err *err)
{
    int fd, r;

    fd = ocfl_io_open(jb->dirfd, path, O_RDONLY | O_CLOEXEC, 0); /* checks the path */
    if (fd < 0)
        return ocfl_err_sys(err, fd, "cannot open '%s' to fsync it", path);
    if ((r = io_fault(OCFL_IO_FSYNC, path)) == 0 && (jb->datasync ? fdatasync(fd) : fsync(fd)) < 0)
        r = -errno;
    close(fd);
    return r < 0 ? ocfl_err_sys(err, r, "cannot fsync '%s'", path) : 0;
}

static void *sync_worker(void *arg)
{
    struct sync_job *jb = arg;
    struct ocfl_err err = {0};

    while (!__atomic_load_n(&jb->failed, __ATOMIC_RELAXED)) {
        size_t i = __atomic_fetch_add(&jb->next, 1, __ATOMIC_RELAXED);
        if (i >= jb->n)
            break;
        int r = sync_one(jb, jb->paths[i], &err);
        if (r < 0) {
            pthread_mutex_lock(&jb->mu);
            if (!jb->r) {
                jb->r = r;
                jb->err = err;
            }
            pthread_mutex_unlock(&jb->mu);
            __atomic_store_n(&jb->failed, 1, __ATOMIC_RELAXED);
            break;
        }
    }
    return NULL;
}

int ocfl_io_fsync_paths(int dirfd, const char *const *paths, size_t n, int datasync,
                        unsigned threads, struct ocfl_err *err)
{
    struct sync_job jb = {.dirfd = dirfd, .paths = paths, .n = n, .datasync = datasync};
    pthread_t th[SYNC_THREADS_MAX];
    unsigned nt = threads ? threads : SYNC_THREADS_DEFAULT, started = 0;

    if (nt > SYNC_THREADS_MAX)
        nt = SYNC_THREADS_MAX;
    if (nt > n)
        nt = (unsigned)n;
    if (n == 0)
        return 0;
    pthread_mutex_init(&jb.mu, NULL);
    for (unsigned k = 1; k < nt; k++) {
        if (pthread_create(&th[k], NULL, sync_worker, &jb) != 0)
            break; /* fewer threads, same work */
        started = k;
    }
    sync_worker(&jb);
    for (unsigned k = 1; k <= started; k++)
        pthread_join(th[k], NULL);
    pthread_mutex_destroy(&jb.mu);
    if (jb.r < 0 && err)
        *err = jb.err;
    return jb.r;
}
