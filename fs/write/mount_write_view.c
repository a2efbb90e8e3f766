/* mount_write_view.c: the head view merged with staged changes: per-object state, attributes,
 * invalidation. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "path.h"
#include "mount_write.h"

struct mount_wobj *mw_wobj(struct mount_obj *mo)
{
    struct mount_wobj *w = mo->w;

    if (w)
        return w;
    w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    if (pthread_mutex_init(&w->gate_mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    if (pthread_cond_init(&w->gate_cv, NULL) != 0) {
        pthread_mutex_destroy(&w->gate_mu);
        free(w);
        return NULL;
    }
    if (pthread_cond_init(&w->moved_cv, NULL) != 0) {
        pthread_cond_destroy(&w->gate_cv);
        pthread_mutex_destroy(&w->gate_mu);
        free(w);
        return NULL;
    }
    mo->w = w;
    return w;
}

void mw_release_all(struct mount *m)
{
    mw_hash_shutdown(); /* its threads use the objects' state */
    mw_invalidations_wait();
    for (size_t i = 0; i < m->objs.n; i++) {
        struct mount_obj *mo = m->objs.all[i];
        if (!mo->w)
            continue;
        pthread_mutex_destroy(&mo->w->gate_mu);
        pthread_cond_destroy(&mo->w->gate_cv);
        pthread_cond_destroy(&mo->w->moved_cv);
        free(mo->w->last_result);
        free(mo->w);
        mo->w = NULL;
    }
}

void mw_gate_enter(struct mount_wobj *w)
{
    pthread_mutex_lock(&w->gate_mu);
    while (w->freezing)
        pthread_cond_wait(&w->gate_cv, &w->gate_mu);
    w->writers++;
    pthread_mutex_unlock(&w->gate_mu);
}

void mw_gate_leave(struct mount_wobj *w)
{
    pthread_mutex_lock(&w->gate_mu);
    if (--w->writers == 0)
        pthread_cond_broadcast(&w->gate_cv);
    pthread_mutex_unlock(&w->gate_mu);
}

void mw_gate_close(struct mount_wobj *w)
{
    pthread_mutex_lock(&w->gate_mu);
    while (w->freezing) /* another commit of the object is freezing */
        pthread_cond_wait(&w->gate_cv, &w->gate_mu);
    w->freezing = 1;
    while (w->writers)
        pthread_cond_wait(&w->gate_cv, &w->gate_mu);
    pthread_mutex_unlock(&w->gate_mu);
    /* what the idle hashers have not done yet is done now, at the committer's priority: the
     * commit then reads none of it again */
    mw_hash_finish(w);
}

void mw_gate_open(struct mount_wobj *w)
{
    pthread_mutex_lock(&w->gate_mu);
    w->freezing = 0;
    pthread_cond_broadcast(&w->gate_cv);
    pthread_mutex_unlock(&w->gate_mu);
}

int mw_stat_open_handle(struct mount *m, struct mount_node *n, struct stat *st)
{
    fuse_ino_t ino = n->ino;

    /* fstat(2) gives the file system no handle (the kernel asks by inode): the node's */
    for (struct mw_fh *fh = n->obj->w ? n->obj->w->fhs : NULL; fh; fh = fh->next) {
        if (fh->node != n || fh->fd < 0 || fstat(fh->fd, st) < 0 || !S_ISREG(st->st_mode))
            continue;
        st->st_ino = ino;
        st->st_mode = S_IFREG | (st->st_mode & 07777);
        st->st_nlink = 0; /* no name leads to it any more */
        return 0;
    }
    /* a reader of committed content: its bytes are the head's, which stay */
    if ((n->cached_opens || n->pt_opens) && mount_node_stat(m, n, st) == 0) {
        st->st_nlink = 0;
        return 0;
    }
    return -ENOENT;
}

int mw_frozen_scratch(const struct staging_entry *e)
{
    return e->staged && e->scratch[0] && !e->damaged[0] && !staging_entry_writable(e);
}

int mw_moving(const struct mount_obj *mo)
{
    return mo->w && mo->w->moving;
}

int mw_wait_moved(struct mount *m, struct mount_obj *mo)
{
    struct mount_wobj *w = mo->w;

    if (!w || !w->moving)
        return 0;
    while (w->moving)
        pthread_cond_wait(&w->moved_cv, &m->lock);
    return 1;
}

int mw_is_head(const struct mount_node *n)
{
    return n && n->obj && n->version == 0 &&
           (n->kind == MK_OBJ || n->kind == MK_DIR || n->kind == MK_FILE);
}

int mw_staged(const struct mount_obj *mo)
{
    return mo && (mo->staged_new || (mo->w && mo->w->staged));
}

/* The failures logged lately, so that a failure repeated (a write after a write into a full
 * disk) is logged once; one mount per process. */
static struct {
    uint64_t key;
    double at;
    unsigned repeats;
} seen[1024]; /* a copy of many files into a full disk keeps each one's line once */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

/* FNV-1a of the object, the path and the message, apart */
static uint64_t fail_key(const char *id, const char *path, const char *why)
{
    const char *part[3] = {id, path, why};
    uint64_t h = 1469598103934665603ull;

    for (int i = 0; i < 3; i++) {
        for (const char *s = part[i]; s && *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull;
    }
    return h;
}

/* 0: log it (*repeats: how many were not logged before it), 1: logged within the minute. */
static int seen_lately(uint64_t key, unsigned *repeats)
{
    double now = mount_now();
    size_t free_slot = 0, oldest = 0;
    int found = 0;

    pthread_mutex_lock(&seen_mu);
    for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
        if (seen[i].key == key && seen[i].at) {
            found = 1;
            if (now - seen[i].at < 60) {
                seen[i].repeats++;
                pthread_mutex_unlock(&seen_mu);
                return 1;
            }
            *repeats = seen[i].repeats;
            seen[i].at = now;
            seen[i].repeats = 0;
            break;
        }
        if (seen[i].at < seen[oldest].at)
            oldest = i;
        if (!seen[i].at)
            free_slot = i + 1;
    }
    if (!found) {
        size_t i = free_slot ? free_slot - 1 : oldest;
        *repeats = 0;
        seen[i].key = key;
        seen[i].at = now;
        seen[i].repeats = 0;
    }
    pthread_mutex_unlock(&seen_mu);
    return 0;
}

int mw_fail(struct mount *m, struct mount_obj *mo, const char *path, int rc,
            const struct ocfl_err *err)
{
    const char *id = mo ? mo->id : path, *why = err && err->msg[0] ? err->msg : strerror(-rc);
    unsigned repeats = 0;

    /* ordinary POSIX answers are not worth a log line */
    if (rc == -ENOENT || rc == -EEXIST || rc == -ENOTEMPTY || rc == -ENOTDIR || rc == -EISDIR ||
        rc == -EILSEQ || rc == -EINVAL || rc == -ENODATA || rc >= 0)
        return rc;
    char more[96] = "";

    if (seen_lately(fail_key(id, mo ? path : NULL, why), &repeats))
        return rc;
    if (repeats)
        snprintf(more, sizeof(more), " (%u more time%s since the last line about it)", repeats,
                 repeats == 1 ? "" : "s");
    if (mo && path && *path)
        mount_log(m, "object '%s', '%s': %s%s", id ? id : "-", path, why, more);
    else
        mount_log(m, "object '%s': %s%s", id ? id : "-", why, more);
    return rc;
}

int mw_inv(struct mount *m, struct mount_obj *mo, const struct ocfl_inventory **ret)
{
    struct ocfl_object *o = NULL;
    int rc;

    *ret = NULL;
    if (mo->staged_new)
        return 0;
    if ((rc = mount_obj_get(m, mo, &o)) < 0)
        return rc;
    /* changes staged from now on are made on this inventory: the staging index records it as
     * their base, and a commit after another tool's version is a conflict */
    if (mo->head_noted_gen != mo->gen) {
        struct ocfl_err err = {0};
        if ((rc = staging_note_head(m->journal, mo->id, o->inventory_digest, &err)) < 0)
            return mw_fail(m, mo, NULL, rc, &err);
        mo->head_noted_gen = mo->gen;
    }
    *ret = o->inv;
    return 0;
}

static struct timespec ns_time(int64_t ns)
{
    return (struct timespec){.tv_sec = (time_t)(ns / 1000000000),
                             .tv_nsec = (long)(ns % 1000000000)};
}

static int64_t ns_of(struct timespec ts)
{
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The permission bits of a staged entry: what was set (0 included), else the default. */
static mode_t perm_of(uint32_t mode, mode_t dflt)
{
    return (mode & STAGING_MODE_SET) || (mode & 07777) ? (mode_t)(mode & 07777) : dflt;
}

/* What nobody chmod'ed shows: 0755 and 0644, group-writable for -o commit_group's members. */
static mode_t default_perm(const struct mount *m, int dir)
{
    return dir ? (m->commit_group ? 0775 : 0755) : (m->commit_group ? 0664 : 0644);
}

static void fix_mode(const struct mount *m, struct stat *st, uint32_t mode)
{
    if (S_ISDIR(st->st_mode))
        st->st_mode = S_IFDIR | perm_of(mode, default_perm(m, 1));
    else
        st->st_mode = S_IFREG | perm_of(mode, default_perm(m, 0));
}

/* The owner: who made or chowned the entry, else the mounting user and the default group. */
static void fix_owner(const struct mount *m, struct stat *st, const struct staging_entry *e)
{
    st->st_uid = e && e->uid >= 0 ? (uid_t)e->uid : m->uid;
    st->st_gid = e && e->gid >= 0 ? (gid_t)e->gid : mw_default_gid(m);
}

void mw_base_stat(struct mount *m, struct mount_node *n, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = n->ino;
    st->st_uid = m->uid;
    st->st_gid = m->gid;
    st->st_blksize = 1 << 20;
}

/* Size of digest-backed content of @o, by stat beneath the object. */
static int digest_size(struct mount_obj *mo, const char *digest, uint64_t *ret)
{
    const char *cp;
    struct stat s;
    int fd;

    if (!mo->o || !(cp = ocfl_inventory_content_path(mo->o->inv, digest)))
        return -EIO;
    fd = ocfl_io_open(mo->o->fd, cp, O_PATH | O_CLOEXEC, 0);
    if (fd < 0)
        return -EIO;
    if (fstat(fd, &s) < 0 || !S_ISREG(s.st_mode)) {
        close(fd);
        return -EIO;
    }
    close(fd);
    *ret = (uint64_t)s.st_size;
    return 0;
}

/* A staged view's directory links: 2 and one per subdirectory (its ".."), as tools count them.
 * On a failure to list, the 1 that says "unknown" to find(1).  A listing per directory is
 * costly on a stat: the count stays on the node until a mkdir, rmdir, rename, commit,
 * discard or new head could change it. */
static nlink_t dir_links(struct mount *m, struct mount_node *n, const struct ocfl_inventory *inv)
{
    struct staging_dirent *de = NULL;
    uint64_t stamp = mw_view_stamp(n->obj) + (n->obj->w ? n->obj->w->dirops : 0) + 1;
    size_t nd = 0;
    nlink_t links = 2;

    if (n->links_stamp == stamp)
        return n->staged_links;
    if (staging_list(m->journal, n->obj->id, inv, n->path, &de, &nd, NULL) < 0)
        return 1;
    for (size_t i = 0; i < nd; i++)
        links += de[i].kind == STAGING_DIR;
    staging_dirents_free(de, nd);
    n->staged_links = (unsigned)links;
    n->links_stamp = stamp;
    return links;
}

/*
 * Whether the journal keeps modes or times for entries of @mo (a commit through this mount or
 * an earlier one, a chmod of its top): then a stat asks it, else the head's own attributes
 * need no query.  Learnt once per commit, discard and head.
 */
static int cmp_id(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int has_kept(struct mount *m, struct mount_obj *mo)
{
    struct mount_wobj *w = mo->w;
    uint64_t stamp = mw_view_stamp(mo) + 1;

    if (!m->kept_ids_loaded) {
        if (staging_kept_objects(m->journal, &m->kept_ids, &m->n_kept_ids, NULL) < 0)
            return 1; /* unknown: ask each time */
        m->kept_ids_loaded = 1;
    }
    /* never written in this mount: what was kept when it began */
    if (!w)
        return m->n_kept_ids &&
               bsearch(&mo->id, m->kept_ids, m->n_kept_ids, sizeof(char *), cmp_id) != NULL;
    if (w->kept_stamp != stamp) {
        w->kept = staging_kept_any(m->journal, mo->id, NULL) != 0;
        w->kept_stamp = stamp;
    }
    return w->kept;
}

/* A head entry nobody staged: the mode and the times kept for it, if any. */
static void apply_kept(const struct mount *m, struct stat *st, const struct staging_entry *e)
{
    fix_mode(m, st, e->mode);
    fix_owner(m, st, e);
    if (e->mtime_ns > 0)
        st->st_mtim = ns_time(e->mtime_ns);
    if (e->mtime_ns > 0 || e->atime_ns > 0)
        st->st_atim = e->atime_ns > 0 ? ns_time(e->atime_ns) : st->st_mtim;
    if (e->mtime_ns > 0 || e->ctime_ns > 0)
        st->st_ctim = e->ctime_ns > 0 ? ns_time(e->ctime_ns) : st->st_mtim;
}

static int head_stat(struct mount *m, struct mount_node *n, struct stat *st);

/* (mount_write.h) Per thread: the holder of m->lock is one thread. */
static _Thread_local struct {
    const struct mount_node *n;
    const struct mount_obj *obj;
    struct staging_entry e;
} memo;

void mw_stat_memo(const struct mount_node *n, const struct staging_entry *e)
{
    memo.n = e ? n : NULL;
    if (memo.n) {
        memo.obj = n->obj;
        memo.e = *e;
    }
}

int mw_stat(struct mount *m, struct mount_node *n, struct stat *st)
{
    int rc = head_stat(m, n, st);
    struct mount_wobj *w = n->obj->w;

    if (rc == 0 && n->kind == MK_OBJ && w) {
        w->top_known = 1;
        w->top_uid = st->st_uid;
        w->top_gid = st->st_gid;
        w->top_mode = st->st_mode;
    }
    return rc;
}

/* mw_stat without remembering the top's owner. */
static int head_stat(struct mount *m, struct mount_node *n, struct stat *st)
{
    struct mount_obj *mo = n->obj;
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    struct ocfl_err err = {0};
    struct timespec t = m->started, at = {0}, ct = {0};
    int rc;

    if (!mw_staged(mo)) {
        /* the head's own attributes and what is kept for them: no staging index involved
         * (a commit of another object may hold it for long) */
        struct staging_entry e = {.uid = -1, .gid = -1};
        struct ocfl_object *o = NULL;
        rc = mount_node_stat(m, n, st);
        if (rc == 0 && has_kept(m, mo) && mount_obj_get(m, mo, &o) == 0) {
            const struct ocfl_version *head = ocfl_inventory_head(o->inv);
            const struct ocfl_state_entry *se =
                n->kind == MK_FILE && head ? ocfl_version_lookup(head, n->path) : NULL;
            if (n->kind != MK_FILE || se)
                staging_kept_read(m->journal, mo->id, n->path, se ? se->digest : NULL, &e, NULL);
        }
        if (rc == 0)
            apply_kept(m, st, &e);
        return rc;
    }
    if ((rc = mw_inv(m, mo, &inv)) < 0)
        return rc;
    if (memo.n == n && memo.obj == mo) {
        e = memo.e; /* what the caller just looked up, in this locked section */
        memo.n = NULL;
    } else {
        rc = staging_lookup(m->journal, mo->id, inv, n->path, &e, &err);
        if (rc < 0)
            return mw_fail(m, mo, n->path, rc, &err);
    }
    if (e.kind == STAGING_NONE || (e.kind == STAGING_FILE) != (n->kind == MK_FILE))
        return -ENOENT;
    if (!e.staged && inv) {
        rc = mount_node_stat(m, n, st);
        if (rc != -ENOENT) {
            if (rc == 0)
                apply_kept(m, st, &e);
            /* staged changes below a committed directory may add or remove subdirectories */
            if (rc == 0 && S_ISDIR(st->st_mode))
                st->st_nlink = dir_links(m, n, inv);
            return rc;
        }
    }
    mw_base_stat(m, n, st);
    fix_owner(m, st, &e);
    if (e.mtime_ns > 0) {
        t.tv_sec = (time_t)(e.mtime_ns / 1000000000);
        t.tv_nsec = (long)(e.mtime_ns % 1000000000);
    }
    if (e.kind == STAGING_DIR) {
        st->st_mode = S_IFDIR | perm_of(e.mode, default_perm(m, 1));
        st->st_nlink = dir_links(m, n, inv);
        st->st_size = 4096;
        st->st_blocks = 8;
    } else {
        uint64_t size = 0;
        int64_t blocks = -1; /* what the scratch file really holds (sparse files), else -1 */
        st->st_mode = S_IFREG | perm_of(e.mode, default_perm(m, 0));
        st->st_nlink = 1;
        if (e.scratch[0] && e.damaged[0]) {
            size = e.size > 0 ? (uint64_t)e.size : 0; /* as recorded: its data is gone */
        } else if (e.scratch[0]) {
            struct stat s;
            if (fstatat(journal_state_fd(m->journal), e.scratch, &s, AT_SYMLINK_NOFOLLOW) < 0 &&
                errno == ENOENT && mw_frozen_scratch(&e) && e.size >= 0) {
                /* moved into the object by the running commit: frozen bytes never change,
                 * and the freeze recorded their size */
                s.st_size = (off_t)e.size;
                s.st_blocks = (blkcnt_t)((e.size + 511) / 512);
                s.st_mtim = s.st_atim = s.st_ctim = t;
            } else if (fstatat(journal_state_fd(m->journal), e.scratch, &s, AT_SYMLINK_NOFOLLOW) <
                       0) {
                mount_log(m, "object '%s': scratch '%s' of '%s': %s", mo->id, e.scratch, n->path,
                          strerror(errno));
                return -EIO;
            }
            size = (uint64_t)s.st_size;
            blocks = (int64_t)s.st_blocks;
            t = s.st_mtim; /* writes and utimens keep it */
            at = s.st_atim;
            ct = s.st_ctim; /* writes, truncates and utimens move it; the row has the rest */
        } else if (e.size >= 0) {
            size = (uint64_t)e.size;
        } else if ((rc = digest_size(mo, e.digest, &size)) < 0) {
            mount_log(m, "object '%s': content of '%s' cannot be found", mo->id, n->path);
            return rc;
        }
        st->st_size = (off_t)size;
        st->st_blocks = blocks >= 0 ? (blkcnt_t)blocks : (blkcnt_t)((size + 511) / 512);
    }
    st->st_mtim = t;
    st->st_atim = e.atime_ns > 0 && !e.scratch[0] ? ns_time(e.atime_ns) : at.tv_sec ? at : t;
    /* the later of the row's change (chmod, rename) and the scratch file's (writes) */
    st->st_ctim = e.ctime_ns > 0 && e.ctime_ns > ns_of(ct.tv_sec ? ct : t) ? ns_time(e.ctime_ns)
                  : ct.tv_sec                                              ? ct
                                                                           : t;
    return 0;
}

/* One kernel invalidation to send once the lock is released. */
struct inval {
    uint64_t parent, ino;
    char *name; /* NULL: inode only */
};

void mw_invalidate_object(struct mount *m, struct mount_obj *mo)
{
    struct inval *iv = NULL;
    size_t n = 0, alloc = 0;

    if (!m->session)
        return;
    pthread_mutex_lock(&m->lock);
    for (struct mount_node *c = mount_nodes_next(&m->nodes, NULL); c;
         c = mount_nodes_next(&m->nodes, c)) {
        struct mount_node *p = NULL;
        const char *slash, *name;
        if (c->obj != mo || !mw_is_head(c))
            continue;
        if (c->kind == MK_OBJ && !c->nlookup)
            continue;
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 64;
            struct inval *t = realloc(iv, na * sizeof(*iv));
            if (!t)
                break;
            iv = t;
            alloc = na;
        }
        if (c->kind == MK_OBJ) { /* its listing; its name in the root stays */
            iv[n].ino = c->ino;
            iv[n].parent = 0;
            iv[n].name = NULL;
            n++;
            continue;
        }
        slash = strrchr(c->path, '/');
        name = slash ? slash + 1 : c->path;
        if (slash) {
            char *dir = strndup(c->path, (size_t)(slash - c->path));
            /* no node: the kernel has no entry below that directory */
            if (dir)
                p = mount_node_find(&m->nodes, MK_DIR, mo, 0, dir);
            free(dir);
        } else {
            p = mount_node_find(&m->nodes, MK_OBJ, mo, 0, "");
        }
        iv[n].ino = c->nlookup ? c->ino : 0;
        iv[n].parent = p ? p->ino : 0;
        iv[n].name = p ? strdup(name) : NULL;
        n++;
    }
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < n; i++) {
        if (iv[i].ino)
            fuse_lowlevel_notify_inval_inode(m->session, iv[i].ino, 0, 0);
        if (iv[i].name)
            fuse_lowlevel_notify_inval_entry(m->session, iv[i].parent, iv[i].name,
                                             strlen(iv[i].name));
        free(iv[i].name);
    }
    free(iv);
}

uint64_t mw_view_stamp(const struct mount_obj *mo)
{
    /* both only grow, so their sum changes whenever one does */
    return mo->head_gen + (mo->w ? mo->w->epoch : 0);
}

uint64_t mw_source_stamp(const struct mount_obj *mo)
{
    return mw_view_stamp(mo) + (mo->w ? mo->w->copyups : 0);
}

/* Invalidation threads still running (mw_invalidations_wait). */
static _Atomic unsigned inval_running;

struct inval_job {
    struct mount *m;
    struct mount_obj *mo;
};

static void *inval_thread(void *arg)
{
    struct inval_job *job = arg;

    mw_invalidate_object(job->m, job->mo);
    free(job);
    inval_running--;
    return NULL;
}

void mw_invalidate_object_async(struct mount *m, struct mount_obj *mo)
{
    struct inval_job *job;
    pthread_attr_t attr;
    pthread_t t;

    if (!m->session || !(job = malloc(sizeof(*job))))
        return;
    job->m = m;
    job->mo = mo;
    inval_running++;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, inval_thread, job) != 0) {
        inval_running--;
        free(job);
    }
    pthread_attr_destroy(&attr);
}

void mw_invalidations_wait(void)
{
    while (inval_running) {
        struct timespec ts = {.tv_nsec = 1000000L};
        nanosleep(&ts, NULL);
    }
}

int mw_check_view(struct mount *m, struct mount_obj *mo)
{
    uint64_t stamp;

    (void)m;
    if (!mo)
        return 0;
    stamp = mw_view_stamp(mo);
    if (mo->inval_stamp == stamp)
        return 0;
    mo->inval_stamp = stamp;
    return 1;
}

gid_t mw_default_gid(const struct mount *m)
{
    return m->commit_group ? m->commit_gid : m->gid;
}

int64_t mw_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int mw_path_fits(const char *path, const char *name)
{
    /* the logical path below the object: what one call can name below a directory */
    if (strlen(name) > MOUNT_NAME_MAX || strlen(path) > OCFL_PATH_MAX_BYTES)
        return -ENAMETOOLONG;
    return 0;
}
