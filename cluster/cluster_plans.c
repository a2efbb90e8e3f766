/* cluster_plans.c: every host's plans in PostgreSQL, for `ocflfs plans --cluster`. */
#include "cluster_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cluster_plan_note(struct cluster *c, const char *host, int64_t plan, const char *object_id,
                       const char *version, const char *state, uint64_t bytes_done,
                       uint64_t bytes_total)
{
    char id[24], done[24], total[24];
    const char *p[7] = {host ? host : c->host, id, object_id, version, state, done, total};

    if (!c || !c->joined)
        return;
    snprintf(id, sizeof(id), "%" PRId64, plan);
    snprintf(done, sizeof(done), "%" PRIu64, bytes_done);
    snprintf(total, sizeof(total), "%" PRIu64, bytes_total);
    pthread_mutex_lock(&c->mu);
    cpg_exec(c->db,
             "INSERT INTO ocflfs_plans (host, plan, object_id, version, state, bytes_done,"
             "  bytes_total) VALUES ($1, $2::bigint, $3, $4, $5, $6::bigint, $7::bigint)"
             " ON CONFLICT (host, plan) DO UPDATE SET object_id = EXCLUDED.object_id,"
             "  version = EXCLUDED.version, state = EXCLUDED.state,"
             "  bytes_done = EXCLUDED.bytes_done, bytes_total = EXCLUDED.bytes_total,"
             "  updated = now()",
             7, p, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
}

int cluster_plans(struct cluster *c, int all, struct cluster_plan_info **ret, size_t *ret_n,
                  struct ocfl_err *err)
{
    PGresult *res;
    int r;

    pthread_mutex_lock(&c->mu);
    r = cpg_exec(c->db,
                 all ? "SELECT p.host, p.plan, p.object_id, p.version, p.state, p.bytes_done,"
                       " p.bytes_total, extract(epoch FROM now() - h.heartbeat)::float8"
                       " FROM ocflfs_plans p LEFT JOIN ocflfs_hosts h ON h.name = p.host"
                       " ORDER BY p.host, p.plan"
                     : "SELECT p.host, p.plan, p.object_id, p.version, p.state, p.bytes_done,"
                       " p.bytes_total, extract(epoch FROM now() - h.heartbeat)::float8"
                       " FROM ocflfs_plans p LEFT JOIN ocflfs_hosts h ON h.name = p.host"
                       " WHERE p.state IN ('pending', 'running', 'reverting')"
                       " ORDER BY p.host, p.plan",
                 0, NULL, &res, err);
    pthread_mutex_unlock(&c->mu);
    if (r < 0)
        return r;
    size_t n = (size_t)PQntuples(res);
    struct cluster_plan_info *v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++) {
        int k = (int)i;
        v[i].host = strdup(PQgetvalue(res, k, 0));
        v[i].plan = strtoll(PQgetvalue(res, k, 1), NULL, 10);
        v[i].object_id = strdup(PQgetvalue(res, k, 2));
        v[i].version = strdup(PQgetvalue(res, k, 3));
        v[i].state = strdup(PQgetvalue(res, k, 4));
        v[i].bytes_done = strtoull(PQgetvalue(res, k, 5), NULL, 10);
        v[i].bytes_total = strtoull(PQgetvalue(res, k, 6), NULL, 10);
        v[i].heartbeat_age = PQgetisnull(res, k, 7) ? -1 : strtod(PQgetvalue(res, k, 7), NULL);
    }
    PQclear(res);
    if (!v)
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    *ret = v;
    *ret_n = n;
    return 0;
}

void cluster_plan_infos_free(struct cluster_plan_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].host);
        free(v[i].object_id);
        free(v[i].version);
        free(v[i].state);
    }
    free(v);
}
