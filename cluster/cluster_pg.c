/* cluster_pg.c: libpq connections and queries, with errors in the house convention. */
#include "cluster_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

uint64_t cpg_mono_ns(void)
{
    struct timespec ts;

    /* CLOCK_BOOTTIME: CLOCK_MONOTONIC stands still while the machine is suspended, and a
     * host that slept past its lease would wake believing it still held it */
    clock_gettime(CLOCK_BOOTTIME, &ts);
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

void cpg_redact(const char *url, char *buf, size_t size)
{
    size_t o = 0;
    const char *s = url ? url : "";
    const char *scheme = strstr(s, "://");
    /* the URI's user info ends at the last '@' before the host's part */
    const char *auth = scheme ? scheme + 3 : NULL;
    const char *at = NULL, *colon = NULL;

    if (auth) {
        const char *end = auth + strcspn(auth, "/?");
        for (const char *q = auth; q < end; q++)
            if (*q == '@')
                at = q;
        if (at)
            colon = memchr(auth, ':', (size_t)(at - auth));
    }
    if (!size)
        return;
    while (*s && o + 1 < size) {
        if (colon && s == colon + 1) {
            o += (size_t)snprintf(buf + o, size - o, "***");
            s = at;
            continue;
        }
        /* password=... as a key=value word or in the URI's query */
        if (!strncasecmp(s, "password=", 9) &&
            (s == url || s[-1] == ' ' || s[-1] == '?' || s[-1] == '&')) {
            o += (size_t)snprintf(buf + o, size - o, "password=***");
            s += 9;
            if (*s == '\'') {
                for (s++; *s && *s != '\''; s++)
                    if (*s == '\\' && s[1])
                        s++;
                if (*s)
                    s++;
            } else {
                s += strcspn(s, " &");
            }
            continue;
        }
        buf[o++] = *s++;
    }
    if (o >= size)
        o = size - 1;
    buf[o] = 0;
}

/* Settings of every connection of ours (made again after a reset): a statement that hangs
 * on the server ends (OCFLFS_CLUSTER_STATEMENT_MS, 30 s). */
static int session_setup(PGconn *db)
{
    const char *s = getenv("OCFLFS_CLUSTER_STATEMENT_MS");
    char sql[80];
    unsigned long long ms = s && *s ? strtoull(s, NULL, 10) : 0;
    PGresult *res;
    int ok;

    snprintf(sql, sizeof(sql), "SET statement_timeout = %llu", ms ? ms : 30000ull);
    res = PQexec(db, sql);
    ok = res && PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -EIO;
}

int cpg_connect(const char *url, PGconn **ret, struct ocfl_err *err)
{
    /* dbname last: the URL's own settings win over these defaults before it (libpq keeps
     * the last value of a key).  TCP keepalives and a user timeout: a server that went away
     * without a word (a host down, a cable out) breaks the connection within ~15 s instead
     * of the kernel's two hours, so that no call waits on it for ever. */
    const char *keys[] = {"connect_timeout",
                          "application_name",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "dbname",
                          NULL};
    const char *vals[] = {"10", "ocflfs", "1", "5", "2", "3", "15000", url, NULL};
    char buf[512], shown[512];
    PGconn *db;

    if (!url || !*url)
        return ocfl_err_set(err, -EINVAL, "cluster: no PostgreSQL URL");
    db = PQconnectdbParams(keys, vals, 1);
    if (!db)
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    if (PQstatus(db) != CONNECTION_OK || session_setup(db) < 0) {
        cpg_redact(url, shown, sizeof(shown));
        int r = ocfl_err_set(err, -ECONNREFUSED, "cluster: cannot connect to '%s': %s", shown,
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
    /* A connection that broke (a server restarted, a connection terminated) is made again
     * before the next call: the call that found it broken failed (it is not sent twice:
     * a statement cut off may have run), the ones after it work again. */
    if (PQstatus(db) == CONNECTION_BAD) {
        PQreset(db);
        if (PQstatus(db) == CONNECTION_OK)
            session_setup(db);
    }
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
