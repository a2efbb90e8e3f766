/* mount_write_follow.c: where the bytes of an open head file are: copy-up into scratch, and
 * readers and writers following their path across copy-ups, commits, discards and unlinks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount_write.h"

/* Room for one more retired descriptor (fh_switch_fd), taken before anything is changed. */
static int fh_reserve(struct mw_fh *fh)
{
    if (fh->n_retired < fh->cap_retired)
        return 0;
    size_t cap = fh->cap_retired ? fh->cap_retired * 2 : 2;
    int *t = realloc(fh->retired, cap * sizeof(*t));
    if (!t)
        return -ENOMEM;
    fh->retired = t;
    fh->cap_retired = cap;
    return 0;
}

/* Replace @fh's descriptor by @fd, after fh_reserve.  The old one stays open until the handle
 * is released: a read in another thread may still be using it.  Lock held. */
static void fh_switch_fd(struct mw_fh *fh, int fd)
{
    fh->retired[fh->n_retired++] = fh->fd;
    __atomic_store_n(&fh->fd, fd, __ATOMIC_RELEASE);
}

/* A descriptor on the current bytes of @e (scratch or committed content).  Lock held. */
static int open_source(struct mount *m, struct mount_obj *mo, const struct staging_entry *e)
{
    const char *cp;
    int fd;

    if (e->scratch[0]) {
        fd = openat(journal_state_fd(m->journal), e->scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        return fd < 0 ? -errno : fd;
    }
    if (!mo->o || !(cp = ocfl_inventory_content_path(mo->o->inv, e->digest)))
        return -EIO;
    fd = ocfl_object_open_content(mo->o, cp, NULL);
    return fd < 0 ? -EIO : fd;
}

/*
 * A descriptor on the bytes head file @path of @mo shows now: its staged file, or its committed
 * content.  While a commit moves the frozen file it waits (m->lock released meanwhile), then
 * looks again.  Lock held.
 */
int mw_reader_fd(struct mount *m, struct mount_obj *mo, const char *path, int *ret_fd)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e = {0};
    struct ocfl_err err = {0};
    char *held = NULL; /* @path may be a node's, which a rename replaces while we wait */
    int rc;

    if (!mw_staged(mo)) { /* the head's bytes: no need to ask the staging index */
        struct ocfl_object *o;
        const struct ocfl_version *v;
        const struct ocfl_state_entry *se = NULL;
        if ((rc = mount_obj_get(m, mo, &o)) < 0)
            return rc;
        v = ocfl_inventory_version(o->inv, (unsigned)o->inv->n_versions);
        if (!v || mount_tree_classify(v, path, &se) != 1)
            return -ENOENT;
        e.kind = STAGING_FILE;
        snprintf(e.digest, sizeof(e.digest), "%s", se->digest);
    } else {
        for (;;) {
            rc = mw_inv(m, mo, &inv);
            if (rc == 0)
                rc = staging_lookup(m->journal, mo->id, inv, path, &e, &err);
            if (rc < 0 || !mw_frozen_scratch(&e) || !mw_moving(mo))
                break;
            if (!held && !(path = held = strdup(path))) {
                rc = -ENOMEM;
                break;
            }
            mw_wait_moved(m, mo);
        }
        if (rc < 0)
            rc = mw_fail(m, mo, path, rc, &err);
        else if (e.kind != STAGING_FILE)
            rc = e.kind == STAGING_DIR ? -EISDIR : -ENOENT;
        else if (e.damaged[0]) {
            ocfl_err_set(&err, -EIO, "'%s' is damaged: %s; rewrite it (O_TRUNC) or remove it", path,
                         e.damaged);
            rc = mw_fail(m, mo, path, -EIO, &err);
        }
        if (rc < 0) {
            free(held);
            return rc;
        }
    }
    rc = open_source(m, mo, &e);
    if (rc < 0)
        mount_log(m, "object '%s': cannot open the bytes of '%s' (%s)", mo->id, path,
                  e.scratch[0] ? e.scratch : e.digest);
    free(held);
    if (rc < 0)
        return rc;
    *ret_fd = rc;
    return 0;
}

/* Whether descriptors @a and @b are open on the same file. */
static int same_file(int a, int b)
{
    struct stat sa, sb;

    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

/*
 * Before a read through reader @fh: when the file behind its path may have changed since it
 * chose its descriptor (a writer copied the path up, a commit or discard ran, the head moved),
 * take the path's current bytes.  An unlinked or replaced path (fh->path NULL) keeps what it
 * had, as POSIX keeps an unlinked file for its open descriptors.  Lock not held.
 */
static void reader_follow_locked(struct mount *m, struct mw_fh *fh)
{
    int fd = -1;

    if (fh->path && fh->seen != mw_source_stamp(fh->mo)) {
        int rc = mw_reader_fd(m, fh->mo, fh->path, &fd);
        /* reader_fd looked last with the lock held until now: the stamp is the one it saw */
        uint64_t stamp = mw_source_stamp(fh->mo);
        if (rc == 0 && !same_file(fd, fh->fd) && fh_reserve(fh) == 0) {
            fh_switch_fd(fh, fd);
            fd = -1;
        }
        if (rc == 0 || rc == -ENOENT) /* gone by a discard: what it had is all there is */
            fh->seen = stamp;
    }
    if (fd >= 0)
        close(fd);
}

void mw_reader_follow(struct mount *m, struct mw_fh *fh)
{
    pthread_mutex_lock(&m->lock);
    reader_follow_locked(m, fh);
    pthread_mutex_unlock(&m->lock);
}

/* Whether @fh's path is @path (of length @len) or below it. */
static int on_path(const struct mw_fh *fh, const char *path, size_t len)
{
    return fh->path && !strncmp(fh->path, path, len) && (!fh->path[len] || fh->path[len] == '/');
}

int mw_before_unlink(struct mount *m, struct mount_obj *mo, const char *path, int *ret_frozen,
                     int *ret_fd)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    size_t len = strlen(path);
    int rc, any = 0;

    *ret_frozen = 0;
    *ret_fd = -1;
    for (struct mw_fh *fh = mo->w ? mo->w->fhs : NULL; fh && !any; fh = fh->next)
        any = on_path(fh, path, len);
    if (!any)
        return 0;
    /* the path's bytes may be the frozen file a commit is moving: let it finish */
    if (mw_wait_moved(m, mo))
        return 1;
    if ((rc = mw_inv(m, mo, &inv)) < 0 ||
        (rc = staging_lookup(m->journal, mo->id, inv, path, &e, NULL)) < 0)
        return rc;
    if (e.kind != STAGING_FILE)
        return 0;
    /* no writer may write a frozen or committed file: the first write copies it */
    *ret_frozen = !staging_entry_writable(&e);
    /* what every handle of the path shares after the unlink (nothing moves: no wait) */
    if (mw_reader_fd(m, mo, path, ret_fd) < 0)
        *ret_fd = -1;
    return 0;
}

/* Whether writer @fh is from before the last commit or discard of its object. */
static int stale(const struct mw_fh *fh)
{
    return fh->writable && fh->epoch != fh->mo->w->epoch;
}

/* Give @fh (lock held) a duplicate of @fd unless it is on that file already. */
static void share_fd(struct mw_fh *fh, int fd)
{
    int dup;

    if (fd < 0 || fh->fd < 0 || same_file(fh->fd, fd) || fh_reserve(fh) < 0)
        return;
    if ((dup = fcntl(fd, F_DUPFD_CLOEXEC, 0)) >= 0)
        fh_switch_fd(fh, dup);
}

void mw_orphan(struct mount_obj *mo, const char *path, int frozen, int fd)
{
    size_t len = strlen(path);
    struct mw_fh *live = NULL;
    uint64_t id;

    if (!mo->w) {
        if (fd >= 0)
            close(fd);
        return;
    }
    id = ++mo->w->unlinks;
    for (struct mw_fh *fh = mo->w->fhs; fh && !live; fh = fh->next)
        if (on_path(fh, path, len) && fh->writable && !frozen && !stale(fh) && fh->fd >= 0)
            live = fh; /* writes the path's writable file: the others join it */
    for (struct mw_fh *fh = mo->w->fhs; fh; fh = fh->next) {
        if (!on_path(fh, path, len))
            continue;
        free(fh->path);
        fh->path = NULL;
        fh->orphaned_by = id;
        /* a writer from before a commit holds a frozen or committed file: it must not write it */
        fh->frozen_orphan = frozen || stale(fh);
        /* Readers and stale writers may hold older bytes than the path had: from now on they
         * all read what it had, one file.  (A stale writer has no write in flight: its next
         * one revalidates first, under m->lock, and copies before writing.) */
        if (fh != live && (!fh->writable || fh->frozen_orphan))
            share_fd(fh, live ? live->fd : fd);
    }
    if (fd >= 0)
        close(fd);
}

void mw_orphan_writers(struct mount_obj *mo)
{
    for (struct mw_fh *fh = mo->w ? mo->w->fhs : NULL; fh; fh = fh->next) {
        char *p = fh->path;
        uint64_t id;
        if (!fh->writable || !p)
            continue;
        id = ++mo->w->unlinks;
        for (struct mw_fh *g = fh; g; g = g->next) {
            if (!g->writable || !g->path || (g != fh && strcmp(g->path, p)))
                continue;
            g->orphaned_by = id;
            g->frozen_orphan = stale(g);
            if (g != fh) {
                free(g->path);
                g->path = NULL;
            }
        }
        free(p);
        fh->path = NULL;
    }
}

static int make_writable_found(struct mount *m, struct mount_obj *mo,
                               const struct ocfl_inventory *inv, const char *path, int64_t trunc,
                               int from_fd, int *ret_fd, struct staging_entry *ret);

/*
 * Make @path writable in the current generation: its scratch file, or a
 * copy-up.  *ret_fd gets an O_RDWR descriptor; @trunc < 0 keeps the bytes.
 * With @from_fd >= 0 the copy is made from it (a handle whose scratch was
 * frozen or committed).  Lock held.
 */
int mw_make_writable(struct mount *m, struct mount_obj *mo, const char *path, int64_t trunc,
                     int from_fd, int *ret_fd, struct staging_entry *ret)
{
    const struct ocfl_inventory *inv = NULL;
    struct ocfl_err err = {0};
    int rc;

    char *held = NULL; /* @path may be a node's, which a rename replaces while we wait */
    int tries = 0;

again:
    for (;;) {
        if ((rc = mw_inv(m, mo, &inv)) < 0)
            break;
        rc = staging_lookup(m->journal, mo->id, inv, path, ret, &err);
        if (rc < 0) {
            rc = mw_fail(m, mo, path, rc, &err);
            break;
        }
        /* a frozen file a running commit may be moving: wait for it to end, look again */
        if (from_fd >= 0 || !mw_frozen_scratch(ret) || !mw_moving(mo))
            break;
        if (!held && !(path = held = strdup(path))) {
            rc = -ENOMEM;
            break;
        }
        mw_wait_moved(m, mo);
    }
    if (rc == 0)
        rc = make_writable_found(m, mo, inv, path, trunc, from_fd, ret_fd, ret);
    /* A commit freezes the generation without m->lock: between the lookup and the truncate of
     * a writable file, it may have become the frozen one (EROFS).  Then look again: the next
     * generation copies it up. */
    if (rc == -EROFS && tries++ < 3)
        goto again;
    free(held);
    return rc;
}

/* The rest of mw_make_writable, once @ret is @path's entry. */
static int make_writable_found(struct mount *m, struct mount_obj *mo,
                               const struct ocfl_inventory *inv, const char *path, int64_t trunc,
                               int from_fd, int *ret_fd, struct staging_entry *ret)
{
    struct ocfl_err err = {0};
    int rc, src;

    if (ret->kind == STAGING_NONE)
        return -ENOENT;
    if (ret->kind == STAGING_DIR)
        return -EISDIR;
    if (ret->damaged[0] && trunc != 0) {
        ocfl_err_set(&err, -EIO, "'%s' is damaged: %s; rewrite it (O_TRUNC) or remove it", path,
                     ret->damaged);
        return mw_fail(m, mo, path, -EIO, &err);
    }
    if (ret->damaged[0]) { /* rewritten from nothing: the damaged bytes are not read */
        rc = staging_copy_up(m->journal, mo->id, inv, path, &(struct staging_source){-1, 0}, ret_fd,
                             ret, &err);
        if (rc == 0)
            mo->w->copyups++;
        return rc < 0 ? mw_fail(m, mo, path, rc, &err) : 0;
    }
    /* writable in this generation already (another handle copied it up): those are the bytes,
     * whatever @from_fd holds (the generation before, frozen since) */
    if (staging_entry_writable(ret)) {
        int fd =
            openat(journal_state_fd(m->journal), ret->scratch, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return mw_fail(m, mo, path, -errno, NULL);
        if (trunc >= 0 && (rc = staging_truncate(m->journal, mo->id, path, trunc, &err)) < 0) {
            close(fd);
            return mw_fail(m, mo, path, rc, &err);
        }
        if (trunc >= 0) /* a background hash of its bytes is void */
            mw_hash_invalidate_scratch(ret->scratch, NULL);
        *ret_fd = fd;
        return 0;
    }
    src = from_fd >= 0 ? from_fd : open_source(m, mo, ret);
    if (src < 0)
        return mw_fail(m, mo, path, src, NULL);
    rc = staging_copy_up(m->journal, mo->id, inv, path, &(struct staging_source){src, trunc},
                         ret_fd, ret, &err);
    if (from_fd < 0)
        close(src);
    if (rc == 0)
        mo->w->copyups++;
    return rc < 0 ? mw_fail(m, mo, path, rc, &err) : 0;
}

/*
 * Writer @fh after a commit or discard (m->lock held): make sure its scratch file is still the
 * path's writable one.  When another handle copied the path up meanwhile, take that file;
 * when the path is unlinked, the handle is orphaned.  Else, with @copy_up, copy up from the
 * handle's descriptor (its frozen bytes); without, leave the handle to its next write.
 */
/* Whether @e (the path's entry) is @fh's own scratch file, frozen since: its descriptor holds
 * exactly the path's bytes, also while the commit moves that file by name. */
static int own_frozen(const struct mw_fh *fh, const struct staging_entry *e)
{
    return fh->scratch[0] && e->scratch[0] && !strcmp(e->scratch, fh->scratch);
}

int mw_writer_follow(struct mount *m, struct mw_fh *fh, int copy_up)
{
    const struct ocfl_inventory *inv;
    struct staging_entry e;
    int rc, fd = -1;

    if (!fh->path || fh->epoch == fh->mo->w->epoch)
        return 0;
    rc = mw_inv(m, fh->mo, &inv);
    if (rc == 0)
        rc = staging_lookup(m->journal, fh->mo->id, inv, fh->path, &e, NULL);
    if (rc < 0)
        return rc;
    if (e.kind == STAGING_NONE) {
        /* unlinked while open: the handle keeps its own bytes until the last close, and
         * nothing of them reaches a version */
        free(fh->path);
        fh->path = NULL;
        fh->frozen_orphan = 1;                  /* fd is the file of the generation before */
        fh->orphaned_by = ++fh->mo->w->unlinks; /* alone: no unlink to share */
    } else if (!(staging_entry_writable(&e) && !strcmp(e.scratch, fh->scratch))) {
        if (!copy_up && !staging_entry_writable(&e))
            return 0; /* its own descriptor holds the path's bytes (frozen) */
        if ((rc = fh_reserve(fh)) < 0 ||
            (rc = mw_make_writable(m, fh->mo, fh->path, -1, own_frozen(fh, &e) ? fh->fd : -1, &fd,
                                   &e)) < 0)
            return rc;
        /* the job reads the frozen file: the commit hashes both */
        mw_hash_invalidate(fh->hj);
        mw_hash_put(fh->hj);
        fh->hj = NULL;
        fh_switch_fd(fh, fd);
        snprintf(fh->scratch, sizeof(fh->scratch), "%s", e.scratch);
        fh->cleared = 0;
    }
    fh->epoch = fh->mo->w->epoch;
    return 0;
}

/* Whether @o was orphaned with @fh, by the same unlink. */
static int orphaned_with(const struct mw_fh *o, const struct mw_fh *fh)
{
    return !o->path && o->orphaned_by == fh->orphaned_by;
}

/*
 * An orphaned writer whose descriptor is a frozen file (a commit is moving it, or moved it,
 * into the object), which must not be written.  The handles orphaned with it must go on
 * sharing one file: the one a writer of the path's writable file holds, else a private copy
 * (which no version will hold) for them all.  Lock held.
 */
static int own_copy(struct mount *m, struct mw_fh *fh)
{
    struct ocfl_err err = {0};
    struct mw_fh *live = NULL, *fresh = NULL;
    struct mw_fh **move;
    int *fds;
    size_t n = 0, k = 0;
    int rc = 0, fd = -1;

    for (struct mw_fh *o = fh->mo->w->fhs; o; o = o->next) {
        if (!orphaned_with(o, fh))
            continue;
        n++;
        if (!o->frozen_orphan && o->fd >= 0 && o->writable && !live)
            live = o;
        else if (!o->frozen_orphan && o->fd >= 0 && !fresh)
            fresh = o; /* a reader that followed the path to its last bytes */
    }
    move = calloc(n, sizeof(*move));
    fds = calloc(n, sizeof(*fds));
    if (!move || !fds)
        rc = -ENOMEM;
    else if (live && (fd = fcntl(live->fd, F_DUPFD_CLOEXEC, 0)) < 0)
        rc = -errno;
    else if (!live &&
             (rc = staging_private_copy(m->journal, (fresh ? fresh : fh)->fd, &fd, &err)) < 0)
        rc = mw_fail(m, fh->mo, fh->path, rc, &err);
    /* every descriptor and slot first: then nothing can fail half-way.  With a live writer
     * the frozen ones join it; else all of them take the copy. */
    for (struct mw_fh *o = fh->mo->w->fhs; o && rc == 0; o = o->next) {
        if (!orphaned_with(o, fh) || (live && !o->frozen_orphan))
            continue;
        if ((rc = fh_reserve(o)) < 0)
            break;
        if ((fds[k] = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
            rc = -errno;
            mount_log(m, "object '%s': cannot share an unlinked file among its descriptors (%s)",
                      fh->mo->id, strerror(errno));
            break;
        }
        move[k++] = o;
    }
    for (size_t i = 0; i < k; i++) {
        struct mw_fh *o = move[i];
        if (rc < 0) {
            close(fds[i]);
            continue;
        }
        if (o == fh) {
            mw_hash_invalidate(o->hj);
            mw_hash_put(o->hj);
            o->hj = NULL;
        } else {
            o->broken = 1; /* its writer drops its hash, under its own lock */
        }
        fh_switch_fd(o, fds[i]);
        o->scratch[0] = '\0'; /* no row describes it */
        o->frozen_orphan = 0;
    }
    if (fd >= 0)
        close(fd);
    free(move);
    free(fds);
    return rc;
}

/*
 * Before writing through @fh: follow the path (writer_follow, with copy-up), and clear the
 * row's digest once.  Inside the gate, fh->mu held, m->lock not held.
 */
int mw_revalidate(struct mount *m, struct mw_fh *fh)
{
    int rc;

    pthread_mutex_lock(&m->lock);
    rc = mw_writer_follow(m, fh, 1);
    if (rc == 0 && fh->frozen_orphan)
        rc = own_copy(m, fh);
    if (rc == 0 && fh->path && !fh->cleared) {
        struct stat st;
        struct ocfl_err err = {0};
        /* the row's digest (kept by a copy-up) no longer describes the bytes */
        if (fstat(fh->fd, &st) == 0 &&
            (rc = staging_set_written(m->journal, fh->mo->id, fh->path, st.st_size, mw_now_ns(),
                                      NULL, &err)) < 0)
            mw_fail(m, fh->mo, fh->path, rc, &err);
        rc = 0;
        /* a hash of these bytes by another (closed) handle is void from now on */
        mw_hash_invalidate_scratch(fh->scratch, fh->hj);
        fh->cleared = 1;
        fh->report = 1;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}
