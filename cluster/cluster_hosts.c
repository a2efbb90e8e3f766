/* cluster_hosts.c: joining the cluster, the clock check, the heartbeat, leaving, the hosts. */
#include "cluster_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int valid_name(const char *s)
{
    size_t n = strlen(s);

    /* a directory's name under extensions/ocflfs/hosts/: never "." or ".." */
    if (n == 0 || n > 64 || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* The wall clock; OCFLFS_TEST_CLOCK_OFFSET_MS moves it, so that a test can make a host whose
 * clock is off. */
static double real_s(void)
{
    struct timespec ts;
    const char *off = getenv("OCFLFS_TEST_CLOCK_OFFSET_MS");

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (off ? strtod(off, NULL) / 1000 : 0);
}

/* The host's wall clock against the server's, as this host sees it: refused when they
 * differ by more than the skew allowed (beyond what the round trip cannot tell). */
static int check_skew(struct cluster *c, struct ocfl_err *err)
{
    PGresult *res;
    double t0 = real_s(), t1, server;
    int r =
        cpg_exec(c->db, "SELECT extract(epoch FROM clock_timestamp())::float8", 0, NULL, &res, err);

    if (r < 0)
        return r;
    t1 = real_s();
    server = strtod(PQgetvalue(res, 0, 0), NULL);
    PQclear(res);
    double mid = (t0 + t1) / 2, skew = mid > server ? mid - server : server - mid;
    if (skew * 1000 > (double)c->max_skew_ms + (t1 - t0) * 500)
        return ocfl_err_set(err, -ERANGE,
                            "cluster: host '%s': its clock differs from the PostgreSQL server's "
                            "by %.3f s, more than the %.3f s the leases allow for "
                            "(OCFLFS_CLUSTER_SKEW_MS); set the clocks right (NTP)",
                            c->host, skew, (double)c->max_skew_ms / 1000);
    return 0;
}

/* One try to become host @c->host: 1 joined, 0 a live host of that name holds the row
 * (its pid and heartbeat in *pid / *beat_s), or an error. */
static int try_join(struct cluster *c, const char *state_dir, char *beat, size_t beat_size,
                    long *pid, struct ocfl_err *err)
{
    char spid[24], stale[32];
    const char *p[5] = {c->host, c->session, spid, state_dir, stale};
    PGresult *res;
    int r;

    snprintf(spid, sizeof(spid), "%ld", (long)getpid());
    /* who took this host over while it was away: said once it is back */
    if (cpg_exec(c->db,
                 "SELECT taken_by FROM ocflfs_hosts WHERE name = $1"
                 " AND state IN ('taken', 'taking')",
                 1, p, &res, NULL) == 0) {
        if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
            snprintf(c->taken_by, sizeof(c->taken_by), "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    snprintf(stale, sizeof(stale), "%" PRIu64, c->lease_ms + c->margin_ms + c->max_skew_ms);
    r = cpg_exec(c->db,
                 "INSERT INTO ocflfs_hosts (name, session, pid, state_dir, state)"
                 " VALUES ($1, $2, $3::integer, $4, 'live')"
                 " ON CONFLICT (name) DO UPDATE SET session = EXCLUDED.session,"
                 "  pid = EXCLUDED.pid, state_dir = EXCLUDED.state_dir, state = 'live',"
                 "  taken_by = NULL, heartbeat = now(), started = now()"
                 /* not while another host takes it over (unless that one died) */
                 " WHERE ocflfs_hosts.state NOT IN ('live', 'taking')"
                 "  OR (ocflfs_hosts.state = 'live'"
                 "   AND ocflfs_hosts.heartbeat + $5::bigint * interval '1 millisecond' < now())"
                 "  OR (ocflfs_hosts.state = 'taking' AND " CPG_TAKER_GONE("ocflfs_hosts",
                                                                           "$5") ")"
                                                                                 " RETURNING name",
                 5, p, &res, err);
    if (r < 0)
        return r;
    int joined = PQntuples(res) == 1;
    PQclear(res);
    if (joined)
        return 1;
    r = cpg_exec(c->db,
                 "SELECT pid, heartbeat::text, state, coalesce(taken_by, '') FROM ocflfs_hosts"
                 " WHERE name = $1",
                 1, p, &res, err);
    if (r < 0)
        return r;
    if (PQntuples(res) == 1) {
        *pid = atol(PQgetvalue(res, 0, 0));
        snprintf(beat, beat_size, "%s", PQgetvalue(res, 0, 1));
        if (!strcmp(PQgetvalue(res, 0, 2), "taking")) {
            snprintf(c->taken_by, sizeof(c->taken_by), "%s", PQgetvalue(res, 0, 3));
            PQclear(res);
            return 2;
        }
    }
    PQclear(res);
    return 0;
}

/* Join, waiting out the row of a process of this name that died (its heartbeat stands still
 * until it is stale); a heartbeat that moves is a live host: -EBUSY. */
static int join(struct cluster *c, const char *state_dir, struct ocfl_err *err)
{
    char first[64] = "", beat[64] = "";
    long pid = 0;
    uint64_t end =
        cpg_mono_ns() + (c->lease_ms + c->margin_ms + c->max_skew_ms + 1000) * UINT64_C(1000000);

    /* a takeover of this host under way: waited for (its plans being finished by another),
     * as long as a takeover may wait for the leases it takes, then refused */
    uint64_t taking_end = cpg_mono_ns() + c->wait_ms * UINT64_C(1000000);

    for (;;) {
        int r = try_join(c, state_dir, beat, sizeof(beat), &pid, err);
        if (r == 2) {
            if (cpg_mono_ns() > taking_end)
                return ocfl_err_set(err, -EBUSY,
                                    "cluster: host '%s' is being taken over by host '%s' (its "
                                    "unfinished plans are being finished there): join again "
                                    "once that is done",
                                    c->host, c->taken_by);
            struct timespec ts = {0, 200 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (r != 0)
            return r < 0 ? r : 0;
        if (!first[0])
            snprintf(first, sizeof(first), "%s", beat);
        if (strcmp(first, beat) || cpg_mono_ns() > end)
            return ocfl_err_set(err, -EBUSY,
                                "cluster: host '%s' is in the cluster already (pid %ld, last "
                                "heartbeat %s): give this one another --host",
                                c->host, pid, beat);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void *beat_main(void *arg)
{
    struct cluster *c = arg;
    const char *p[2] = {c->host, c->session};

    pthread_mutex_lock(&c->stop_mu);
    while (!c->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + c->beat_ms * UINT64_C(1000000);
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        pthread_cond_timedwait(&c->stop_cv, &c->stop_mu, &ts);
        if (c->stop)
            break;
        pthread_mutex_unlock(&c->stop_mu);
        if (PQstatus(c->beat_db) == CONNECTION_BAD)
            PQreset(c->beat_db);
        PGresult *res = NULL;
        if (cpg_exec(c->beat_db,
                     "UPDATE ocflfs_hosts SET heartbeat = now() WHERE name = $1 AND session = $2"
                     " AND state = 'live'",
                     2, p, &res, NULL) == 0) {
            int gone = strcmp(PQcmdTuples(res), "1") != 0;
            PQclear(res);
            if (gone) { /* another host took this one over: nothing of ours is ours now */
                pthread_mutex_lock(&c->lmu);
                c->lost = 1;
                pthread_mutex_unlock(&c->lmu);
            }
        }
        cpg_leases_renew(c, c->beat_db);
        struct cluster_host_info *hv;
        size_t hn;
        uint64_t read_ns = cpg_mono_ns();
        if (cpg_hosts_read(c->beat_db, &hv, &hn, NULL) == 0) {
            pthread_mutex_lock(&c->lmu);
            cluster_host_infos_free(c->hosts, c->n_hosts);
            c->hosts = hv;
            c->n_hosts = hn;
            c->hosts_ns = read_ns;
            pthread_mutex_unlock(&c->lmu);
        }
        pthread_mutex_lock(&c->stop_mu);
    }
    pthread_mutex_unlock(&c->stop_mu);
    return NULL;
}

static void make_session(char *buf, size_t size)
{
    unsigned char b[16] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
        uint64_t t = cpg_mono_ns() ^ (uint64_t)getpid() << 32;
        memcpy(b, &t, sizeof(t));
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < sizeof(b) && 2 * i + 2 < size; i++)
        snprintf(buf + 2 * i, 3, "%02x", b[i]);
}

static struct cluster *cluster_new(void)
{
    struct cluster *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->lmu, NULL);
    pthread_mutex_init(&c->stop_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    return c;
}

int cluster_connect(const char *url, struct cluster **ret, struct ocfl_err *err)
{
    struct cluster *c = cluster_new();
    int r;

    if (!c)
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    cpg_durations(c, NULL);
    c->url = url ? strdup(url) : NULL;
    r = cpg_connect(url, &c->db, err);
    if (r == 0)
        r = cpg_migrate(c->db, err);
    if (r < 0) {
        cluster_close(c);
        return r;
    }
    *ret = c;
    return 0;
}

int cluster_open(const struct cluster_options *o, struct cluster **ret, struct ocfl_err *err)
{
    struct cluster *c;
    int r;

    if (o->host && !valid_name(o->host))
        return ocfl_err_set(err, -EINVAL,
                            "cluster: host name '%s': 1 to 64 letters, digits, '.', '_' or '-'"
                            " (not '.' or '..')",
                            o->host);
    r = cluster_connect(o->url, &c, err);
    if (r < 0)
        return r;
    cpg_durations(c, o);
    if (o->host)
        snprintf(c->host, sizeof(c->host), "%s", o->host);
    else if (gethostname(c->host, sizeof(c->host) - 1) < 0 || !valid_name(c->host))
        r = ocfl_err_set(err, -EINVAL,
                         "cluster: this machine's hostname is no host name: give "
                         "--host NAME");
    make_session(c->session, sizeof(c->session));
    if (r == 0)
        r = check_skew(c, err);
    if (r == 0)
        r = join(c, o->state_dir, err);
    if (r == 0) {
        c->joined = 1;
        r = cpg_connect(o->url, &c->beat_db, err);
    }
    if (r == 0) {
        c->hosts_ns = cpg_mono_ns();
        cpg_hosts_read(c->db, &c->hosts, &c->n_hosts, NULL);
        c->beating = pthread_create(&c->beat, NULL, beat_main, c) == 0;
        if (!c->beating)
            r = ocfl_err_set(err, -EAGAIN, "cluster: cannot start the heartbeat thread");
    }
    if (r < 0) {
        cluster_close(c);
        return r;
    }
    *ret = c;
    return 0;
}

void cluster_close(struct cluster *c)
{
    const char *p[2];

    if (!c)
        return;
    cpg_listen_stop(c);
    if (c->beating) {
        pthread_mutex_lock(&c->stop_mu);
        c->stop = 1;
        pthread_cond_broadcast(&c->stop_cv);
        pthread_mutex_unlock(&c->stop_mu);
        pthread_join(c->beat, NULL);
    }
    p[0] = c->host;
    p[1] = c->session;
    /* A lease still held is a plan its fence stopped: the host stays in the table as it is,
     * its heartbeat stopping, so that another host takes it over and finishes the plan. */
    if (c->joined && c->db && !c->n_leases) {
        cpg_exec(c->db, "DELETE FROM ocflfs_leases WHERE host = $1 AND session = $2", 2, p, NULL,
                 NULL);
        cpg_exec(c->db,
                 "UPDATE ocflfs_hosts SET state = 'left' WHERE name = $1 AND session = $2"
                 " AND state = 'live'",
                 2, p, NULL, NULL);
    }
    for (size_t i = 0; i < c->n_leases; i++)
        free(c->leases[i].object_id);
    free(c->leases);
    cluster_host_infos_free(c->hosts, c->n_hosts);
    if (c->beat_db)
        PQfinish(c->beat_db);
    if (c->db)
        PQfinish(c->db);
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->lmu);
    pthread_mutex_destroy(&c->stop_mu);
    pthread_cond_destroy(&c->stop_cv);
    free(c->url);
    free(c);
}

const char *cluster_taken_by(const struct cluster *c)
{
    return c->taken_by[0] ? c->taken_by : NULL;
}

uint64_t cluster_beat_ms(const struct cluster *c)
{
    return c->beat_ms;
}

int cluster_takeover_claim(struct cluster *c, char **ret_name, char **ret_state_dir,
                           struct ocfl_err *err)
{
    char stale[32];
    const char *p[2] = {c->host, stale};
    PGresult *res;
    int r;

    snprintf(stale, sizeof(stale), "%" PRIu64, c->lease_ms + cluster_grace_ms(c));
    pthread_mutex_lock(&c->lmu);
    r = c->lost ? -ENOLCK : 0;
    pthread_mutex_unlock(&c->lmu);
    pthread_mutex_lock(&c->mu);
    r = r < 0 ? r
              : cpg_exec(
                    c->db,
                    "UPDATE ocflfs_hosts h SET state = 'taking', taken_by = $1"
                    " WHERE name = (SELECT name FROM ocflfs_hosts h WHERE name <> $1"
                    "  AND ((state = 'live'"
                    "   AND heartbeat + $2::bigint * interval '1 millisecond' < now())"
                    /* a takeover whose taker died: claimed again */
                    "   OR (state = 'taking' AND " CPG_TAKER_GONE(
                        "h", "$2") "))"
                                   "  ORDER BY name LIMIT 1 FOR UPDATE SKIP LOCKED)"
                                   " AND (state = 'live' OR (state = 'taking' AND " CPG_TAKER_GONE(
                                       "h", "$2") "))"
                                                  " RETURNING name, state_dir",
                    2, p, &res, err);
    pthread_mutex_unlock(&c->mu);
    if (r < 0)
        return r == -ENOLCK
                   ? ocfl_err_set(err, r, "cluster: host '%s' was taken over itself", c->host)
                   : r;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return 0;
    }
    *ret_name = strdup(PQgetvalue(res, 0, 0));
    *ret_state_dir = PQgetisnull(res, 0, 1) ? strdup("") : strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    if (!*ret_name || !*ret_state_dir) {
        free(*ret_name);
        free(*ret_state_dir);
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    }
    return 1;
}

void cluster_takeover_done(struct cluster *c, const char *name)
{
    const char *p[2] = {name, c->host};

    pthread_mutex_lock(&c->mu);
    cpg_exec(c->db,
             "UPDATE ocflfs_hosts SET state = 'taken' WHERE name = $1 AND state = 'taking'"
             " AND taken_by = $2",
             2, p, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
}

const char *cluster_host(const struct cluster *c)
{
    return c->host;
}

uint64_t cluster_grace_ms(const struct cluster *c)
{
    return c->margin_ms + c->max_skew_ms;
}

static char *dup_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : strdup(PQgetvalue(res, row, col));
}

int cpg_hosts_read(PGconn *db, struct cluster_host_info **ret, size_t *ret_n, struct ocfl_err *err)
{
    PGresult *res;
    int r = cpg_exec(db,
                     "SELECT name, state, state_dir, taken_by, pid,"
                     " extract(epoch FROM now() - heartbeat)::float8 FROM ocflfs_hosts"
                     " ORDER BY name",
                     0, NULL, &res, err);

    if (r < 0)
        return r;
    size_t n = (size_t)PQntuples(res);
    struct cluster_host_info *v = calloc(n ? n : 1, sizeof(*v));
    for (size_t i = 0; v && i < n; i++) {
        v[i].name = dup_or_null(res, (int)i, 0);
        v[i].state = dup_or_null(res, (int)i, 1);
        v[i].state_dir = dup_or_null(res, (int)i, 2);
        v[i].taken_by = dup_or_null(res, (int)i, 3);
        v[i].pid = atol(PQgetvalue(res, (int)i, 4));
        v[i].heartbeat_age = strtod(PQgetvalue(res, (int)i, 5), NULL);
    }
    PQclear(res);
    if (!v)
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    *ret = v;
    *ret_n = n;
    return 0;
}

int cluster_hosts(struct cluster *c, struct cluster_host_info **ret, size_t *ret_n,
                  struct ocfl_err *err)
{
    int r;

    pthread_mutex_lock(&c->mu);
    r = cpg_hosts_read(c->db, ret, ret_n, err);
    pthread_mutex_unlock(&c->mu);
    return r;
}

int cluster_hosts_snapshot(struct cluster *c, struct cluster_host_info **ret, size_t *ret_n)
{
    int r = 0;

    pthread_mutex_lock(&c->lmu);
    double since = (double)(cpg_mono_ns() - c->hosts_ns) / 1e9;
    struct cluster_host_info *v = calloc(c->n_hosts ? c->n_hosts : 1, sizeof(*v));
    for (size_t i = 0; v && i < c->n_hosts; i++) {
        const struct cluster_host_info *h = &c->hosts[i];
        v[i] = *h;
        v[i].name = h->name ? strdup(h->name) : NULL;
        v[i].state = h->state ? strdup(h->state) : NULL;
        v[i].state_dir = h->state_dir ? strdup(h->state_dir) : NULL;
        v[i].taken_by = h->taken_by ? strdup(h->taken_by) : NULL;
        v[i].heartbeat_age += since;
    }
    if (v) {
        *ret = v;
        *ret_n = c->n_hosts;
    } else {
        r = -ENOMEM;
    }
    pthread_mutex_unlock(&c->lmu);
    return r;
}

void cluster_host_infos_free(struct cluster_host_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].name);
        free(v[i].state);
        free(v[i].state_dir);
        free(v[i].taken_by);
    }
    free(v);
}
