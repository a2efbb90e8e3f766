/* journal_db.c: plans and steps as rows: record, update state and progress, list. */
#include "journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

static const char *const plan_states[] = {
    [JOURNAL_PLAN_PENDING] = "pending",     [JOURNAL_PLAN_RUNNING] = "running",
    [JOURNAL_PLAN_DONE] = "done",           [JOURNAL_PLAN_FAILED] = "failed",
    [JOURNAL_PLAN_REVERTING] = "reverting", [JOURNAL_PLAN_REVERTED] = "reverted",
    [JOURNAL_PLAN_CANCELLED] = "cancelled",
};

static const char *const step_states[] = {
    [JOURNAL_STEP_PENDING] = "pending",   [JOURNAL_STEP_RUNNING] = "running",
    [JOURNAL_STEP_DONE] = "done",         [JOURNAL_STEP_FAILED] = "failed",
    [JOURNAL_STEP_REVERTED] = "reverted",
};

const char *journal_plan_state_name(enum journal_plan_state s)
{
    return (unsigned)s < sizeof(plan_states) / sizeof(*plan_states) ? plan_states[s] : "unknown";
}

const char *journal_step_state_name(enum journal_step_state s)
{
    return (unsigned)s < sizeof(step_states) / sizeof(*step_states) ? step_states[s] : "unknown";
}

int journal_plan_state_unfinished(enum journal_plan_state s)
{
    return s == JOURNAL_PLAN_PENDING || s == JOURNAL_PLAN_RUNNING || s == JOURNAL_PLAN_REVERTING;
}

static int plan_state_from(const char *s)
{
    for (size_t i = 0; s && i < sizeof(plan_states) / sizeof(*plan_states); i++)
        if (!strcmp(plan_states[i], s))
            return (int)i;
    return JOURNAL_PLAN_FAILED;
}

static int step_state_from(const char *s)
{
    for (size_t i = 0; s && i < sizeof(step_states) / sizeof(*step_states); i++)
        if (!strcmp(step_states[i], s))
            return (int)i;
    return JOURNAL_STEP_FAILED;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int plan_insert(struct journal *j, const struct ocfl_plan *plan, const char *object_path,
                       int64_t *ret_id, int own_tx, struct ocfl_err *err);

int journal_plan_add(struct journal *j, const struct ocfl_plan *plan, const char *object_path,
                     int64_t *ret_id, struct ocfl_err *err)
{
    return plan_insert(j, plan, object_path, ret_id, 1, err);
}

int journal_plan_add_locked(struct journal *j, const struct ocfl_plan *plan,
                            const char *object_path, int64_t *ret_id, struct ocfl_err *err)
{
    return plan_insert(j, plan, object_path, ret_id, 0, err);
}

/* With @own_tx: lock, BEGIN IMMEDIATE, COMMIT here; else the caller's transaction. */
static int plan_insert(struct journal *j, const struct ocfl_plan *plan, const char *object_path,
                       int64_t *ret_id, int own_tx, struct ocfl_err *err)
{
    static const char plan_sql[] =
        "INSERT INTO plans (object_id, object_path, new_object, spec, base_digest, inventory,"
        " inventory_digest, version, digest_algorithm, created, message, user_name,"
        " user_address, state, created_ns, inventory_file, retry_policy)"
        " VALUES (?,?,?,?,?,x'',?,?,?,?,?,?,?,'pending',?,?,?)";
    static const char step_sql[] = "INSERT INTO steps (plan_id, idx, kind, source, dest, digest,"
                                   " size) VALUES (?,?,?,?,?,?,?)";
    sqlite3_stmt *st = NULL;
    char inv_file[JDB_INV_NAME_MAX];
    char *policy = NULL;
    int64_t id;
    int rc, r;

    /* the policy in force now is the plan's for good: a resume after the configuration
     * changed keeps it */
    if (journal_retry_to_json(j->retry, &policy) < 0)
        return ocfl_err_set(err, -ENOMEM, "cannot record the plan: out of memory");
    /* the inventory's bytes first, durably, so that a recorded plan always finds them (a
     * purge writes none) */
    r = jdb_inventory_file_name(plan->inventory_digest, inv_file, sizeof(inv_file));
    if (r < 0)
        return ocfl_err_set(err, r, "journal: bad inventory digest");
    if (plan->inventory)
        r = jdb_write_inventory_files(j, plan, inv_file, !own_tx, err);
    else
        inv_file[0] = 0;
    if (r < 0) {
        free(policy);
        return r;
    }
    if (own_tx) {
        pthread_mutex_lock(&j->mu);
        r = jdb_begin(j, err);
        if (r < 0)
            goto out;
    }
    rc = sqlite3_prepare_v2(j->db, plan_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        goto sqlfail;
    bind_text(st, 1, plan->object_id);
    bind_text(st, 2, object_path);
    sqlite3_bind_int(st, 3, plan->new_object);
    sqlite3_bind_int(st, 4, (int)plan->spec);
    bind_text(st, 5, plan->base_digest);
    bind_text(st, 6, plan->inventory_digest);
    bind_text(st, 7, plan->version_name);
    bind_text(st, 8, plan->digest_algorithm);
    bind_text(st, 9, plan->created);
    bind_text(st, 10, plan->message);
    bind_text(st, 11, plan->user_name);
    bind_text(st, 12, plan->user_address);
    sqlite3_bind_int64(st, 13, (int64_t)journal_now_ns(j));
    bind_text(st, 14, inv_file[0] ? inv_file : NULL);
    bind_text(st, 15, policy);
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        goto sqlfail;
    sqlite3_finalize(st);
    st = NULL;
    id = sqlite3_last_insert_rowid(j->db);
    rc = sqlite3_prepare_v2(j->db, step_sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        goto sqlfail;
    for (size_t i = 0; i < plan->n_steps; i++) {
        const struct ocfl_plan_step *s = &plan->steps[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)i);
        bind_text(st, 3, ocfl_step_kind_name(s->kind));
        bind_text(st, 4, s->source);
        bind_text(st, 5, s->dest);
        bind_text(st, 6, s->digest);
        sqlite3_bind_int64(st, 7, (int64_t)s->size);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            goto sqlfail;
    }
    sqlite3_finalize(st);
    st = NULL;
    r = own_tx ? jdb_commit(j, err) : 0;
    if (r >= 0)
        *ret_id = id;
    goto out;
sqlfail:
    r = jdb_fail(j->db, rc, "cannot record the plan", err);
    sqlite3_finalize(st);
    if (own_tx)
        jdb_rollback(j);
out:
    /* (j->mu is held either way; when the caller's transaction fails after this, the
     * orphan collection, journal_scratch_gc, takes the files) */
    if (r < 0 && inv_file[0])
        jdb_drop_unrecorded(j, inv_file, 1);
    if (own_tx)
        pthread_mutex_unlock(&j->mu);
    free(policy);
    return r;
}

/* Run one parameterized update in its own transaction (caller holds nothing). */
/* One statement in its own transaction; the rows it changed into *changes when not NULL. */
static int update_n(struct journal *j, const char *sql, int64_t id, int64_t idx, int64_t a,
                    int64_t b, const char *text, int *changes)
{
    sqlite3_stmt *st = NULL;
    int rc, r;

    pthread_mutex_lock(&j->mu);
    r = jdb_begin(j, NULL);
    if (r < 0)
        goto out;
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, idx);
        sqlite3_bind_int64(st, 3, a);
        sqlite3_bind_int64(st, 4, b);
        bind_text(st, 5, text);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        r = jdb_fail(j->db, rc, "cannot update", NULL);
        jdb_rollback(j);
        goto out;
    }
    if (changes)
        *changes = sqlite3_changes(j->db);
    r = jdb_commit(j, NULL);
out:
    pthread_mutex_unlock(&j->mu);
    return r;
}

static int update(struct journal *j, const char *sql, int64_t id, int64_t idx, int64_t a, int64_t b,
                  const char *text)
{
    return update_n(j, sql, id, idx, a, b, text, NULL);
}

int jdb_forget_object(struct journal *j, const char *object_id, struct ocfl_err *err)
{
    /* (update() binds ?1 to ?4 as numbers: the tautologies keep them used) */
    int r = update(j, "DELETE FROM objects WHERE id = ?5 AND ?1 + ?2 + ?3 + ?4 = 0", 0, 0, 0, 0,
                   object_id);

    if (r >= 0)
        r = update(j, "DELETE FROM kept_attrs WHERE object_id = ?5 AND ?1 + ?2 + ?3 + ?4 = 0", 0, 0,
                   0, 0, object_id);
    return r < 0 ? ocfl_err_set(err, r, "journal: cannot forget object '%s'", object_id) : 0;
}

int jdb_plan_set_state(struct journal *j, int64_t id, enum journal_plan_state s,
                       const char *last_error, struct ocfl_err *err)
{
    int64_t now = (int64_t)journal_now_ns(j);
    int fin = !journal_plan_state_unfinished(s);
    int r;

    /* ?3 = now, ?4 = finished?, ?5 = state name; last_error kept unless given */
    /* A finished plan no longer needs its inventory bytes (the object has
     * them, or they were never written): drop them to keep the journal small. */
    r = update(j,
               "UPDATE plans SET state = ?5,"
               " started_ns = COALESCE(started_ns, ?3),"
               " finished_ns = CASE WHEN ?4 THEN ?3 ELSE NULL END,"
               " inventory = CASE WHEN ?4 THEN x'' ELSE inventory END"
               " WHERE id = ?1 AND ?2 = ?2",
               id, 0, now, fin, journal_plan_state_name(s));
    if (r >= 0 && fin)
        jdb_drop_inventory_files(j, id);
    if (r >= 0 && last_error)
        r = update(j, "UPDATE plans SET last_error = ?5 WHERE id = ?1 AND ?2 = ?2 AND ?3 = ?4", id,
                   0, 0, 0, last_error);
    if (r < 0)
        ocfl_err_set(err, r, "journal: cannot record the state of plan %lld", (long long)id);
    return r;
}

int jdb_plan_set_reverting(struct journal *j, int64_t id, const char *last_error)
{
    int changes = 0;
    int r =
        update_n(j,
                 "UPDATE plans SET state = 'reverting', started_ns = COALESCE(started_ns, ?3),"
                 " finished_ns = NULL, last_error = ?5"
                 " WHERE id = ?1 AND ?2 = ?4 AND state NOT IN ('done', 'reverted', 'cancelled')",
                 id, 0, (int64_t)journal_now_ns(j), 0, last_error, &changes);

    return r < 0 ? r : changes > 0;
}

int jdb_step_begin(struct journal *j, int64_t id, size_t idx, unsigned attempts)
{
    return update(j,
                  "UPDATE steps SET state = 'running', attempts = ?3,"
                  " started_ns = COALESCE(started_ns, ?4) WHERE plan_id = ?1 AND idx = ?2"
                  " AND ?5 IS NULL",
                  id, (int64_t)idx, attempts, (int64_t)journal_now_ns(j), NULL);
}

int jdb_step_fail(struct journal *j, int64_t id, size_t idx, unsigned attempts, const char *msg)
{
    return update(j,
                  "UPDATE steps SET state = 'failed', attempts = ?3, last_error = ?5,"
                  " started_ns = COALESCE(started_ns, ?4) WHERE plan_id = ?1 AND idx = ?2",
                  id, (int64_t)idx, attempts, (int64_t)journal_now_ns(j), msg);
}

int jdb_step_set_state(struct journal *j, int64_t id, size_t idx, enum journal_step_state s)
{
    return update(j, "UPDATE steps SET state = ?5 WHERE plan_id = ?1 AND idx = ?2 AND ?3 = ?4", id,
                  (int64_t)idx, 0, 0, journal_step_state_name(s));
}

int jdb_step_progress(struct journal *j, int64_t id, size_t idx, uint64_t bytes)
{
    return update(j,
                  "UPDATE steps SET bytes_done = ?3 WHERE plan_id = ?1 AND idx = ?2"
                  " AND ?4 = ?4 AND ?5 IS NULL",
                  id, (int64_t)idx, (int64_t)bytes, 0, NULL);
}

int jdb_steps_done(struct journal *j, int64_t id, const size_t *idx, const unsigned *attempts,
                   const uint64_t *bytes, size_t n)
{
    /* One statement per run of consecutive steps with the same attempts (a batch of
     * content steps is usually one run). */
    static const char sql[] =
        "UPDATE steps SET state = 'done', attempts = MAX(attempts, ?3),"
        " bytes_done = CASE WHEN ?6 THEN size ELSE ?4 END,"
        " started_ns = COALESCE(started_ns, ?5), finished_ns = ?5, last_error = NULL"
        " WHERE plan_id = ?1 AND idx BETWEEN ?2 AND ?7";
    sqlite3_stmt *st = NULL;
    int64_t now = (int64_t)journal_now_ns(j);
    int rc = SQLITE_DONE, r;

    if (!n)
        return 0;
    pthread_mutex_lock(&j->mu);
    r = jdb_begin(j, NULL);
    if (r < 0)
        goto out;
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    for (size_t i = 0, e; rc == SQLITE_OK && i < n; i = e) {
        unsigned a = attempts ? attempts[i] : 1;
        for (e = i + 1; e < n && idx[e] == idx[e - 1] + 1 && (attempts ? attempts[e] : 1) == a;)
            e++;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int64(st, 2, (int64_t)idx[i]);
        sqlite3_bind_int64(st, 3, a);
        sqlite3_bind_int64(st, 4, 0);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_int(st, 6, bytes != NULL);
        sqlite3_bind_int64(st, 7, (int64_t)idx[e - 1]);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        r = jdb_fail(j->db, rc, "cannot record steps done", NULL);
        jdb_rollback(j);
        goto out;
    }
    r = jdb_commit(j, NULL);
out:
    pthread_mutex_unlock(&j->mu);
    return r;
}

static char *col_dup(sqlite3_stmt *st, int i, int *ok)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    char *d;

    if (!t)
        return NULL;
    d = strdup((const char *)t);
    if (!d)
        *ok = 0;
    return d;
}

void journal_plan_info_release(struct journal_plan_info *p)
{
    if (!p)
        return;
    free(p->object_id);
    free(p->object_path);
    free(p->version);
    free(p->base_digest);
    free(p->inventory_digest);
    free(p->digest_algorithm);
    free(p->created);
    free(p->message);
    free(p->user_name);
    free(p->user_address);
    free(p->last_error);
    memset(p, 0, sizeof(*p));
}

void journal_plan_infos_free(struct journal_plan_info *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        journal_plan_info_release(&p[i]);
    free(p);
}

void journal_step_infos_free(struct journal_step_info *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) {
        free(s[i].source);
        free(s[i].dest);
        free(s[i].digest);
        free(s[i].last_error);
    }
    free(s);
}

#define PLAN_COLS                                                                                  \
    "p.id, p.object_id, p.object_path, p.version, p.base_digest, p.inventory_digest,"              \
    " p.digest_algorithm, p.created, p.message, p.user_name, p.user_address, p.state,"             \
    " p.last_error, p.created_ns, p.started_ns, p.finished_ns,"                                    \
    " (SELECT COUNT(*) FROM steps s WHERE s.plan_id = p.id),"                                      \
    " (SELECT COUNT(*) FROM steps s WHERE s.plan_id = p.id AND s.state = 'done'),"                 \
    " (SELECT TOTAL(size) FROM steps s WHERE s.plan_id = p.id AND s.kind = 'content'),"            \
    " (SELECT TOTAL(CASE WHEN s.state = 'done' THEN s.size ELSE s.bytes_done END) FROM steps s"    \
    "  WHERE s.plan_id = p.id AND s.kind = 'content'),"                                            \
    " EXISTS (SELECT 1 FROM steps s WHERE s.plan_id = p.id AND s.idx = 0 AND"                      \
    "  s.kind = 'purge-move'), p.retry_policy"

static int row_to_plan(struct journal *j, sqlite3_stmt *st, struct journal_plan_info *p)
{
    const char *policy = (const char *)sqlite3_column_text(st, 21);
    int ok = 1;

    /* a plan from before schema v9 runs under the journal's policy; a recorded one that does
     * not parse (the row was changed by hand) too, rather than not at all */
    memcpy(p->retry, j->retry, sizeof(p->retry));
    p->retry_recorded = policy && journal_retry_from_json(policy, p->retry) == 0;
    if (!p->retry_recorded)
        memcpy(p->retry, j->retry, sizeof(p->retry));

    p->id = sqlite3_column_int64(st, 0);
    p->object_id = col_dup(st, 1, &ok);
    p->object_path = col_dup(st, 2, &ok);
    p->version = col_dup(st, 3, &ok);
    p->base_digest = col_dup(st, 4, &ok);
    p->inventory_digest = col_dup(st, 5, &ok);
    p->digest_algorithm = col_dup(st, 6, &ok);
    p->created = col_dup(st, 7, &ok);
    p->message = col_dup(st, 8, &ok);
    p->user_name = col_dup(st, 9, &ok);
    p->user_address = col_dup(st, 10, &ok);
    p->state = plan_state_from((const char *)sqlite3_column_text(st, 11));
    p->last_error = col_dup(st, 12, &ok);
    p->created_ns = sqlite3_column_int64(st, 13);
    p->started_ns = sqlite3_column_int64(st, 14);
    p->finished_ns = sqlite3_column_int64(st, 15);
    p->n_steps = (size_t)sqlite3_column_int64(st, 16);
    p->steps_done = (size_t)sqlite3_column_int64(st, 17);
    p->bytes_total = (uint64_t)sqlite3_column_double(st, 18);
    p->bytes_done = (uint64_t)sqlite3_column_double(st, 19);
    p->purge = sqlite3_column_int(st, 20);
    return ok ? 0 : -ENOMEM;
}

int journal_plans_list(struct journal *j, int all, struct journal_plan_info **ret, size_t *ret_n,
                       struct ocfl_err *err)
{
    const char *sql = all ? "SELECT " PLAN_COLS " FROM plans p ORDER BY p.id"
                          : "SELECT " PLAN_COLS " FROM plans p WHERE p.state IN"
                            " ('pending', 'running', 'reverting') ORDER BY p.id";
    struct journal_plan_info *v = NULL;
    size_t n = 0, alloc = 0;
    sqlite3_stmt *st;
    int rc, r = 0;

    pthread_mutex_lock(&j->mu);
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        r = jdb_fail(j->db, rc, "cannot list plans", err);
        goto out;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 8;
            struct journal_plan_info *t = realloc(v, na * sizeof(*t));
            if (!t) {
                r = -ENOMEM;
                break;
            }
            v = t;
            alloc = na;
        }
        memset(&v[n], 0, sizeof(v[n]));
        r = row_to_plan(j, st, &v[n++]);
        if (r < 0)
            break;
    }
    if (r >= 0 && rc != SQLITE_DONE)
        r = jdb_fail(j->db, rc, "cannot list plans", err);
    sqlite3_finalize(st);
out:
    pthread_mutex_unlock(&j->mu);
    if (r < 0) {
        journal_plan_infos_free(v, n);
        if (r == -ENOMEM)
            ocfl_err_set(err, r, "cannot list plans: out of memory");
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int get_steps(struct journal *j, int64_t id, struct journal_step_info **ret, size_t *ret_n,
                     struct ocfl_err *err)
{
    static const char sql[] = "SELECT idx, kind, source, dest, digest, size, bytes_done, state,"
                              " attempts, last_error, started_ns, finished_ns FROM steps"
                              " WHERE plan_id = ? ORDER BY idx";
    struct journal_step_info *v = NULL;
    size_t n = 0, alloc = 0;
    sqlite3_stmt *st;
    int rc, r = 0, ok = 1;

    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return jdb_fail(j->db, rc, "cannot read steps", err);
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct journal_step_info *s;
        if (n == alloc) {
            size_t na = alloc ? alloc * 2 : 16;
            struct journal_step_info *t = realloc(v, na * sizeof(*t));
            if (!t) {
                ok = 0;
                break;
            }
            v = t;
            alloc = na;
        }
        s = &v[n++];
        memset(s, 0, sizeof(*s));
        s->idx = (size_t)sqlite3_column_int64(st, 0);
        s->kind = ocfl_step_kind_from_name((const char *)sqlite3_column_text(st, 1));
        s->source = col_dup(st, 2, &ok);
        s->dest = col_dup(st, 3, &ok);
        s->digest = col_dup(st, 4, &ok);
        s->size = (uint64_t)sqlite3_column_int64(st, 5);
        s->bytes_done = (uint64_t)sqlite3_column_int64(st, 6);
        s->state = step_state_from((const char *)sqlite3_column_text(st, 7));
        s->attempts = (unsigned)sqlite3_column_int64(st, 8);
        s->last_error = col_dup(st, 9, &ok);
        s->started_ns = sqlite3_column_int64(st, 10);
        s->finished_ns = sqlite3_column_int64(st, 11);
        if (!ok)
            break;
    }
    if (!ok)
        r = ocfl_err_set(err, -ENOMEM, "cannot read steps: out of memory");
    else if (rc != SQLITE_DONE)
        r = jdb_fail(j->db, rc, "cannot read steps", err);
    sqlite3_finalize(st);
    if (r < 0) {
        journal_step_infos_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int journal_plan_get(struct journal *j, int64_t id, struct journal_plan_info *ret,
                     struct journal_step_info **ret_steps, size_t *ret_n_steps,
                     struct ocfl_err *err)
{
    struct journal_plan_info p = {0};
    sqlite3_stmt *st;
    int rc, r;

    pthread_mutex_lock(&j->mu);
    rc = sqlite3_prepare_v2(j->db, "SELECT " PLAN_COLS " FROM plans p WHERE p.id = ?", -1, &st,
                            NULL);
    if (rc != SQLITE_OK) {
        r = jdb_fail(j->db, rc, "cannot read plan", err);
        goto out;
    }
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = row_to_plan(j, st, &p);
    else if (rc == SQLITE_DONE)
        r = ocfl_err_set(err, -ENOENT, "no plan %lld in the journal", (long long)id);
    else
        r = jdb_fail(j->db, rc, "cannot read plan", err);
    sqlite3_finalize(st);
    if (r >= 0 && ret_steps)
        r = get_steps(j, id, ret_steps, ret_n_steps, err);
out:
    pthread_mutex_unlock(&j->mu);
    if (r < 0) {
        journal_plan_info_release(&p);
        if (r == -ENOMEM && (!err || !err->code))
            ocfl_err_set(err, r, "cannot read plan %lld: out of memory", (long long)id);
        return r;
    }
    *ret = p;
    return 0;
}
