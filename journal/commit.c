/* commit.c: the commit transaction: freeze staged changes, build and journal a plan, run it. */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "io.h"
#include "object.h"
#include "plan.h"
#include "journal_int.h"
#include "staging_int.h"

/* Hash a frozen scratch file whose digest is not known; record the digest.  (Its data is
 * made durable with all the others by sync_sources before the plan is recorded.) */
static int hash_scratch(struct sctx *c, enum ocfl_digest_alg alg, struct staging_file *f)
{
    char hex[OCFL_DIGEST_COUNT_][OCFL_DIGEST_HEX_MAX];
    uint64_t size;
    sqlite3_stmt *st;
    /* O_NOATIME: the daemon's read is no access of the user's (the view shows its atime) */
    int fd = openat(journal_state_fd(c->j), f->scratch,
                    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME),
        r;

    if (fd < 0 && errno == EPERM) /* not the file's owner */
        fd = openat(journal_state_fd(c->j), f->scratch, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return ocfl_err_sys(c->err, -errno, "cannot open staged file '%s'", f->scratch);
    r = ocfl_digest_fd(fd, 1u << alg, hex, &size, c->err);
    close(fd);
    if (r < 0)
        return r;
    free(f->digest);
    if (!(f->digest = strdup(hex[alg])))
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    f->size = (int64_t)size;
    if (sqlite3_prepare_v2(c->db, "UPDATE staged SET digest=?, size=? WHERE scratch=?", -1, &st,
                           NULL) != SQLITE_OK)
        return sx_sql_fail(c, SQLITE_ERROR, "cannot record a digest");
    sqlite3_bind_text(st, 1, f->digest, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, f->size);
    sqlite3_bind_text(st, 3, f->scratch, -1, SQLITE_STATIC);
    r = sqlite3_step(st) == SQLITE_DONE ? 0
                                        : sx_sql_fail(c, SQLITE_ERROR, "cannot record a digest");
    sqlite3_finalize(st);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The plan's sources must be durable before it is recorded: each frozen scratch file's bytes
 * (fdatasync, on threads: syncfs is not forwarded by FUSE storage and not honoured by some
 * network file systems), then the directories that name them, then their sizes recorded as
 * acknowledged in the transaction that records the plan (should the plan be reverted, the
 * files come back as staged and stay trusted). */
static int sync_sources(struct sctx *c, const struct staging_state *s)
{
    const char **v = calloc(2 * s->n_files + 1, sizeof(*v));
    size_t n = 0, nd = 0;
    char **dirs = NULL;
    sqlite3_stmt *st = NULL;
    int r = 0;

    if (!v)
        return ocfl_err_set(c->err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n_files; i++)
        if (s->files[i].scratch)
            v[n++] = s->files[i].scratch;
    if (n == 0)
        goto out;
    r = ocfl_io_fsync_paths(journal_state_fd(c->j), v, n, 1, 0, c->err);
    /* the distinct parents (scratch/sK), then scratch/ itself */
    if (r == 0 && !(dirs = calloc(n + 1, sizeof(*dirs))))
        r = ocfl_err_set(c->err, -ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *slash = strrchr(v[i], '/');
        if (!slash || (size_t)(slash - v[i]) == strlen("scratch"))
            continue;
        if (!(dirs[nd] = strndup(v[i], (size_t)(slash - v[i]))))
            r = ocfl_err_set(c->err, -ENOMEM, "out of memory");
        else
            nd++;
    }
    if (r == 0) {
        size_t u = 0;
        qsort(dirs, nd, sizeof(*dirs), cmp_str);
        for (size_t i = 0; i < nd; i++)
            if (u == 0 || strcmp(dirs[u - 1], dirs[i]))
                dirs[u++] = dirs[i];
            else
                free(dirs[i]);
        nd = u;
        r = ocfl_io_fsync_paths(journal_state_fd(c->j), (const char *const *)dirs, nd, 0, 0,
                                c->err);
    }
    if (r == 0)
        r = ocfl_io_fsync_dir(journal_state_fd(c->j), "scratch", c->err);
    /* with the times the view shows (those of the scratch file, which writes and utimens
     * move), for what the mount keeps once the version is written (staging_kept.c) */
    if (r == 0 && sqlite3_prepare_v2(c->db,
                                     "UPDATE staged SET synced_size=?1,"
                                     " mtime_ns=coalesce(?3, mtime_ns),"
                                     " atime_ns=coalesce(?4, atime_ns),"
                                     " ctime_ns=max(ctime_ns, coalesce(?5, 0)) WHERE scratch=?2",
                                     -1, &st, NULL) != SQLITE_OK)
        r = sx_sql_fail(c, SQLITE_ERROR, "cannot record flushed sizes");
    for (size_t i = 0; r == 0 && i < s->n_files; i++) {
        struct stat sb;
        if (!s->files[i].scratch)
            continue;
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_int64(st, 1, s->files[i].size);
        sqlite3_bind_text(st, 2, s->files[i].scratch, -1, SQLITE_STATIC);
        if (fstatat(journal_state_fd(c->j), s->files[i].scratch, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
            sqlite3_bind_int64(st, 3, (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec);
            sqlite3_bind_int64(st, 4, (int64_t)sb.st_atim.tv_sec * 1000000000 + sb.st_atim.tv_nsec);
            sqlite3_bind_int64(st, 5, (int64_t)sb.st_ctim.tv_sec * 1000000000 + sb.st_ctim.tv_nsec);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            r = sx_sql_fail(c, SQLITE_ERROR, "cannot record flushed sizes");
    }
    sqlite3_finalize(st);
out:
    for (size_t i = 0; dirs && i < nd; i++)
        free(dirs[i]);
    free(dirs);
    free(v);
    return r;
}

/* A staged file whose data was lost is never committed (as empty or short): name them all.
 * Damage is found at mount (or by a failed flush) and cleared only by the user's rewrite or
 * removal, so a check just before the freeze holds for it. */
static int refuse_damaged(struct journal *j, const char *oid, struct ocfl_err *err)
{
    char *list = NULL;
    int n = staging_damaged(j, oid, 0, &list, err), r = n;

    if (n > 0)
        r = ocfl_err_set(err, -EIO,
                         "object '%s': %d staged file(s) are damaged, nothing committed: %s; "
                         "rewrite or remove them, or discard",
                         oid, n, list);
    free(list);
    return r < 0 ? r : 0;
}

static void now_rfc3339(char *buf, size_t size)
{
    time_t t = time(NULL);
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct commit_in {
    struct ocfl_object *obj; /* NULL: new object */
    const char *opath, *oid, *message, *user_name, *user_address, *created;
    struct ocfl_root *root;
    unsigned flags;
};

/* Refuse changes staged on another head than the object has now (inside the transaction). */
static int check_base(struct journal *j, const struct commit_in *in, struct ocfl_err *err)
{
    char base[OCFL_DIGEST_HEX_MAX];
    int r;

    if (!in->obj || (in->flags & JOURNAL_COMMIT_REBASE))
        return 0;
    r = staging_base_locked(j, in->oid, base, err);
    if (r <= 0 || ocfl_digest_equal(base, in->obj->inventory_digest))
        return r;
    return ocfl_err_set(err, -ESTALE,
                        "conflict: object '%s' changed outside the mount since its changes were "
                        "staged (it is now at %s); nothing committed, the staged changes are "
                        "kept: discard them, or commit with {\"rebase\": true} to apply them "
                        "over %s",
                        in->oid, in->obj->inv->head, in->obj->inv->head);
}

/* The empty directories the version drops: nothing of them is kept when it ends. */
static int mark_dropped_dirs(struct sctx *c, int64_t gen, const struct staging_state *s)
{
    sqlite3_stmt *st;
    int r = 0;

    if (!s->n_empty_dirs)
        return 0;
    if (sqlite3_prepare_v2(c->db,
                           "UPDATE staged SET synced_size=" SX_DIR_DROPPED_SQL
                           " WHERE object_id=?1 AND path=?2 AND gen<=?3 AND kind=3",
                           -1, &st, NULL) != SQLITE_OK)
        return sx_sql_fail(c, SQLITE_ERROR, "cannot mark dropped directories");
    for (size_t i = 0; r == 0 && i < s->n_empty_dirs; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->oid, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, s->empty_dirs[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, gen);
        if (sqlite3_step(st) != SQLITE_DONE)
            r = sx_sql_fail(c, SQLITE_ERROR, "cannot mark dropped directories");
    }
    sqlite3_finalize(st);
    return r;
}

/*
 * Under JOURNAL_COMMIT_UNSEEN_WRITERS: each frozen scratch file of @s that anyone may still
 * write gets a copy (staging_snapshot_locked), which @s then names; *ret_copies (one slot per
 * file, "" where none was made) lets the caller remove them when the transaction fails.
 */
static int copy_written_files(struct journal *j, const char *oid, struct staging_state *s,
                              char (**ret_copies)[64], struct ocfl_err *err)
{
    char(*copies)[64] = calloc(s->n_files ? s->n_files : 1, sizeof(*copies));
    int r = copies ? 0 : ocfl_err_set(err, -ENOMEM, "out of memory");

    *ret_copies = copies;
    for (size_t i = 0; r == 0 && i < s->n_files; i++) {
        struct staging_file *f = &s->files[i];
        char *name = NULL;
        if (!f->scratch || (r = staging_scratch_written_elsewhere(j, f->scratch)) == 0)
            continue;
        if (r < 0) /* its frozen row names a file that is not there */
            return ocfl_err_sys(err, r, "cannot open staged file '%s' of '%s'", f->scratch,
                                f->path);
        r = staging_snapshot_locked(j, oid, f->scratch, copies[i], err);
        if (r == 0 && copies[i][0] && !(name = strdup(copies[i])))
            r = ocfl_err_set(err, -ENOMEM, "out of memory");
        if (r == 0 && copies[i][0]) { /* the version's file is the copy, hashed below */
            free(f->scratch);
            free(f->digest);
            f->scratch = name;
            f->digest = NULL;
            f->size = -1;
        }
    }
    return r;
}

/* Step 1: one transaction from freeze to the recorded plan. */
static int freeze_and_plan(struct journal *j, const struct commit_in *in, struct staging_state *s,
                           struct ocfl_plan **ret_plan, int64_t *ret_id, struct ocfl_err *err)
{
    const struct ocfl_inventory *inv = in->obj ? in->obj->inv : NULL;
    const char *alg_name =
        inv ? inv->digest_algorithm
            : (in->root->digest_algorithm ? in->root->digest_algorithm : "sha512");
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(alg_name);
    struct ocfl_plan_file *files = NULL;
    char(*copies)[64] = NULL; /* the snapshots of live files made (staging_snapshot_locked) */
    struct sctx c;
    int64_t gen;
    int r;

    journal_lock(j);
    if (sqlite3_exec(journal_sqlite(j), "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        journal_unlock(j);
        return ocfl_err_set(err, -EBUSY, "cannot begin: %s", sqlite3_errmsg(journal_sqlite(j)));
    }
    r = check_base(j, in, err);
    gen = r < 0 ? r : staging_freeze_locked(j, in->oid, err);
    r = gen < 0 ? (int)gen : sx_attach(&c, j, in->oid, err);
    if (r == 0) {
        c.head = inv ? ocfl_inventory_head(inv) : NULL;
        r = sx_compute(&c, gen, s);
    }
    if (r == 0 && (in->flags & JOURNAL_COMMIT_UNSEEN_WRITERS))
        r = copy_written_files(j, in->oid, s, &copies, err);
    for (size_t i = 0; r == 0 && i < s->n_files; i++)
        if (s->files[i].scratch && (!s->files[i].digest || s->files[i].size < 0))
            r = hash_scratch(&c, alg, &s->files[i]);
    if (r == 0)
        r = sync_sources(&c, s);
    if (r == 0 && !(files = calloc(s->n_files ? s->n_files : 1, sizeof(*files))))
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i < s->n_files; i++) {
        files[i].logical_path = s->files[i].path;
        files[i].digest = s->files[i].digest;
        files[i].source = s->files[i].scratch;
        files[i].size = s->files[i].size < 0 ? 0 : (uint64_t)s->files[i].size;
    }
    if (r == 0) {
        struct ocfl_plan_input pin = {
            .base = inv,
            .base_digest = in->obj ? in->obj->inventory_digest : NULL,
            .id = in->oid,
            .digest_algorithm = alg_name,
            .spec = inv ? OCFL_SPEC_UNKNOWN : (in->root->spec ? in->root->spec : OCFL_SPEC_1_1),
            .files = files,
            .n_files = s->n_files,
            .created = in->created,
            .message = in->message,
            .user_name = in->user_name,
            .user_address = in->user_address,
        };
        r = ocfl_plan_build(&pin, ret_plan, err);
    }
    if (r == 0 && inv && ocfl_plan_is_empty(*ret_plan))
        r = ocfl_err_set(err, -ENODATA, "nothing to commit in '%s'", in->oid);
    if (r == 0)
        r = journal_plan_add_locked(j, *ret_plan, in->opath, ret_id, err);
    if (r == 0)
        r = staging_set_plan_locked(j, in->oid, *ret_id, err);
    if (r == 0)
        r = mark_dropped_dirs(&c, gen, s);
    if (r == 0 && sqlite3_exec(journal_sqlite(j), "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        r = ocfl_err_set(err, -EIO, "cannot commit: %s", sqlite3_errmsg(journal_sqlite(j)));
    if (r < 0 && !sqlite3_get_autocommit(journal_sqlite(j)))
        sqlite3_exec(journal_sqlite(j), "ROLLBACK", NULL, NULL, NULL);
    /* copies no row names any more (rolled back) */
    for (size_t i = 0; r < 0 && copies && i < s->n_files; i++)
        if (copies[i][0])
            unlinkat(journal_state_fd(j), copies[i], 0);
    journal_unlock(j);
    free(copies);
    free(files);
    return r;
}

static char *result_json(const char *oid, const struct ocfl_plan *plan, int64_t id,
                         const struct staging_state *s, int code, const char *msg)
{
    json_t *o = json_object(), *dirs = json_array();
    char *text = NULL;

    if (!o || !dirs)
        goto out;
    json_object_set_new(o, "object", json_string(oid));
    json_object_set_new(o, "plan", id ? json_integer(id) : json_null());
    if (code < 0) {
        json_object_set_new(o, "error", json_string(msg ? msg : strerror(-code)));
        json_object_set_new(o, "code", json_integer(-code));
    } else {
        json_object_set_new(o, "version", json_string(plan->version_name));
        json_object_set_new(o, "added", json_integer((json_int_t)plan->n_added));
        json_object_set_new(o, "modified", json_integer((json_int_t)plan->n_modified));
        json_object_set_new(o, "removed", json_integer((json_int_t)plan->n_removed));
        for (size_t i = 0; i < s->n_empty_dirs; i++)
            json_array_append_new(dirs, json_string(s->empty_dirs[i]));
        json_object_set(o, "dropped_empty_dirs", dirs);
    }
    text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
out:
    json_decref(dirs);
    json_decref(o);
    return text;
}

int journal_commit_object(struct journal *j, struct ocfl_root *root,
                          const struct journal_commit_in *what, int64_t *ret_plan_id,
                          char **ret_result, struct ocfl_err *err)
{
    const char *object_id = what->object_id, *created = what->created;
    struct commit_in in = {
        .oid = object_id,
        .message = what->message,
        .user_name = what->user_name,
        .user_address = what->user_address,
        .root = root,
        .flags = what->flags,
    };
    struct staging_state s = {0};
    struct ocfl_plan *plan = NULL;
    struct ocfl_err local = {0};
    char *opath = NULL, now[64];
    int64_t id = 0;
    int r;

    if (!err)
        err = &local;
    /* a version is never written without a message and a user */
    if ((r = ocfl_version_meta_check(what->message, what->user_name, what->user_address, err)) <
        0) {
        if (ret_result)
            *ret_result = result_json(object_id, NULL, 0, &s, r, err->msg);
        return r;
    }
    if (!created) {
        now_rfc3339(now, sizeof(now));
        created = now;
    }
    in.created = created;
    if (what->object_path)
        r = (opath = strdup(what->object_path)) ? 0 : ocfl_err_set(err, -ENOMEM, "out of memory");
    else
        r = ocfl_root_find_object(root, object_id, &opath, err);
    if (r == -ENOENT) {
        ocfl_err_clear(err);
        r = ocfl_root_object_path(root, object_id, &opath, err);
    } else if (r >= 0) {
        r = ocfl_object_open(root->fd, opath, &in.obj, err);
        /* a path the caller gave (its index) may be stale: never another object's */
        if (r >= 0 && strcmp(in.obj->inv->id, object_id))
            r = ocfl_err_set(err, JOURNAL_CONFLICT,
                             "conflict: '%s' now holds object '%s', not '%s'", opath,
                             in.obj->inv->id, object_id);
    }
    in.opath = opath;
    if (r >= 0)
        r = refuse_damaged(j, object_id, err);
    if (r >= 0)
        r = freeze_and_plan(j, &in, &s, &plan, &id, err);
    if (r >= 0) {
        r = journal_plan_run(j, root, id, NULL, NULL, err);
        /* stopped by its fence, but still ours (its lease taken again): run again, a few
         * times at most (each stop was a lease that ran short) */
        for (int again = 0; r == JOURNAL_FENCED && again < 3 && jdb_refence(j, object_id) == 0;
             again++) {
            ocfl_err_clear(err);
            r = journal_plan_run(j, root, id, NULL, NULL, err);
        }
        if (r >= 0 && !(what->flags & JOURNAL_COMMIT_CALLER_FINISHES))
            /* what was staged during the commit now sits on the new version */
            r = staging_finish(j, object_id, plan->inventory_digest, err);
        else if (r < 0) {
            struct journal_plan_info p;
            if (journal_plan_get(j, id, &p, NULL, NULL, NULL) == 0) {
                if (p.state == JOURNAL_PLAN_REVERTED || p.state == JOURNAL_PLAN_CANCELLED)
                    staging_unfreeze(j, object_id, NULL);
                journal_plan_info_release(&p);
            }
        }
    } else if (id == 0) {
        /* nothing was recorded: the transaction rolled back, nothing is frozen */
    }
    if (ret_result)
        *ret_result = result_json(object_id, plan, id, &s, r, r < 0 ? err->msg : NULL);
    if (ret_plan_id)
        *ret_plan_id = id;
    staging_state_release(&s);
    ocfl_plan_free(plan);
    ocfl_object_close(in.obj);
    free(opath);
    return r;
}
