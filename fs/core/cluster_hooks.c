/* cluster_hooks.c: a journal's fence and plan events answered by the cluster's leases. */
#include "cluster_hooks.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cluster_hooks_join(const char *url, const char *host, const char *root, const char *state,
                       struct cluster **ret_cluster, char **ret_state, struct ocfl_err *err)
{
    char name[65] = "";
    char *dir = NULL;
    int r;

    if (host)
        snprintf(name, sizeof(name), "%s", host);
    else if (gethostname(name, sizeof(name) - 1) < 0)
        return ocfl_err_sys(err, -errno, "cluster: cannot read this machine's hostname");
    if (state)
        dir = strdup(state);
    else if (asprintf(&dir, "%s/extensions/ocflfs/hosts/%s", root, name) < 0)
        dir = NULL;
    if (!dir)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    struct cluster_options o = {.url = url, .host = name, .state_dir = dir};
    r = cluster_open(&o, ret_cluster, err);
    if (r < 0) {
        free(dir);
        return r;
    }
    *ret_state = dir;
    return 0;
}

static void event(struct cluster *c, const char *host, const struct journal_plan_event *ev)
{
    cluster_plan_note(c, host, ev->plan_id, ev->object_id, ev->version ? ev->version : "",
                      journal_plan_state_name(ev->state), ev->bytes_done, ev->bytes_total);
    /* a switch: into the shared index, and announced to the other hosts (a plan done twice,
     * by a takeover and by a woken host, announces the same head twice: harmless) */
    if (ev->final && ev->state == JOURNAL_PLAN_DONE)
        cluster_object_switched(c, host, ev->object_id, ev->object_path,
                                ev->purge ? NULL : ev->version, ev->inventory_digest, NULL);
}

static int fence(void *ctx, const char *object_id, struct ocfl_err *err)
{
    return cluster_lease_check(ctx, object_id, err);
}

static void plan_event(void *ctx, const struct journal_plan_event *ev)
{
    event(ctx, NULL, ev);
}

static int refence(void *ctx, const char *object_id, struct ocfl_err *err)
{
    return cluster_lease_retake(ctx, object_id, err);
}

void cluster_hooks_attach(struct cluster *c, struct journal *j)
{
    struct journal_hooks h = {
        .fence = fence, .refence = refence, .plan_event = plan_event, .ctx = c};

    journal_set_hooks(j, c ? &h : NULL);
}

static int fence_host(void *ctx, const char *object_id, struct ocfl_err *err)
{
    return cluster_lease_check(((struct cluster_hooks_ctx *)ctx)->c, object_id, err);
}

static void plan_event_host(void *ctx, const struct journal_plan_event *ev)
{
    struct cluster_hooks_ctx *hc = ctx;

    event(hc->c, hc->host, ev);
}

void cluster_hooks_attach_host(struct cluster_hooks_ctx *hc, struct journal *j)
{
    struct journal_hooks h = {.fence = fence_host, .plan_event = plan_event_host, .ctx = hc};

    journal_set_hooks(j, &h);
}

int cluster_hooks_recover(struct cluster *c, struct journal *j, struct ocfl_root *root,
                          int64_t only, journal_progress_fn progress, void *ctx, size_t *ret_failed,
                          struct ocfl_err *err)
{
    struct journal_plan_info *plans = NULL;
    size_t n = 0, failed = 0;
    int r, first = 0, done = 0;

    r = journal_plans_list(j, only != 0, &plans, &n, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        struct ocfl_err e = {0};
        if (only ? plans[i].id != only : !journal_plan_state_unfinished(plans[i].state))
            continue;
        r = cluster_lease_take(c, plans[i].object_id, &e);
        if (r == -EALREADY)
            r = 0; /* taken for an earlier plan of the same object, and kept */
        if (r == 0) {
            r = journal_plan_run(j, root, plans[i].id, progress, ctx, &e);
            if (r != JOURNAL_FENCED)
                cluster_lease_drop(c, plans[i].object_id);
        }
        if (r < 0) {
            failed++;
            if (!first) {
                first = r;
                if (err)
                    *err = e;
            }
        } else {
            done++;
        }
    }
    journal_plan_infos_free(plans, n);
    if (only && !done && !failed)
        return ocfl_err_set(err, -ENOENT, "no plan %lld", (long long)only);
    if (ret_failed)
        *ret_failed = failed;
    return first ? first : done;
}

json_t *cluster_hooks_status_json(struct cluster *c)
{
    struct cluster_host_info *v = NULL;
    size_t n = 0;
    json_t *hosts = json_array();

    if (hosts && cluster_hosts_snapshot(c, &v, &n) == 0)
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                hosts, json_pack("{s:s, s:s, s:I, s:f, s:o}", "name", v[i].name ? v[i].name : "",
                                 "state", v[i].state ? v[i].state : "", "pid", (json_int_t)v[i].pid,
                                 "heartbeat_age", v[i].heartbeat_age, "taken_by",
                                 v[i].taken_by ? json_string(v[i].taken_by) : json_null()));
    cluster_host_infos_free(v, n);
    return json_pack("{s:s, s:o}", "host", cluster_host(c), "hosts", hosts ? hosts : json_array());
}

/* Where host @name keeps its journal, seen from here: its dir under this root when it used
 * the default (the shared storage may be mounted elsewhere there), else what it recorded. */
static char *host_dir(const char *root_path, const char *name, const char *recorded)
{
    char *dir = NULL, tail[128];

    snprintf(tail, sizeof(tail), "/extensions/ocflfs/hosts/%s", name);
    size_t n = strlen(recorded), t = strlen(tail);
    if (!*recorded || (n >= t && !strcmp(recorded + n - t, tail))) {
        if (asprintf(&dir, "%s%s", root_path, tail) < 0)
            dir = NULL;
        return dir;
    }
    return strdup(recorded);
}

int cluster_hooks_takeover(struct cluster *c, struct ocfl_root *root, const char *root_path,
                           cluster_hooks_log_fn log, void *ctx, struct ocfl_err *err)
{
    int taken = 0, r;

    for (;;) {
        char *name = NULL, *recorded = NULL, *dir;
        struct journal *j = NULL;
        size_t failed = 0;
        r = cluster_takeover_claim(c, &name, &recorded, err);
        if (r <= 0)
            return r < 0 ? r : taken;
        dir = host_dir(root_path, name, recorded);
        struct journal_options o = {.flags = JOURNAL_CLUSTER | JOURNAL_TAKEOVER, .root = root_path};
        r = dir ? journal_open(dir, &o, &j, err) : ocfl_err_set(err, -ENOMEM, "out of memory");
        /* the takeover marked done ('taken') before it is told: whoever reads the line (a
         * returning host, a test) finds the host taken, not still being taken */
        if (r == -ENOENT || (r < 0 && access(dir, F_OK) < 0)) {
            cluster_takeover_done(c, name);
            log(ctx, "cluster: took over host '%s': it has no journal in '%s'", name,
                dir ? dir : "?");
            r = 0;
        } else if (r < 0) {
            cluster_takeover_done(c, name);
            log(ctx, "cluster: took over host '%s' but cannot open its journal: %s", name,
                err ? err->msg : "");
        } else {
            struct cluster_hooks_ctx hc = {.c = c, .host = name};
            cluster_hooks_attach_host(&hc, j);
            r = cluster_hooks_recover(c, j, root, 0, NULL, NULL, &failed, err);
            journal_close(j);
            cluster_takeover_done(c, name);
            if (r >= 0)
                log(ctx,
                    "cluster: took over host '%s' (heartbeat stopped): %d unfinished plan(s) "
                    "finished or reverted from '%s'; its staged changes stay there",
                    name, r, dir);
            else
                log(ctx, "cluster: took over host '%s': %zu plan(s) could not finish: %s", name,
                    failed, err ? err->msg : "");
        }
        taken++;
        free(dir);
        free(name);
        free(recorded);
    }
}

struct cluster_takeover {
    struct cluster *c;
    struct ocfl_root *root;
    const char *root_path;
    cluster_hooks_log_fn log;
    void *ctx;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
};

static void *takeover_main(void *arg)
{
    struct cluster_takeover *t = arg;

    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + cluster_beat_ms(t->c) * 1000000u;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&t->cv, &t->mu, &ts);
        if (t->stop)
            break;
        pthread_mutex_unlock(&t->mu);
        struct ocfl_err e = {0};
        if (cluster_hooks_takeover(t->c, t->root, t->root_path, t->log, t->ctx, &e) < 0 &&
            e.code != -ENOLCK)
            t->log(t->ctx, "cluster: takeover: %s", e.msg);
        pthread_mutex_lock(&t->mu);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

struct cluster_takeover *cluster_hooks_takeover_start(struct cluster *c, struct ocfl_root *root,
                                                      const char *root_path,
                                                      cluster_hooks_log_fn log, void *ctx)
{
    struct cluster_takeover *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;

    if (!t)
        return NULL;
    *t = (struct cluster_takeover){
        .c = c, .root = root, .root_path = root_path, .log = log, .ctx = ctx};
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->thread, NULL, takeover_main, t) != 0) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t);
        return NULL;
    }
    return t;
}

void cluster_hooks_takeover_stop(struct cluster_takeover *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = 1;
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
