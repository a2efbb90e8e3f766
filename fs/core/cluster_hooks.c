/* cluster_hooks.c: a journal's fence and plan events answered by the cluster's leases. */
#include "cluster_hooks.h"

#include <errno.h>
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

static int fence(void *ctx, const char *object_id, struct ocfl_err *err)
{
    return cluster_lease_check(ctx, object_id, err);
}

static void plan_event(void *ctx, const struct journal_plan_event *ev)
{
    cluster_plan_note(ctx, ev->plan_id, ev->object_id, ev->version ? ev->version : "",
                      journal_plan_state_name(ev->state), ev->bytes_done, ev->bytes_total);
}

void cluster_hooks_attach(struct cluster *c, struct journal *j)
{
    struct journal_hooks h = {.fence = fence, .plan_event = plan_event, .ctx = c};

    journal_set_hooks(j, c ? &h : NULL);
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
