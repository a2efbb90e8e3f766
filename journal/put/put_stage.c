/* put_stage.c: read DIR for `put`: walk, check, hash and stage its files in scratch. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "inventory.h"
#include "io.h"
#include "path.h"
#include "put_pipe.h"
#include "put_stage.h"

#define CHUNK      (4u << 20) /* read size of big files */
#define SMALL_FILE (1u << 20) /* files up to this size are read whole before staging */

/* One staging worker: its own hasher, buffer and scratch subdirectory (so
 * that file creations do not queue on one directory's lock). */
struct stager {
    struct put_stage *p;
    int num;
    struct ocfl_hasher *h;
    char *buf;
    char dir[600];
    size_t staged, staged_small;
    int r;
    struct ocfl_err err;
};

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Whether content with @hex needs storing (not in the object yet).  Equal
 * new files are all staged; the plan stores the first and releases the
 * others, so the result does not depend on which worker came first. */
static int is_new(struct put_stage *p, const char *hex)
{
    return !(p->base && ocfl_inventory_manifest_lookup(p->base, hex));
}

/* Bytes read so far, and the caller told (by the first worker). */
static void count_read(void *ctx, uint64_t n)
{
    struct stager *w = ctx;
    uint64_t done = __atomic_add_fetch(&w->p->bytes, n, __ATOMIC_RELAXED);

    if (w->num == 0 && w->p->progress)
        w->p->progress(w->p->progress_ctx, done);
}

#define SPARSE_MIN (1u << 20) /* a file with this much less in blocks than its size has holes */

/*
 * A sparse file (fewer blocks than its size): its data ranges (SEEK_DATA/SEEK_HOLE) are hashed
 * and written at their offsets, its holes hashed as zeros and left holes in the stage, the
 * size set at the end; a commit then moves the stage in whole, holes and all.
 */
static int stage_sparse(struct stager *w, int fd, int out, off_t size, uint64_t *ret_total)
{
    static const char zeros[1 << 16];
    off_t off = 0;

    while (off < size) {
        off_t data = lseek(fd, off, SEEK_DATA), hole;
        if (data < 0 && errno != ENXIO)
            return -errno;
        if (data < 0 || data > size)
            data = size; /* a hole to the end */
        for (off_t z = off; z < data;) {
            size_t k = (size_t)(data - z) < sizeof(zeros) ? (size_t)(data - z) : sizeof(zeros);
            ocfl_hasher_update(w->h, zeros, k);
            z += (off_t)k;
        }
        if (data >= size)
            break;
        if ((hole = lseek(fd, data, SEEK_HOLE)) < 0)
            return -errno;
        if (hole > size)
            hole = size;
        for (off_t o = data; o < hole;) {
            size_t want = (size_t)(hole - o) < CHUNK ? (size_t)(hole - o) : CHUNK;
            ssize_t n = pread(fd, w->buf, want, o);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                return -errno;
            if (n == 0)
                return -EAGAIN; /* it shrank under us */
            ocfl_hasher_update(w->h, w->buf, (size_t)n);
            for (ssize_t done = 0; done < n;) {
                ssize_t k = pwrite(out, w->buf + done, (size_t)(n - done), o + done);
                if (k < 0 && errno != EINTR)
                    return -errno;
                done += k > 0 ? k : 0;
            }
            o += n;
            count_read(w, (uint64_t)n);
        }
        off = hole;
    }
    if (ftruncate(out, size) < 0)
        return -errno;
    *ret_total = (uint64_t)size;
    return 0;
}

/* Hash the file on @fd and copy it to the stage in the same pass (big files through
 * put_pipe.c, sparse ones by their data ranges). */
static int stage_file(struct stager *w, int fd, const char *shown, struct put_entry *e, size_t idx,
                      struct ocfl_err *err)
{
    struct put_stage *p = w->p;
    char name[64];
    int out = -1, r = 0;
    uint64_t total = 0;
    int small = e->size <= SMALL_FILE;

    ocfl_hasher_reset(w->h);
    snprintf(name, sizeof(name), "%zu", idx);
    struct stat sst;
    if (e->size >= SPARSE_MIN && fstat(fd, &sst) == 0 && S_ISREG(sst.st_mode) &&
        (uint64_t)sst.st_blocks * 512 + SPARSE_MIN <= (uint64_t)sst.st_size) {
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", w->dir, name);
        out = openat(p->state_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0) {
            r = ocfl_err_sys(err, -errno, "cannot stage '%s'", shown);
            goto out;
        }
        if ((r = stage_sparse(w, fd, out, sst.st_size, &total)) < 0) {
            r = ocfl_err_sys(err, r,
                             r == -EAGAIN ? "'%s' shrank while it was read" : "cannot stage '%s'",
                             shown);
            goto out;
        }
        goto hashed;
    }
    if (e->size >= PUT_PIPE_MIN) {
        char path[700];
        int wr;
        snprintf(path, sizeof(path), "%s/%s", w->dir, name);
        out = openat(p->state_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0) {
            r = ocfl_err_sys(err, -errno, "cannot stage '%s'", shown);
            goto out;
        }
        struct put_pipe_opts o = {.no_direct = p->no_direct, .progress = count_read, .ctx = w};
        r = put_pipe_file(w->h, fd, out, &o, &total, &wr);
        if (r < 0) {
            r = ocfl_err_sys(err, r, wr ? "cannot stage '%s'" : "cannot read '%s'", shown);
            goto out;
        }
        goto hashed;
    }
    for (;;) {
        ssize_t n = read(fd, w->buf, small ? SMALL_FILE + 1 : CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = ocfl_err_sys(err, -errno, "cannot read '%s'", shown);
            goto out;
        }
        if (n == 0)
            break;
        ocfl_hasher_update(w->h, w->buf, (size_t)n);
        total += (uint64_t)n;
        if (small && total <= SMALL_FILE) {
            /* Whole file in the buffer: decide before writing anything. */
            char hex[OCFL_DIGEST_HEX_MAX];
            ssize_t more = read(fd, w->buf + n, 1);
            if (more == 0) {
                ocfl_hasher_final(w->h, p->alg, hex);
                memcpy(e->digest, hex, sizeof(hex));
                e->size = total;
                if (!is_new(p, hex))
                    return 0;
                out = openat(p->state_fd, w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                int sfd = out;
                out = sfd >= 0 ? openat(sfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)
                               : -1;
                if (sfd >= 0)
                    close(sfd);
                if (out < 0 || (r = write_all(out, w->buf, (size_t)n)) < 0) {
                    r = ocfl_err_sys(err, out < 0 ? -errno : r, "cannot stage '%s'", shown);
                    goto out;
                }
                goto staged;
            }
            small = 0; /* it grew: stream it */
            if (more > 0) {
                ocfl_hasher_update(w->h, w->buf + n, 1);
                total++;
                n++;
            }
        }
        if (out < 0) {
            char path[700];
            snprintf(path, sizeof(path), "%s/%s", w->dir, name);
            out = openat(p->state_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (out < 0) {
                r = ocfl_err_sys(err, -errno, "cannot stage '%s'", shown);
                goto out;
            }
        }
        r = write_all(out, w->buf, (size_t)n);
        if (r < 0) {
            r = ocfl_err_sys(err, r, "cannot stage '%s'", shown);
            goto out;
        }
        /* Start writing back now, so the final fdatasync has little left to wait for. */
        sync_file_range(out, (off_t)(total - (uint64_t)n), n, SYNC_FILE_RANGE_WRITE);
        uint64_t done = __atomic_add_fetch(&p->bytes, (uint64_t)n, __ATOMIC_RELAXED);
        if (w->num == 0 && p->progress)
            p->progress(p->progress_ctx, done);
    }
hashed:
    ocfl_hasher_final(w->h, p->alg, e->digest);
    e->size = total;
    if (!is_new(p, e->digest)) {
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", w->dir, name);
        if (out >= 0)
            close(out);
        out = -1;
        unlinkat(p->state_fd, path, 0);
        return 0;
    }
    if (out < 0) { /* an empty file */
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", w->dir, name);
        out = openat(p->state_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0) {
            r = ocfl_err_sys(err, -errno, "cannot stage '%s'", shown);
            goto out;
        }
    }
    /* A big file is flushed by itself; small ones all at once at the end (sync_small). */
    if (fdatasync(out) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot flush the staged copy of '%s'", shown);
        goto out;
    }
    goto closeit;
staged:
    w->staged_small++;
closeit:
    if (close(out) < 0) {
        out = -1;
        r = ocfl_err_sys(err, -errno, "cannot stage '%s'", shown);
        goto out;
    }
    out = -1;
    if (asprintf(&e->source, "%s/%s", w->dir, name) < 0) {
        e->source = NULL;
        r = -ENOMEM;
        goto out;
    }
    w->staged++;
out:
    if (out >= 0)
        close(out);
    return r;
}

static void note_stat(struct put_entry *e, const struct stat *st)
{
    e->dev = (uint64_t)st->st_dev;
    e->ino = (uint64_t)st->st_ino;
    e->size = (uint64_t)st->st_size;
    e->mtime_ns = put_cache_time_ns(&st->st_mtim);
    e->ctime_ns = put_cache_time_ns(&st->st_ctim);
}

static int walk(struct put_stage *p, int fd0, const char *rel, struct ocfl_err *err)
{
    DIR *d = fdopendir(fd0);
    struct dirent *de;
    int r = 0;

    if (!d) {
        close(fd0);
        return ocfl_err_sys(err, -errno, "cannot read '%s/%s'", p->dir, rel);
    }
    while (r == 0 && (errno = 0, de = readdir(d))) {
        struct stat st;
        char *lp;
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        if (asprintf(&lp, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0) {
            r = -ENOMEM;
            break;
        }
        /* The entry's type from the directory spares a stat per file (the size comes from
         * fstat once the file is open); only file systems without d_type are asked, and
         * every file when the put cache may spare reading it. */
        st.st_ino = 0;
        st.st_mode = de->d_type == DT_REG   ? S_IFREG
                     : de->d_type == DT_DIR ? S_IFDIR
                     : de->d_type == DT_LNK ? S_IFLNK
                                            : 0;
        if (p->cache.n && st.st_mode == S_IFREG)
            st.st_mode = 0;
        if (!ocfl_utf8_valid(de->d_name, strlen(de->d_name))) {
            r = ocfl_err_set(err, -EINVAL, "'%s/%s': file name is not UTF-8", p->dir, lp);
        } else if (!st.st_mode && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = ocfl_err_sys(err, -errno, "cannot stat '%s/%s'", p->dir, lp);
        } else if (S_ISDIR(st.st_mode)) {
            int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            r = fd < 0 ? ocfl_err_sys(err, -errno, "cannot open '%s/%s'", p->dir, lp)
                       : walk(p, fd, lp, err);
        } else if (S_ISLNK(st.st_mode)) {
            r = ocfl_err_set(err, -EINVAL,
                             "'%s/%s': is a symbolic link (OCFL stores regular files only)", p->dir,
                             lp);
        } else if (!S_ISREG(st.st_mode)) {
            r = ocfl_err_set(err, -EINVAL, "'%s/%s': not a regular file", p->dir, lp);
        } else {
            if (p->n == p->alloc) {
                size_t na = p->alloc ? 2 * p->alloc : 256;
                struct put_entry *t = realloc(p->e, na * sizeof(*t));
                if (!t) {
                    free(lp);
                    r = -ENOMEM;
                    break;
                }
                p->e = t;
                p->alloc = na;
            }
            struct put_entry *e = &p->e[p->n];
            memset(e, 0, sizeof(*e));
            if (st.st_ino)
                note_stat(e, &st);
            e->logical_path = lp;
            lp = NULL;
            p->n++;
        }
        free(lp);
    }
    if (r == 0 && errno)
        r = ocfl_err_sys(err, -errno, "cannot read '%s/%s'", p->dir, rel);
    closedir(d);
    return r;
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct put_entry *)a)->logical_path,
                  ((const struct put_entry *)b)->logical_path);
}

static void *stage_worker(void *arg)
{
    struct stager *w = arg;
    struct put_stage *p = w->p;
    char shown[4096];

    for (;;) {
        size_t k = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (k >= p->n_todo || __atomic_load_n(&p->failed, __ATOMIC_RELAXED))
            return NULL;
        size_t i = p->todo[k];
        snprintf(shown, sizeof(shown), "%s/%s", p->dir, p->e[i].logical_path);
        /* O_NONBLOCK: should the file have become a fifo since the walk, do not wait on it */
        int fd = ocfl_io_open(p->dirfd, p->e[i].logical_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
        struct stat st;
        if (fd < 0)
            w->r = ocfl_err_sys(&w->err, fd, "cannot open '%s'", shown);
        else if (fstat(fd, &st) < 0)
            w->r = ocfl_err_sys(&w->err, -errno, "cannot stat '%s'", shown);
        else if (!S_ISREG(st.st_mode))
            w->r = ocfl_err_set(&w->err, -EINVAL, "'%s': not a regular file", shown);
        else {
            note_stat(&p->e[i], &st); /* before the read: a change while reading moves ctime */
            w->r = stage_file(w, fd, shown, &p->e[i], i, &w->err);
        }
        if (fd >= 0)
            close(fd);
        if (w->r < 0) {
            __atomic_store_n(&p->failed, 1, __ATOMIC_RELAXED);
            return NULL;
        }
    }
}

/* Hash and stage every file, on a few threads. */
/* fdatasync every staged file that is small (the big ones were flushed by their workers). */
static int sync_small(struct put_stage *p, struct ocfl_err *err)
{
    const char **v = calloc(p->n ? p->n : 1, sizeof(*v));
    size_t n = 0;
    int r;

    if (!v)
        return ocfl_err_set(err, -ENOMEM, "cannot stage: out of memory");
    for (size_t i = 0; i < p->n; i++)
        if (p->e[i].source && p->e[i].size <= SMALL_FILE)
            v[n++] = p->e[i].source;
    r = ocfl_io_fsync_paths(p->state_fd, v, n, 1, 0, err);
    free(v);
    return r;
}

static int stage_all(struct put_stage *p, struct ocfl_err *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nw = p->threads ? (int)p->threads : cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
    int started = 0, r = 0;
    struct stager *w = calloc((size_t)nw, sizeof(*w));
    pthread_t *th = calloc((size_t)nw, sizeof(*th));

    if ((size_t)nw > p->n_todo / 64 + 1)
        nw = (int)(p->n_todo / 64 + 1);
    const char *nd = getenv("OCFLFS_TEST_NO_DIRECT");
    p->no_direct = !nd || !*nd ? 0 : strcmp(nd, "refuse") ? 1 : 2;
    for (int k = 0; w && th && k < nw; k++) {
        w[k].p = p;
        w[k].num = k;
        snprintf(w[k].dir, sizeof(w[k].dir), "%s/w%d", p->stage, k);
        w[k].buf = malloc(CHUNK + 1 > SMALL_FILE + 2 ? CHUNK + 1 : SMALL_FILE + 2);
        if (!w[k].buf || ocfl_hasher_new(1u << p->alg, &w[k].h, err) < 0) {
            r = -ENOMEM;
            break;
        }
        if (mkdirat(p->state_fd, w[k].dir, 0755) < 0) {
            r = ocfl_err_sys(err, -errno, "cannot create '%s'", w[k].dir);
            break;
        }
    }
    if (!w || !th)
        r = -ENOMEM;
    for (int k = 1; r == 0 && k < nw; k++)
        if (pthread_create(&th[k], NULL, stage_worker, &w[k]) == 0)
            started = k;
    if (r == 0)
        stage_worker(&w[0]);
    for (int k = 1; k <= started; k++)
        pthread_join(th[k], NULL);
    for (int k = 0; w && k < nw; k++) {
        if (r == 0 && w[k].r < 0) {
            r = w[k].r;
            if (err)
                *err = w[k].err;
        }
        p->staged += w[k].staged;
        p->staged_small += w[k].staged_small;
        ocfl_hasher_free(w[k].h);
        free(w[k].buf);
    }
    /* Small files were only written (each fdatasync'ed by its worker, the reading would wait
     * on the disk): flush them now, many at once. */
    if (r == 0 && p->staged_small)
        r = sync_small(p, err);
    /* Then every staged file's entry: each worker's directory, the stage, scratch/. */
    for (int k = 0; r == 0 && w && k < nw; k++)
        r = ocfl_io_fsync_dir(p->state_fd, w[k].dir, err);
    if (r == 0)
        r = ocfl_io_fsync_dir(p->state_fd, p->stage, err);
    if (r == 0)
        r = ocfl_io_fsync_dir(p->state_fd, "scratch", err);
    if (r == -ENOMEM && (!err || !err->code))
        ocfl_err_set(err, r, "cannot stage: out of memory");
    free(w);
    free(th);
    return r;
}

void put_stage_release(struct put_stage *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].logical_path);
        free(p->e[i].source);
    }
    free(p->e);
    free(p->stage);
    free(p->todo);
    put_cache_release(&p->cache);
    if (p->dir_open)
        close(p->dirfd);
    p->dir_open = 0;
}

int put_stage_scan(struct put_stage *p, struct ocfl_err *err)
{
    struct timespec now;
    int r = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    p->started_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    if (!p->rehash)
        r = put_cache_load(p->state_fd, p->id, &p->cache, err);
    if (r < 0)
        return r;
    p->dirfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p->dirfd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", p->dir);
    p->dir_open = 1;
    int fd = dup(p->dirfd);
    r = fd < 0 ? ocfl_err_sys(err, -errno, "cannot open '%s'", p->dir) : walk(p, fd, "", err);
    if (r >= 0 && p->n) /* an empty DIR has no array */
        qsort(p->e, p->n, sizeof(*p->e), cmp_entry);
    return r;
}

/* Take the digests of files unchanged since the last put from its cache (both lists are sorted
 * by path); list the entries that must be read in p->todo. */
static int use_cache(struct put_stage *p)
{
    size_t k = 0;

    p->todo = malloc((p->n ? p->n : 1) * sizeof(*p->todo));
    if (!p->todo)
        return -ENOMEM;
    for (size_t i = 0; i < p->n; i++) {
        struct put_entry *e = &p->e[i];
        int c = 1;
        while (p->cache.alg == p->alg && e->ino && k < p->cache.n &&
               (c = strcmp(p->cache.rec[k].path, e->logical_path)) < 0)
            k++;
        if (c == 0) {
            /* Known, and its content already in the object: nothing to read or store.  New
             * content must be copied, so the file is read (and hashed again) anyway. */
            if (put_cache_match(&p->cache, &p->cache.rec[k], e) && !is_new(p, e->digest)) {
                e->cached = 1;
                p->cached++;
                continue;
            }
        }
        p->todo[p->n_todo++] = i;
    }
    put_cache_release(&p->cache); /* the digests are copied: free its memory before staging */
    return 0;
}

int put_stage_read(struct put_stage *p, struct ocfl_err *err)
{
    int r = use_cache(p);

    if (r < 0)
        return ocfl_err_set(err, r, "cannot stage: out of memory");
    return stage_all(p, err);
}

int put_stage_save_cache(struct put_stage *p, struct ocfl_err *err)
{
    return put_cache_save(p->state_fd, p->id, p->alg, p->e, p->n,
                          p->started_ns - PUT_CACHE_SETTLE_NS, err);
}
