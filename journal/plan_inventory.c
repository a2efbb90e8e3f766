/* plan_inventory.c: a plan's inventory files in scratch (the record and the root copy):
 * names, durable writes before the plan's row, identity checks, removal; the caller's hint. */
#include "journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

/* Guards every journal's inv_record, inv_root and hint_* (plans of a mount may be added and
 * run on several threads; the journal's own mutex may be held by a caller already). */
static pthread_mutex_t written_mu = PTHREAD_MUTEX_INITIALIZER;

void jdb_written_forget(struct jdb_written *w)
{
    pthread_mutex_lock(&written_mu);
    w->name[0] = 0;
    pthread_mutex_unlock(&written_mu);
}

/* Whether an unfinished plan other than @except_id has @name as its inventory file
 * (the caller holds j->mu). */
int jdb_inventory_file_in_use_locked(struct journal *j, const char *name, int64_t except_id)
{
    sqlite3_stmt *st;
    int used = 1;

    if (sqlite3_prepare_v2(j->db,
                           "SELECT 1 FROM plans WHERE inventory_file = ?1 AND id != ?2"
                           " AND state IN ('pending', 'running', 'reverting') LIMIT 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, except_id);
        used = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    return used;
}

/* One durable write of a plan's inventory bytes, on a thread of its own or not. */
struct inv_write {
    struct journal *j;
    const char *name;
    const struct ocfl_plan *plan;
    struct jdb_written *w; /* filled when written */
    struct ocfl_err err;
    int r;
};

static void *inv_write_run(void *arg)
{
    struct inv_write *a = arg;
    struct stat st;

    a->r = ocfl_io_write_file_durable(a->j->state_fd, a->name, a->plan->inventory,
                                      a->plan->inventory_len, &a->err);
    if (a->r == 0 && fstatat(a->j->state_fd, a->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        pthread_mutex_lock(&written_mu);
        a->w->st = st;
        snprintf(a->w->name, sizeof(a->w->name), "%s", a->name);
        pthread_mutex_unlock(&written_mu);
    }
    return NULL;
}

/* The state dir on the storage root's filesystem: a copy there can be renamed into an object. */
static int same_fs_as_root(struct journal *j)
{
    struct stat a, b;

    return j->root_lock_fd >= 0 && fstat(j->state_fd, &a) == 0 && fstat(j->root_lock_fd, &b) == 0 &&
           a.st_dev == b.st_dev;
}

/*
 * The plan's inventory bytes, durably, before its row: the record @inv_file and, on the
 * root's filesystem, the root copy beside it, the two written at once.  The copy is
 * optional (a run that does not find it writes the bytes): a failure to write it only
 * removes it.  @locked: the caller holds j->mu.
 */
int jdb_write_inventory_files(struct journal *j, const struct ocfl_plan *plan, const char *inv_file,
                              int locked, struct ocfl_err *err)
{
    char root_file[JDB_INV_NAME_MAX];
    struct inv_write rec = {.j = j, .name = inv_file, .plan = plan, .w = &j->inv_record};
    struct inv_write cp = {.j = j, .name = root_file, .plan = plan, .w = &j->inv_root};
    int two =
        same_fs_as_root(j) && jdb_inventory_root_name(inv_file, root_file, sizeof(root_file)) == 0;
    pthread_t t;
    int threaded = 0;

    jdb_written_forget(&j->inv_record);
    jdb_written_forget(&j->inv_root);
    if (two)
        threaded = pthread_create(&t, NULL, inv_write_run, &cp) == 0;
    inv_write_run(&rec);
    if (threaded)
        pthread_join(t, NULL);
    else if (two)
        inv_write_run(&cp);
    if (two && (cp.r < 0 || rec.r < 0) &&
        !(locked ? jdb_inventory_file_in_use_locked(j, inv_file, 0)
                 : jdb_inventory_file_in_use(j, inv_file, 0))) {
        unlinkat(j->state_fd, root_file, 0);
        jdb_written_forget(&j->inv_root);
    }
    if (rec.r < 0) {
        if (err)
            *err = rec.err;
        jdb_written_forget(&j->inv_record);
        return rec.r;
    }
    return 0;
}

/* A plan that could not be recorded leaves no inventory file (unless another plan has it). */
void jdb_drop_unrecorded(struct journal *j, const char *inv_file, int locked)
{
    char root_file[JDB_INV_NAME_MAX];

    if (locked ? jdb_inventory_file_in_use_locked(j, inv_file, 0)
               : jdb_inventory_file_in_use(j, inv_file, 0))
        return;
    unlinkat(j->state_fd, inv_file, 0);
    if (jdb_inventory_root_name(inv_file, root_file, sizeof(root_file)) == 0)
        unlinkat(j->state_fd, root_file, 0);
    jdb_written_forget(&j->inv_record);
    jdb_written_forget(&j->inv_root);
}

int jdb_inventory_file_name(const char *digest, char *buf, size_t size)
{
    size_t n = digest ? strlen(digest) : 0;
    int k;

    if (!n || n >= OCFL_DIGEST_HEX_MAX || strspn(digest, "0123456789abcdefABCDEF") != n)
        return -ENAMETOOLONG;
    k = snprintf(buf, size, "scratch/inventory-%s.json", digest);
    return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

int jdb_inventory_root_name(const char *record, char *buf, size_t size)
{
    size_t n = strlen(record);
    int k;

    if (n < 5 || strcmp(record + n - 5, ".json"))
        return -ENAMETOOLONG;
    k = snprintf(buf, size, "%.*s.root.json", (int)(n - 5), record);
    return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

int jdb_same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

int jdb_written_matches(struct journal *j, const struct jdb_written *w, const char *name,
                        struct stat *ret_st)
{
    struct stat st, was;
    int named;

    pthread_mutex_lock(&written_mu);
    named = w->name[0] && !strcmp(w->name, name);
    was = w->st;
    pthread_mutex_unlock(&written_mu);
    if (!named || fstatat(j->state_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode) || !jdb_same_file(&st, &was))
        return 0;
    if (ret_st)
        *ret_st = st;
    return 1;
}

/* The plan's inventory files go once the plan has ended (the row keeps the record's name). */
void jdb_drop_inventory_files(struct journal *j, int64_t id)
{
    sqlite3_stmt *st;
    char *name = NULL;

    pthread_mutex_lock(&j->mu);
    if (sqlite3_prepare_v2(j->db, "SELECT inventory_file FROM plans WHERE id = ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            name = strdup((const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&j->mu);
    /* another unfinished plan with the very same bytes would have the same file: keep it.
     * The name comes from the journal (in the storage root by default): removed beneath the
     * state dir only, never along a ".." or a symlink. */
    if (name && !jdb_inventory_file_in_use(j, name, id)) {
        char root_file[JDB_INV_NAME_MAX];
        ocfl_io_unlink(j->state_fd, name, NULL);
        /* the root copy, when the switch did not take it (a revert, a fallback) */
        if (jdb_inventory_root_name(name, root_file, sizeof(root_file)) == 0)
            ocfl_io_unlink(j->state_fd, root_file, NULL);
    }
    free(name);
}

int jdb_inventory_file_in_use(struct journal *j, const char *name, int64_t except_id)
{
    int used;

    pthread_mutex_lock(&j->mu);
    used = jdb_inventory_file_in_use_locked(j, name, except_id);
    pthread_mutex_unlock(&j->mu);
    return used;
}

int journal_hint_root_inventory(struct journal *j, const char *object_path, const struct stat *st,
                                uint64_t stat_ns, const char *digest)
{
    size_t n = digest ? strlen(digest) : 0;
    int r = 0;

    pthread_mutex_lock(&written_mu);
    j->hint_path[0] = 0;
    if (!object_path)
        goto out;
    if (!st || !n || n >= sizeof(j->hint_digest) || strspn(digest, "0123456789abcdef") != n ||
        strlen(object_path) >= sizeof(j->hint_path) || !S_ISREG(st->st_mode)) {
        r = -EINVAL;
        goto out;
    }
    memcpy(j->hint_digest, digest, n + 1);
    j->hint_st = *st;
    j->hint_stat_ns = stat_ns;
    memcpy(j->hint_path, object_path, strlen(object_path) + 1);
out:
    pthread_mutex_unlock(&written_mu);
    return r;
}

int jdb_hint_get(struct journal *j, const char *object_path, struct stat *st, uint64_t *stat_ns,
                 char hex[OCFL_DIGEST_HEX_MAX])
{
    int found;

    pthread_mutex_lock(&written_mu);
    found = j->hint_path[0] && object_path && !strcmp(j->hint_path, object_path);
    if (found) {
        *st = j->hint_st;
        *stat_ns = j->hint_stat_ns;
        memcpy(hex, j->hint_digest, OCFL_DIGEST_HEX_MAX);
    }
    pthread_mutex_unlock(&written_mu);
    return found;
}
