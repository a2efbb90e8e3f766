/* mount_ctl_write.c: commit and discard (xattrs and control files), status with staged changes,
 * plans/, recovery before serving, and the attributes of every node of the writable mount. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster.h"
#include "cluster_hooks.h"
#include "commit.h"
#include "commit_request.h"
#include "plan.h"
#include "mount_write.h"

static int json_text(json_t *j, char **ret, size_t *ret_len)
{
    char *s;

    if (!j)
        return -ENOMEM;
    s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return -ENOMEM;
    size_t len = strlen(s);
    char *t = realloc(s, len + 2);
    if (!t) {
        free(s);
        return -ENOMEM;
    }
    t[len] = '\n';
    t[len + 1] = '\0';
    *ret = t;
    *ret_len = len + 1;
    return 0;
}

int mw_ctl_child(struct mount *m, struct mount_node *p, const char *name, struct mount_node **ret)
{
    struct mount_node *n = NULL;

    switch (p->kind) {
    case MK_CTL:
        if (!strcmp(name, "commit"))
            n = mount_node_get(&m->nodes, MK_CTL_COMMIT, p->obj, 0, "");
        else if (!strcmp(name, "discard"))
            n = mount_node_get(&m->nodes, MK_CTL_DISCARD, p->obj, 0, "");
        else if (!p->obj->staged_new)
            return 1;
        else if (!strcmp(name, "status"))
            n = mount_node_get(&m->nodes, MK_CTL_STATUS, p->obj, 0, "");
        else
            return -ENOENT;
        break;
    case MK_ROOT_CTL:
        if (strcmp(name, "plans"))
            return 1;
        n = mount_node_get(&m->nodes, MK_ROOT_PLANS, NULL, 0, "");
        break;
    case MK_ROOT_PLANS: {
        struct journal_plan_info pi;
        char *end;
        long long id = strtoll(name, &end, 10);
        if (id <= 0 || id > 0x7fffffff || strcmp(end, ".json") || !m->journal ||
            journal_plan_get(m->journal, id, &pi, NULL, NULL, NULL) < 0)
            return -ENOENT;
        journal_plan_info_release(&pi);
        n = mount_node_get(&m->nodes, MK_ROOT_PLAN, NULL, (unsigned)id, "");
        break;
    }
    default:
        return 1;
    }
    if (!n)
        return -ENOMEM;
    *ret = n;
    return 0;
}

static json_t *jstr(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* A plan and its steps as JSON (NULL when it cannot be read). */
static json_t *plan_json(struct mount *m, int64_t id, int with_steps)
{
    struct journal_plan_info pi;
    struct journal_step_info *st = NULL;
    size_t ns = 0;
    json_t *j;

    if (journal_plan_get(m->journal, id, &pi, with_steps ? &st : NULL, with_steps ? &ns : NULL,
                         NULL) < 0)
        return NULL;
    j = json_pack("{s:I, s:o, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "plan",
                  (json_int_t)pi.id, "object", jstr(pi.object_id), "version", jstr(pi.version),
                  "message", jstr(pi.message), "state", journal_plan_state_name(pi.state),
                  "steps_done", (json_int_t)pi.steps_done, "steps_total", (json_int_t)pi.n_steps,
                  "bytes_done", (json_int_t)pi.bytes_done, "bytes_total",
                  (json_int_t)pi.bytes_total, "created", jstr(pi.created), "last_error",
                  jstr(pi.last_error));
    if (j && with_steps) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < ns; i++)
            json_array_append_new(
                arr, json_pack("{s:I, s:s, s:o, s:I, s:I, s:I, s:o}", "index",
                               (json_int_t)st[i].idx, "state", journal_step_state_name(st[i].state),
                               "dest", jstr(st[i].dest), "size", (json_int_t)st[i].size,
                               "bytes_done", (json_int_t)st[i].bytes_done, "attempts",
                               (json_int_t)st[i].attempts, "last_error", jstr(st[i].last_error)));
        json_object_set_new(j, "step_list", arr ? arr : json_null());
        /* the retry policy it runs under, as `ocflfs plan --json` shows it */
        char *policy = NULL;
        if (journal_retry_to_json(pi.retry, &policy) == 0) {
            json_t *r = json_loads(policy, 0, NULL);
            json_object_set_new(j, "retry", r ? r : json_null());
            free(policy);
        }
    }
    journal_step_infos_free(st, ns);
    journal_plan_info_release(&pi);
    return j;
}

/* The plan of @oid's frozen generation, 0 when none. */
static int64_t frozen_plan(struct mount *m, const char *oid)
{
    struct staging_object_info *oi = NULL;
    size_t n = 0;
    int64_t id = 0;

    if (staging_objects(m->journal, &oi, &n, NULL) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(oi[i].object_id, oid))
            id = oi[i].plan_id;
    staging_object_infos_free(oi, n);
    return id;
}

static int object_status(struct mount *m, struct mount_obj *mo, char **ret, size_t *ret_len)
{
    const struct ocfl_inventory *inv;
    struct ocfl_err err = {0};
    char *s = NULL, base[OCFL_DIGEST_HEX_MAX];
    json_t *j;
    int64_t plan;
    int rc;

    if ((rc = mw_inv(m, mo, &inv)) < 0)
        return rc;
    rc = staging_status_json(m->journal, mo->id, inv, &s, &err);
    if (rc < 0)
        return mw_fail(m, mo, NULL, rc, &err);
    j = json_loads(s, 0, NULL);
    free(s);
    if (!j)
        return -EIO;
    json_object_set_new(j, "committing", json_boolean(mo->w && mo->w->committing));
    /* staged on another head than the one loaded now: a commit would be refused */
    if (mo->o && staging_base(m->journal, mo->id, base, NULL) == 1)
        json_object_set_new(j, "conflict",
                            json_boolean(!ocfl_digest_equal(base, mo->o->inventory_digest)));
    else
        json_object_set_new(j, "conflict", json_false());
    plan = frozen_plan(m, mo->id);
    json_object_set_new(j, "commit", plan ? plan_json(m, plan, 0) : json_null());
    json_object_set_new(j, "last_result",
                        mo->w && mo->w->last_result ? json_loads(mo->w->last_result, 0, NULL)
                                                    : json_null());
    return json_text(j, ret, ret_len);
}

static int root_status(struct mount *m, struct mount_node *n, char **ret, size_t *ret_len)
{
    struct staging_object_info *oi = NULL;
    struct journal_plan_info *pl = NULL;
    size_t no = 0, np = 0, len = 0;
    char *base = NULL;
    json_t *j, *staged, *plans;
    int rc = mount_ctl_content(m, n, &base, &len);

    if (rc < 0)
        return rc;
    j = json_loads(base, 0, NULL);
    free(base);
    if (!j)
        return -EIO;
    staged = json_array();
    plans = json_array();
    if (staging_objects(m->journal, &oi, &no, NULL) == 0)
        for (size_t i = 0; i < no; i++)
            if (oi[i].n_rows || oi[i].new_object)
                json_array_append_new(
                    staged, json_pack("{s:s, s:b, s:I, s:I}", "object", oi[i].object_id,
                                      "new_object", oi[i].new_object, "rows",
                                      (json_int_t)oi[i].n_rows, "plan", (json_int_t)oi[i].plan_id));
    staging_object_infos_free(oi, no);
    if (journal_plans_list(m->journal, 0, &pl, &np, NULL) == 0)
        for (size_t i = 0; i < np; i++)
            json_array_append_new(plans, plan_json(m, pl[i].id, 0));
    journal_plan_infos_free(pl, np);
    json_object_set_new(j, "staged", staged);
    json_object_set_new(j, "plans", plans);
    json_object_set_new(j, "pid", json_integer((json_int_t)getpid())); /* ocflfs umount waits */
    if (m->cluster) { /* the hosts as the last heartbeat saw them (no round trip here) */
        json_t *cl = cluster_hooks_status_json(m->cluster);
        json_object_set_new(cl, "notices", json_integer((json_int_t)m->n_notices));
        json_object_set_new(j, "cluster", cl);
    }
    return json_text(j, ret, ret_len);
}

int mw_ctl_content(struct mount *m, struct mount_node *n, char **ret, size_t *ret_len)
{
    switch (n->kind) {
    case MK_CTL_COMMIT: {
        const char *s = n->obj->w && n->obj->w->last_result ? n->obj->w->last_result : NULL;
        json_t *j =
            s ? json_loads(s, 0, NULL) : json_pack("{s:s, s:n}", "object", n->obj->id, "result");
        return json_text(j, ret, ret_len);
    }
    case MK_CTL_STATUS:
        return object_status(m, n->obj, ret, ret_len);
    case MK_ROOT_STATUS:
        return root_status(m, n, ret, ret_len);
    case MK_ROOT_PLAN: {
        json_t *j = plan_json(m, n->version, 1);
        return j ? json_text(j, ret, ret_len) : -ENOENT;
    }
    case MK_CTL_DISCARD:
        *ret = NULL;
        *ret_len = 0;
        return 0;
    default:
        return mount_ctl_content(m, n, ret, ret_len);
    }
}

/* Reopens an object's gate once its commit has frozen the generation (or ended). */
struct watcher {
    struct mount *m;
    struct mount_obj *mo;
    _Atomic int done; /* journal_commit_object returned */
};

static int frozen_now(struct mount *m, const char *oid)
{
    struct staging_object_info *oi = NULL;
    size_t n = 0;
    int frozen = 0;

    /* blocks while the freezing transaction holds the journal */
    if (staging_objects(m->journal, &oi, &n, NULL) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(oi[i].object_id, oid) && oi[i].frozen_gen)
            frozen = 1;
    staging_object_infos_free(oi, n);
    return frozen;
}

/* After a commit moved @w's epoch on from @before (lock held): a passthrough writer's file was
 * copied, not moved (staging_snapshot_locked), and stays the path's file: its handle is as
 * current as before (the kernel writes that file whatever the daemon thinks of it). */
static void keep_passthrough_current(struct mount_wobj *w, uint64_t before)
{
    for (struct mw_fh *fh = w->fhs; fh; fh = fh->next)
        if (fh->pt_writer && fh->epoch == before)
            fh->epoch = w->epoch;
}

static void *watch(void *arg)
{
    struct watcher *wt = arg;
    struct mount_wobj *w = wt->mo->w;

    while (!wt->done && !frozen_now(wt->m, wt->mo->id)) {
        struct timespec ts = {.tv_nsec = 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* handles copy up before their next write: into the next generation */
    pthread_mutex_lock(&wt->m->lock);
    w->epoch++;
    keep_passthrough_current(w, w->epoch - 1);
    pthread_mutex_unlock(&wt->m->lock);
    mw_gate_open(w);
    return NULL;
}

/*
 * The plan of @mo's commit ran to the end: at one moment for every thread of the mount (m->lock
 * held), drop the frozen rows, make the version just written the base of what stays staged,
 * and show that version.  Before, a view could meet the old head without the frozen rows
 * (stale bytes; a copy-up from them loses what the commit holds), and a first write the old
 * head as its base (a false conflict at the next commit).
 */
static int switch_version(struct mount *m, struct mount_obj *mo, int64_t plan, struct ocfl_err *err)
{
    struct journal_plan_info p;
    int rc = journal_plan_get(m->journal, plan, &p, NULL, NULL, err);

    if (rc == 0) {
        rc = staging_finish(m->journal, mo->id, p.inventory_digest, err);
        journal_plan_info_release(&p);
    }
    mo->staged_new = 0;
    /* read now, under the lock (a failure shows as the object's load error) */
    if (mount_obj_reload(m, mo) == 0)
        mo->head_noted_gen = mo->gen; /* staging_finish noted this head */
    return rc;
}

void mw_caller_of(fuse_req_t req, struct mw_caller *who)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct passwd pw, *pp = NULL;
    char buf[2048];
    int n;

    memset(who, 0, sizeof(*who));
    who->uid = ctx->uid;
    who->gid = ctx->gid;
    n = fuse_req_getgroups(req, (int)(sizeof(who->groups) / sizeof(who->groups[0])), who->groups);
    if (n > 0) /* more than there is room for: the first ones */
        who->n_groups = (size_t)n < sizeof(who->groups) / sizeof(who->groups[0])
                            ? (size_t)n
                            : sizeof(who->groups) / sizeof(who->groups[0]);
    if (getpwuid_r(ctx->uid, &pw, buf, sizeof(buf), &pp) == 0 && pp)
        snprintf(who->login, sizeof(who->login), "%s", pp->pw_name);
    else
        snprintf(who->login, sizeof(who->login), "%lu", (unsigned long)ctx->uid);
}

/* The outcome of the latest request to @mo, for .ocfl/commit (lock held); takes @json. */
static void set_result(struct mount_wobj *w, char *json)
{
    free(w->last_result);
    w->last_result = json;
}

static char *error_json(const struct mount_obj *mo, int rc, const char *msg)
{
    json_t *r = json_pack("{s:s, s:s, s:i}", "object", mo->id, "error",
                          msg && *msg ? msg : strerror(-rc), "code", -rc);
    char *s = r ? json_dumps(r, JSON_PRESERVE_ORDER) : NULL;

    json_decref(r);
    return s;
}

/* A refused request: its reason in .ocfl/commit and in the log. */
static int refuse(struct mount *m, struct mount_obj *mo, const struct mw_caller *who, int rc,
                  const struct ocfl_err *err)
{
    pthread_mutex_lock(&m->lock);
    if (mw_wobj(mo))
        set_result(mo->w, error_json(mo, rc, err->msg));
    pthread_mutex_unlock(&m->lock);
    mount_log(m, "commit of object '%s' by uid %lu refused: %s", mo->id, (unsigned long)who->uid,
              err->msg[0] ? err->msg : strerror(-rc));
    return rc;
}

/* -o commit_group: only its members (and root) commit and discard. */
static int may_change(const struct mount *m, const struct mw_caller *who, const char *what,
                      struct ocfl_err *err)
{
    if (!m->commit_group || who->uid == 0 || who->gid == m->commit_gid)
        return 0;
    for (size_t i = 0; i < who->n_groups; i++)
        if (who->groups[i] == m->commit_gid)
            return 0;
    return ocfl_err_set(err, -EACCES,
                        "%s: uid %lu is not a member of group '%s', which alone may "
                        "commit and discard on this mount",
                        what, (unsigned long)who->uid, m->commit_group);
}

/*
 * The user a version records: the one the request names (the mounting user, root, or any
 * caller with -o named_users may name one), else the caller: the mounting user as the mount
 * was told, anyone else as the user map or passwd says.
 */
static int signer(const struct mount *m, const struct mw_caller *who,
                  const struct journal_commit_request *rq, struct identity *id, const char **name,
                  const char **address, struct ocfl_err *err)
{
    int r;

    if (rq->user_name) {
        if (who->uid != m->uid && who->uid != 0 && !m->named_users)
            return ocfl_err_set(err, -EACCES,
                                "user: uid %lu may not sign a version as someone else (only the "
                                "mounting user may; the mount allows it with -o named_users)",
                                (unsigned long)who->uid);
        *name = rq->user_name;
        *address = rq->user_address;
        return 0;
    }
    if (who->uid == m->uid) {
        *name = m->user_name;
        *address = m->user_address;
        return 0;
    }
    if ((r = identity_of(m->user_map, m->address_template, who->uid, id, err)) < 0)
        return r;
    *name = id->name;
    *address = id->address;
    return 0;
}

int mw_commit(struct mount *m, struct mount_obj *mo, const struct mw_caller *who, const char *text,
              size_t len)
{
    struct watcher wt = {.m = m, .mo = mo};
    pthread_t watcher;
    int watching;
    struct ocfl_err err = {0};
    struct journal_commit_request rq;
    struct identity id = {0};
    const char *user = NULL, *addr = NULL;
    char *result = NULL, version[32] = "";
    int64_t plan = 0;
    struct mount_wobj *w;
    int rc;

    rc = journal_commit_request_parse(text ? text : "", text ? len : 0, &rq, &err);
    if (rc < 0)
        return refuse(m, mo, who, rc, &err);
    if ((rc = may_change(m, who, "commit", &err)) < 0 ||
        (rc = signer(m, who, &rq, &id, &user, &addr, &err)) < 0 ||
        (rc = ocfl_version_meta_check(rq.message, user, addr, &err)) < 0) {
        journal_commit_request_release(&rq);
        identity_release(&id);
        return refuse(m, mo, who, rc, &err);
    }
    pthread_mutex_lock(&m->lock);
    w = mw_wobj(mo);
    pthread_mutex_unlock(&m->lock);
    if (!w) {
        journal_commit_request_release(&rq);
        identity_release(&id);
        return -ENOMEM;
    }
    pthread_mutex_lock(&m->lock);
    if (w->committing) { /* the journal would refuse it too, but say why */
        set_result(w, error_json(mo, -EBUSY, "a commit of this object is already running"));
        pthread_mutex_unlock(&m->lock);
        journal_commit_request_release(&rq);
        identity_release(&id);
        return -EBUSY;
    }
    w->committing = 1;
    /* where the mount found it (an object the layout would put elsewhere included) */
    char *opath = mo->staged_new || !mo->path ? NULL : strdup(mo->path);
    pthread_mutex_unlock(&m->lock);
    /* cluster mode: the object's lease before its staged changes are frozen on a head that
     * another host could be changing (waits for a commit elsewhere, EBUSY naming it; writers
     * go on meanwhile: the gate closes once the lease is held) */
    int leased = 0;
    if (m->cluster) {
        rc = cluster_lease_take(m->cluster, mo->id, &err);
        leased = rc == 0;
    }
    mw_gate_close(w);
    pthread_mutex_lock(&m->lock);
    w->moving = 1; /* no writer inside the gate now: none waits for this while holding it */
    pthread_mutex_unlock(&m->lock);
    watching = rc == 0 && pthread_create(&watcher, NULL, watch, &wt) == 0;
    struct journal_commit_in in = {.object_id = mo->id,
                                   .message = rq.message,
                                   .user_name = user,
                                   .user_address = addr,
                                   .object_path = opath,
                                   /* no passthrough writer starts while committing is set
                                    * (mw_op_create, mw_op_open): the journal copies the files
                                    * those before may still write */
                                   .flags =
                                       (rq.rebase ? JOURNAL_COMMIT_REBASE : 0) |
                                       (m->write_passthrough ? JOURNAL_COMMIT_UNSEEN_WRITERS : 0) |
                                       JOURNAL_COMMIT_CALLER_FINISHES};
    /* (the commit reads the object's head from the storage, under the lease) */
    if (rc == 0)
        rc = journal_commit_object(m->journal, m->root, &in, &plan, &result, &err);
    /* a plan its fence stopped stays unfinished under the lease, for its next holder */
    if (leased && rc != JOURNAL_FENCED)
        cluster_lease_drop(m->cluster, mo->id);
    free(opath);
    wt.done = 1;
    if (watching)
        pthread_join(watcher, NULL);
    else
        mw_gate_open(w);
    pthread_mutex_lock(&m->lock);
    if (rc == 0)
        rc = switch_version(m, mo, plan, &err);
    w->committing = 0;
    w->moving = 0;
    pthread_cond_broadcast(&w->moved_cv);
    w->epoch++;
    keep_passthrough_current(w, w->epoch - 1);
    if (rc == 0 && result) { /* for the log: the version the result names */
        json_t *r = json_loads(result, 0, NULL);
        const char *v = json_string_value(json_object_get(r, "version"));
        snprintf(version, sizeof(version), "%s", v ? v : "?");
        json_decref(r);
    }
    set_result(w, result ? result : error_json(mo, rc, err.msg));
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        mount_log(m, "commit of object '%s' by uid %lu: %s", mo->id, (unsigned long)who->uid,
                  err.msg[0] ? err.msg : strerror(-rc));
    else
        mount_log(m, "commit of object '%s' by uid %lu (%s, signed '%s'): plan %lld, %s", mo->id,
                  (unsigned long)who->uid, who->login, user, (long long)plan, version);
    journal_commit_request_release(&rq);
    identity_release(&id);
    return rc;
}

int mw_discard(struct mount *m, struct mount_obj *mo, const struct mw_caller *who)
{
    struct ocfl_err err = {0};
    struct mount_wobj *w;
    int rc;

    if ((rc = may_change(m, who, "discard", &err)) < 0)
        return refuse(m, mo, who, rc, &err);
    pthread_mutex_lock(&m->lock);
    w = mw_wobj(mo);
    rc = w ? staging_discard(m->journal, mo->id, &err) : -ENOMEM;
    if (rc >= 0)
        mount_log(m, "discard of object '%s' by uid %lu (%s): %d staged entries dropped", mo->id,
                  (unsigned long)who->uid, who->login, rc);
    if (rc >= 0) {
        json_t *r = json_pack("{s:s, s:i}", "object", mo->id, "discarded", rc);
        free(w->last_result);
        w->last_result = r ? json_dumps(r, JSON_PRESERVE_ORDER) : NULL;
        json_decref(r);
        /* writers lose their path (their scratch files are gone: nothing more to record);
         * readers follow theirs back to the head's bytes */
        mw_orphan_writers(mo);
        w->epoch++;
        rc = 0;
    } else {
        mw_fail(m, mo, NULL, rc, &err);
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == 0)
        mw_invalidate_object_async(
            m, mo); /* another thread: this request may hold a lock the kernel needs */
    return rc;
}

/* After recovery finished plans: a purge among them removed an object the list (loaded from
 * the index before) still has. */
static void drop_purged(struct mount *m)
{
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->objs.n; i++) {
        struct mount_obj *mo = m->objs.all[i];
        char rel[4096];
        struct stat st;
        int k = snprintf(rel, sizeof(rel), "%s/inventory.json", mo->path);
        if (!mo->gone && !mo->staged_new && k > 0 && (size_t)k < sizeof(rel) &&
            fstatat(m->root->fd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
            mo->gone = 1;
    }
    pthread_mutex_unlock(&m->lock);
}

int mw_startup(struct mount *m, struct ocfl_err *err)
{
    struct staging_object_info *oi = NULL;
    size_t n = 0, failed = 0;
    int rc;

    rc = m->cluster
             ? cluster_hooks_recover(m->cluster, m->journal, m->root, 0, NULL, NULL, &failed, err)
             : journal_recover(m->journal, m->root, NULL, NULL, &failed, err);
    if (rc < 0)
        mount_log(m, "recovery: %zu plan(s) could not finish: %s", failed, err->msg);
    if (rc > 0)
        drop_purged(m);
    /* inventory files of plans whose rows a killed process never committed */
    if (journal_scratch_gc(m->journal, "inventory-", err) < 0)
        mount_log(m, "recovery: %s", err->msg);
    rc = staging_recover(m->journal, err);
    if (rc < 0)
        return rc;
    if (rc > 0)
        mount_log(m, "recovery: %d staged generation(s) stay frozen", rc);
    if ((rc = staging_objects(m->journal, &oi, &n, err)) < 0)
        return rc;
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n && rc >= 0; i++) {
        struct mount_obj *mo = NULL;
        char *name = NULL, *path = NULL;
        if (mount_name_encode(oi[i].object_id, &name) < 0) {
            rc = -ENOMEM;
            break;
        }
        mo = mount_objects_find(&m->objs, name);
        if (!mo)
            mo = mount_objects_discover(m, name);
        if (!mo && oi[i].new_object &&
            ocfl_root_object_path(m->root, oi[i].object_id, &path, NULL) == 0) {
            mo = mount_objects_add(&m->objs, oi[i].object_id, path);
            if (mo)
                mo->staged_new = 1;
        }
        if (mo && mw_wobj(mo))
            mo->w->staged = 1;
        char *damaged = NULL;
        if (staging_damaged(m->journal, oi[i].object_id, 0, &damaged, NULL) > 0)
            mount_log(m,
                      "object '%s': damaged staged files (reads give EIO, commits fail until "
                      "they are rewritten or removed): %s",
                      oi[i].object_id, damaged);
        free(damaged);
        free(name);
        free(path);
    }
    pthread_mutex_unlock(&m->lock);
    staging_object_infos_free(oi, n);
    return rc < 0 ? rc : 0;
}

static int node_stat(struct mount *m, struct mount_node *n, struct stat *st)
{
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (mw_is_head(n))
        return mw_stat(m, n, st);
    switch (n->kind) {
    case MK_ROOT:
        rc = mount_node_stat(m, n, st);
        /* mkdir makes objects: the mounting user, and -o commit_group's members */
        st->st_mode = S_IFDIR | (m->commit_group ? 0775 : 0755);
        st->st_gid = mw_default_gid(m);
        return rc;
    case MK_CTL:
        if (!n->obj->staged_new)
            break;
        mw_base_stat(m, n, st);
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        st->st_mtim = st->st_ctim = st->st_atim = m->started;
        return 0;
    case MK_ROOT_PLANS:
        mw_base_stat(m, n, st);
        st->st_mode = S_IFDIR | 0555;
        st->st_nlink = 2;
        st->st_mtim = st->st_ctim = st->st_atim = m->started;
        return 0;
    case MK_CTL_COMMIT:
    case MK_CTL_DISCARD:
    case MK_CTL_STATUS:
    case MK_ROOT_STATUS:
    case MK_ROOT_PLAN:
        if (n->kind != MK_CTL_DISCARD && (rc = mw_ctl_content(m, n, &buf, &len)) < 0)
            return rc;
        free(buf);
        mw_base_stat(m, n, st);
        st->st_mode = S_IFREG | (n->kind == MK_CTL_COMMIT    ? 0644
                                 : n->kind == MK_CTL_DISCARD ? 0200
                                                             : 0444);
        st->st_nlink = 1;
        st->st_size = (off_t)len;
        st->st_mtim = st->st_ctim = st->st_atim = m->started;
        return 0;
    default:
        break;
    }
    return mount_node_stat(m, n, st);
}

void mw_new_owner(struct mount *m, fuse_req_t req, struct mount_node *parent, int64_t *uid,
                  int64_t *gid, mode_t *dir_mode)
{
    const struct fuse_ctx *ctx = fuse_req_ctx(req);
    struct stat pst;

    *uid = ctx->uid;
    *gid = ctx->gid;
    if (parent && parent->kind != MK_ROOT && mw_node_stat(m, parent, &pst) == 0 &&
        (pst.st_mode & S_ISGID)) {
        *gid = pst.st_gid;
        if (dir_mode)
            *dir_mode |= S_ISGID;
    }
}

/*
 * The control files and versions of an object belong to whoever owns its top directory:
 * .ocfl/commit and .ocfl/discard are writable by those who may write the top (so the kernel
 * refuses the others, as it does a setxattr of user.ocfl.commit on the top), the rest
 * read-only.  On a shared mount the root's .ocfl (every staged object, every plan and its
 * message) is for the mounting user and the default group only.
 */
int mw_node_stat(struct mount *m, struct mount_node *n, struct stat *st)
{
    struct mount_node *top;
    struct stat ts;
    int rc = node_stat(m, n, st);

    if (rc < 0 || mw_is_head(n) || n->kind == MK_ROOT)
        return rc;
    if (!n->obj) { /* the root's control files */
        if (m->shared) {
            st->st_gid = mw_default_gid(m);
            st->st_mode &= ~(mode_t)007;
        }
        return rc;
    }
    if (n->obj->w && n->obj->w->top_known) {
        ts.st_uid = n->obj->w->top_uid;
        ts.st_gid = n->obj->w->top_gid;
        ts.st_mode = n->obj->w->top_mode;
    } else if (!(top = mount_node_get(&m->nodes, MK_OBJ, n->obj, 0, "")) ||
               mw_stat(m, top, &ts) < 0) {
        return rc;
    }
    st->st_uid = ts.st_uid;
    st->st_gid = ts.st_gid;
    if (n->kind == MK_CTL_COMMIT)
        st->st_mode = S_IFREG | 0444 | (ts.st_mode & 0222);
    else if (n->kind == MK_CTL_DISCARD)
        st->st_mode = S_IFREG | (ts.st_mode & 0222);
    return rc;
}
