/* cmd_put.c: `ocflfs put`: stage a directory tree (hash + copy in one pass), plan, journal, run. */
/*
 * DIR's tree becomes the object's next version: files not in DIR leave the
 * state.  Every file is read once: hashed and, unless its content is already
 * in the object, copied into STATE/scratch/put-PID-NS/ in the same pass (by
 * one worker per core).  Then the plan is built, journaled and run; staged
 * files are moved into the version by rename.
 *
 * When DIR equals the head state there is nothing to commit: no version is
 * written, "nothing to commit" is printed and the exit status is 0 (a script
 * that puts the same tree twice has not failed; `ocflfs log` shows nothing new).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"
#include "digest.h"
#include "io.h"
#include "journal.h"
#include "object.h"
#include "path.h"
#include "plan.h"
#include "root.h"

static const char synopsis[] = "put ROOT ID DIR -m MSG [--user NAME --address URI] [--state DIR]";

#define CHUNK      (4u << 20) /* read size of big files */
#define SMALL_FILE (1u << 20) /* files up to this size are read whole before staging */

struct entry {
    char *logical_path;
    char digest[OCFL_DIGEST_HEX_MAX];
    char *source; /* relative to the state dir; NULL when not staged */
    uint64_t size;
};

struct put {
    const char *dir;
    const struct ocfl_inventory *base;
    enum ocfl_digest_alg alg;
    int state_fd;
    int dirfd;   /* DIR */
    char *stage; /* "scratch/put-..." */
    struct entry *e;
    size_t n, alloc;
    size_t staged, staged_small;
    uint64_t bytes; /* atomic */
    struct cli_progress prog;
    /* staging workers */
    size_t next; /* next entry to stage (atomic) */
    int failed;  /* a worker failed: stop (atomic) */
};

/* One staging worker: its own hasher, buffer and scratch subdirectory (so
 * that file creations do not queue on one directory's lock). */
struct stager {
    struct put *p;
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
static int is_new(struct put *p, const char *hex)
{
    return !(p->base && ocfl_inventory_manifest_lookup(p->base, hex));
}

/*
 * A big file in a pipeline of two threads: a helper reads each chunk and
 * writes it to the stage (starting writeback as it goes) while this thread
 * hashes the same buffer, so hashing overlaps the copy on another core.
 * The bytes staged are the bytes hashed.
 */
#define PIPE_BUFS 4
#define PIPE_MIN  (64u << 20) /* files from this size on */

struct pipeline {
    int in, out;
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
            n = read(q->in, b, CHUNK);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            e = -errno;
        q->len[k % PIPE_BUFS] = n < 0 ? 0 : n;
        pipe_post(q, &q->filled, k + 1, &q->rerr, e);
        if (n <= 0)
            return NULL;
        e = write_all(q->out, b, (size_t)n);
        if (e < 0) {
            pipe_post(q, NULL, 0, &q->werr, e);
            return NULL;
        }
        sync_file_range(q->out, (off_t)off, n, SYNC_FILE_RANGE_WRITE);
        off += (uint64_t)n;
    }
}

/* Hash and stage @in to @out in the pipeline; *ret_total gets the size.  0 or -errno
 * (*ret_write tells whether writing failed rather than reading). */
static int pipe_file(struct stager *w, int in, int out, uint64_t *ret_total, int *ret_write)
{
    struct pipeline q = {.in = in, .out = out};
    pthread_t th;
    uint64_t total = 0;
    int r = 0, k;

    *ret_write = 0;
    for (k = 0; k < PIPE_BUFS; k++)
        if (!(q.buf[k] = malloc(CHUNK)))
            break;
    if (k < PIPE_BUFS || pthread_mutex_init(&q.mu, NULL)) {
        while (k--)
            free(q.buf[k]);
        return -ENOMEM;
    }
    pthread_cond_init(&q.cv, NULL);
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
        ocfl_hasher_update(w->h, q.buf[i % PIPE_BUFS], (size_t)n);
        total += (uint64_t)n;
        uint64_t done = __atomic_add_fetch(&w->p->bytes, (uint64_t)n, __ATOMIC_RELAXED);
        if (w->num == 0)
            cli_progress_update(&w->p->prog, "put: reading", done, 0);
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

/* Hash the file on @fd and copy it to the stage in the same pass. */
static int stage_file(struct stager *w, int fd, const char *shown, struct entry *e, size_t idx,
                      struct ocfl_err *err)
{
    struct put *p = w->p;
    char name[64];
    int out = -1, r = 0;
    uint64_t total = 0;
    int small = e->size <= SMALL_FILE;

    ocfl_hasher_reset(w->h);
    snprintf(name, sizeof(name), "%zu", idx);
    if (e->size >= PIPE_MIN) {
        char path[700];
        int wr;
        snprintf(path, sizeof(path), "%s/%s", w->dir, name);
        out = openat(p->state_fd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0) {
            r = ocfl_err_sys(err, -errno, "cannot stage '%s'", shown);
            goto out;
        }
        r = pipe_file(w, fd, out, &total, &wr);
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
        if (w->num == 0)
            cli_progress_update(&p->prog, "put: reading", done, 0);
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
    /* A big file is flushed by itself; small ones by one syncfs at the end
     * (a syncfs would also flush whatever else is dirty on the filesystem). */
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

static int walk(struct put *p, int fd0, const char *rel, struct ocfl_err *err)
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
        if (asprintf(&lp, "%s%s%s", rel, *rel ? "/" : "", de->d_name) < 0)
            return -ENOMEM;
        if (!ocfl_utf8_valid(de->d_name, strlen(de->d_name))) {
            r = ocfl_err_set(err, -EINVAL, "'%s/%s': file name is not UTF-8", p->dir, lp);
        } else if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
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
                struct entry *t = realloc(p->e, na * sizeof(*t));
                if (!t) {
                    free(lp);
                    r = -ENOMEM;
                    break;
                }
                p->e = t;
                p->alloc = na;
            }
            struct entry *e = &p->e[p->n];
            memset(e, 0, sizeof(*e));
            e->size = (uint64_t)st.st_size;
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
    return strcmp(((const struct entry *)a)->logical_path, ((const struct entry *)b)->logical_path);
}

static void *stage_worker(void *arg)
{
    struct stager *w = arg;
    struct put *p = w->p;
    char shown[4096];

    for (;;) {
        size_t i = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (i >= p->n || __atomic_load_n(&p->failed, __ATOMIC_RELAXED))
            return NULL;
        snprintf(shown, sizeof(shown), "%s/%s", p->dir, p->e[i].logical_path);
        int fd = ocfl_io_open(p->dirfd, p->e[i].logical_path, O_RDONLY | O_CLOEXEC, 0);
        w->r = fd < 0 ? ocfl_err_sys(&w->err, fd, "cannot open '%s'", shown)
                      : stage_file(w, fd, shown, &p->e[i], i, &w->err);
        if (fd >= 0)
            close(fd);
        if (w->r < 0) {
            __atomic_store_n(&p->failed, 1, __ATOMIC_RELAXED);
            return NULL;
        }
    }
}

/* Hash and stage every file, on a few threads. */
static int stage_all(struct put *p, struct ocfl_err *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int nw = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores, started = 0, r = 0;
    struct stager *w = calloc((size_t)nw, sizeof(*w));
    pthread_t *th = calloc((size_t)nw, sizeof(*th));

    if ((size_t)nw > p->n / 64 + 1)
        nw = (int)(p->n / 64 + 1);
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
    /* The entries of flushed big files: fsync each worker's directory. */
    for (int k = 0; r == 0 && w && k < nw && !p->staged_small; k++)
        r = ocfl_io_fsync_dir(p->state_fd, w[k].dir, err);
    if (r == -ENOMEM && (!err || !err->code))
        ocfl_err_set(err, r, "cannot stage: out of memory");
    free(w);
    free(th);
    return r;
}

static void put_release(struct put *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->e[i].logical_path);
        free(p->e[i].source);
    }
    free(p->e);
    free(p->stage);
}

static void on_progress(void *ctx, int64_t id, uint64_t done, uint64_t total)
{
    (void)id;
    cli_progress_update(ctx, "put: writing", done, total);
}

/* RFC 3339 "now" in UTC, or $OCFLFS_TEST_CREATED (tests fix the timestamp). */
static void created_now(char *buf, size_t size)
{
    const char *fixed = getenv("OCFLFS_TEST_CREATED");
    time_t t = time(NULL);
    struct tm tm;

    if (fixed && *fixed) {
        snprintf(buf, size, "%s", fixed);
        return;
    }
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct put_args {
    const char *root, *id, *dir, *message, *user, *address, *state;
};

static int parse(int argc, char **argv, struct put_args *a)
{
    static const struct option longopts[] = {
        {"message", required_argument, NULL, 'm'}, {"user", required_argument, NULL, 'u'},
        {"address", required_argument, NULL, 'a'}, {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            a->message = optarg;
            break;
        case 'u':
            a->user = optarg;
            break;
        case 'a':
            a->address = optarg;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return -1;
        default:
            return cli_usage(synopsis, "put: bad option");
        }
    }
    if (argc - optind != 3)
        return cli_usage(synopsis, "put: expected ROOT ID DIR");
    if (!a->message)
        return cli_usage(synopsis, "put: a message is required (-m MSG)");
    if (a->address && !a->user)
        return cli_usage(synopsis, "put: --address needs --user");
    a->root = argv[optind];
    a->id = argv[optind + 1];
    a->dir = argv[optind + 2];
    return 0;
}

/* Open the journal of ROOT (the state dir given, or ROOT/extensions/ocflfs). */
static int put_open_journal(const char *root, const char *state, unsigned flags,
                            struct journal **ret, struct ocfl_err *err)
{
    struct journal_options o = {.flags = flags, .root = root}; /* one writer per root */
    char *dflt = NULL;
    int r;

    if (!state) {
        if (asprintf(&dflt, "%s/extensions/ocflfs", root) < 0)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        state = dflt;
    }
    r = journal_open(state, &o, ret, err);
    free(dflt);
    return r;
}

static int refuse_unfinished(struct journal *j, const char *id, struct ocfl_err *err)
{
    struct journal_plan_info *v;
    size_t n;
    int r = journal_plans_list(j, 0, &v, &n, err);

    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(v[i].object_id, id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has an unfinished plan %lld; run 'ocflfs resume' or "
                             "'ocflfs cancel' first",
                             id, (long long)v[i].id);
    if (r >= 0)
        journal_plan_infos_free(v, n);
    return r;
}

/* The object where the layout puts @id, opened, when it is @id's: 1, or 0
 * (anything else: then the caller searches the slow way, which also reports
 * damage).  Saves reading the inventory twice (to find, then to open). */
static int open_by_layout(struct ocfl_root *root, const char *id, char **ret_path,
                          struct ocfl_object **ret_obj)
{
    char *mapped = NULL;

    if (!root->layout || ocfl_layout_map(root->layout, id, &mapped, NULL) < 0)
        return 0;
    if (ocfl_object_open(root->fd, mapped, ret_obj, NULL) >= 0) {
        if (!strcmp((*ret_obj)->inv->id, id)) {
            *ret_path = mapped;
            return 1;
        }
        ocfl_object_close(*ret_obj);
        *ret_obj = NULL;
    }
    free(mapped);
    return 0;
}

static int do_put(struct put_args *a, struct ocfl_err *err)
{
    struct ocfl_root *root = NULL;
    struct ocfl_object *obj = NULL;
    struct journal *j = NULL;
    struct ocfl_plan *plan = NULL;
    struct ocfl_plan_file *files = NULL;
    struct put p = {.dir = a->dir};
    char *opath = NULL, created[64];
    int64_t id;
    int r, dfd;

    cli_progress_init(&p.prog);
    r = ocfl_root_open(a->root, &root, err);
    if (r < 0)
        goto out;
    r = put_open_journal(a->root, a->state, 0, &j, err);
    if (r < 0)
        goto out;
    r = refuse_unfinished(j, a->id, err);
    if (r >= 0)
        r = journal_scratch_gc(j, "put-", err);
    if (r < 0)
        goto out;
    r = open_by_layout(root, a->id, &opath, &obj);
    if (r > 0)
        p.base = obj->inv;
    else
        r = ocfl_root_find_object(root, a->id, &opath, err);
    if (r > 0) {
        r = 0;
    } else if (r == -ENOENT) {
        ocfl_err_clear(err);
        r = ocfl_root_object_path(root, a->id, &opath, err);
    } else if (r >= 0) {
        r = ocfl_object_open(root->fd, opath, &obj, err);
        if (r >= 0)
            p.base = obj->inv;
    }
    if (r >= 0 && obj) /* no new version over missing or symlinked content */
        r = ocfl_object_check_content(obj, err);
    if (r < 0)
        goto out;
    p.alg = ocfl_digest_alg_from_name(
        obj ? obj->inv->digest_algorithm
            : (root->digest_algorithm ? root->digest_algorithm : "sha512"));
    p.state_fd = journal_state_fd(j);
    if (asprintf(&p.stage, "scratch/put-%ld-%lld", (long)getpid(), (long long)journal_now_ns(j)) <
        0) {
        p.stage = NULL;
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (mkdirat(p.state_fd, p.stage, 0755) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot create '%s/%s'", journal_state_dir(j), p.stage);
        goto out;
    }
    dfd = open(a->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    r = dfd < 0 ? ocfl_err_sys(err, -errno, "cannot open '%s'", a->dir)
                : walk(&p, dup(dfd), "", err);
    p.dirfd = dfd;
    if (r >= 0) {
        qsort(p.e, p.n, sizeof(*p.e), cmp_entry);
        r = stage_all(&p, err);
    }
    if (dfd >= 0)
        close(dfd);
    /* One flush makes every staged file durable before the plan refers to it. */
    if (r >= 0 && p.staged_small && syncfs(p.state_fd) < 0)
        r = ocfl_err_sys(err, -errno, "cannot flush '%s'", journal_state_dir(j));
    else if (r >= 0)
        r = ocfl_io_fsync_dir(p.state_fd, p.stage, err);
    if (r < 0)
        goto unstage;

    files = calloc(p.n ? p.n : 1, sizeof(*files));
    if (!files) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto unstage;
    }
    for (size_t i = 0; i < p.n; i++) {
        files[i].logical_path = p.e[i].logical_path;
        files[i].digest = p.e[i].digest;
        files[i].source = p.e[i].source;
        files[i].size = p.e[i].size;
    }
    created_now(created, sizeof(created));
    struct ocfl_plan_input in = {
        .base = p.base,
        .base_digest = obj ? obj->inventory_digest : NULL,
        .id = a->id,
        .digest_algorithm = ocfl_digest_alg_name(p.alg),
        .spec = obj ? OCFL_SPEC_UNKNOWN : (root->spec ? root->spec : OCFL_SPEC_1_1),
        .files = files,
        .n_files = p.n,
        .created = created,
        .message = a->message,
        .user_name = a->user,
        .user_address = a->address,
        .release_dir = p.stage,
    };
    r = ocfl_plan_build(&in, &plan, err);
    if (r < 0)
        goto unstage;
    if (ocfl_plan_is_empty(plan)) {
        printf("nothing to commit: '%s' at %s already has this content\n", a->id, obj->inv->head);
        goto unstage;
    }
    r = journal_plan_add(j, plan, opath, &id, err);
    if (r < 0)
        goto unstage;
    r = journal_plan_run(j, root, id, on_progress, &p.prog, err);
    cli_progress_done(&p.prog);
    if (r >= 0)
        printf("%s: %s written (plan %lld; %zu added, %zu modified, %zu removed)\n", a->id,
               plan->version_name, (long long)id, plan->n_added, plan->n_modified, plan->n_removed);
    goto out;
unstage:
    cli_progress_done(&p.prog);
    if (p.stage)
        ocfl_io_remove_tree(p.state_fd, p.stage, NULL);
out:
    free(files);
    ocfl_plan_free(plan);
    put_release(&p);
    free(opath);
    ocfl_object_close(obj);
    journal_close(j);
    ocfl_root_close(root);
    return r;
}

int cmd_put(int argc, char **argv)
{
    struct put_args a = {0};
    struct ocfl_err err = {0};
    int r = parse(argc, argv, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    r = do_put(&a, &err);
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}
