/* cluster_pg.c: libpq connections and queries, with errors in the house convention. */
#include "cluster_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t cpg_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* libpq's messages end in a newline: without it, for ours. */
static const char *pq_msg(const char *m, char *buf, size_t size)
{
    size_t n;

    snprintf(buf, size, "%s", m && *m ? m : "unknown error");
    n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = 0;
    return buf;
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int cpg_connect(const char *url, PGconn **ret, struct ocfl_err *err)
{
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {url, "10", "ocflfs", NULL};
    char buf[512];
    PGconn *db;

    if (!url || !*url)
        return ocfl_err_set(err, -EINVAL, "cluster: no PostgreSQL URL");
    /* expand_dbname: the URL's own settings win over the defaults after it */
    db = PQconnectdbParams(keys, vals, 1);
    if (!db)
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    if (PQstatus(db) != CONNECTION_OK) {
        int r = ocfl_err_set(err, -ECONNREFUSED, "cluster: cannot connect to '%s': %s", url,
                             pq_msg(PQerrorMessage(db), buf, sizeof(buf)));
        PQfinish(db);
        return r;
    }
    PQsetNoticeProcessor(db, quiet, NULL); /* library code never prints */
    *ret = db;
    return 0;
}

int cpg_exec(PGconn *db, const char *sql, int n, const char *const *params, PGresult **ret,
             struct ocfl_err *err)
{
    /* without parameters the simple protocol, which takes several statements (migrations) */
    PGresult *res = n ? PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0) : PQexec(db, sql);
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    char buf[512];

    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        if (ret)
            *ret = res;
        else
            PQclear(res);
        return 0;
    }
    int code = PQstatus(db) == CONNECTION_BAD ? -ECONNRESET : -EIO;
    ocfl_err_set(err, code, "cluster: %s",
                 pq_msg(res ? PQresultErrorMessage(res) : PQerrorMessage(db), buf, sizeof(buf)));
    PQclear(res);
    return code;
}

static uint64_t env_ms(const char *name, uint64_t given, uint64_t dflt)
{
    const char *s = getenv(name);
    char *end;
    unsigned long long v;

    if (given)
        return given;
    if (s && *s) {
        v = strtoull(s, &end, 10);
        if (!*end && v > 0)
            return v;
    }
    return dflt;
}

void cpg_durations(struct cluster *c, const struct cluster_options *o)
{
    c->lease_ms = env_ms("OCFLFS_CLUSTER_LEASE_MS", o ? o->lease_ms : 0, 10000);
    c->margin_ms = env_ms("OCFLFS_CLUSTER_MARGIN_MS", o ? o->margin_ms : 0, 2000);
    c->max_skew_ms = env_ms("OCFLFS_CLUSTER_SKEW_MS", o ? o->max_skew_ms : 0, 1000);
    c->wait_ms = env_ms("OCFLFS_CLUSTER_WAIT_MS", o ? o->wait_ms : 0, 30000);
    /* a margin of at least a third of the lease would leave no time to use it */
    if (c->margin_ms * 3 > c->lease_ms)
        c->margin_ms = c->lease_ms / 3;
    /* renewed four times a lease: a lost round or two still leaves the margin */
    c->beat_ms = c->lease_ms / 4 ? c->lease_ms / 4 : 1;
}
