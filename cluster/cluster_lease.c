/* cluster_lease.c: object leases: taken, renewed by the heartbeat, checked before a switch. */
#include "cluster_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS UINT64_C(1000000)

/* The lease of @oid among those held (c->lmu held), or NULL. */
static struct cluster_lease *held(struct cluster *c, const char *oid)
{
    for (size_t i = 0; i < c->n_leases; i++)
        if (!strcmp(c->leases[i].object_id, oid))
            return &c->leases[i];
    return NULL;
}

/* One try: 1 taken, 0 another holds it (named in @holder, until @until), or an error. */
static int try_take(struct cluster *c, const char *oid, char *holder, size_t hsize, char *until,
                    size_t usize, struct ocfl_err *err)
{
    char lease[24], grace[24];
    const char *p[5] = {oid, c->host, c->session, lease, grace};
    PGresult *res;
    uint64_t sent = cpg_mono_ns(); /* the lease counts from before the server's now() */
    int r;

    snprintf(lease, sizeof(lease), "%" PRIu64, c->lease_ms);
    snprintf(grace, sizeof(grace), "%" PRIu64, cluster_grace_ms(c));
    pthread_mutex_lock(&c->mu);
    r = cpg_exec(c->db,
                 "INSERT INTO ocflfs_leases (object_id, host, session, expires)"
                 " SELECT $1, $2, $3, now() + $4::bigint * interval '1 millisecond'"
                 /* only while this session is the host, live: a host claimed by a taker
                  * (which has its journal) takes no lease, even before its heartbeat finds
                  * out; the row lock orders the take and a claim */
                 " WHERE EXISTS (SELECT 1 FROM ocflfs_hosts WHERE name = $2 AND session = $3"
                 "  AND state = 'live' FOR SHARE)"
                 " ON CONFLICT (object_id) DO UPDATE SET host = EXCLUDED.host,"
                 "  session = EXCLUDED.session, expires = EXCLUDED.expires, acquired = now()"
                 " WHERE ocflfs_leases.expires + $5::bigint * interval '1 millisecond' < now()"
                 "  OR (ocflfs_leases.host = EXCLUDED.host"
                 "      AND ocflfs_leases.session = EXCLUDED.session)"
                 " RETURNING 1",
                 5, p, &res, err);
    if (r == 0) {
        r = PQntuples(res) == 1;
        PQclear(res);
    }
    if (r == 1) {
        pthread_mutex_lock(&c->lmu);
        /* another thread of this host took it meanwhile (the row is this session's either
         * way): one commit of an object at a time, the row stays the other's */
        if (held(c, oid)) {
            pthread_mutex_unlock(&c->lmu);
            pthread_mutex_unlock(&c->mu);
            return ocfl_err_set(err, -EALREADY,
                                "cluster: this host holds the lease of '%s' already", oid);
        }
        struct cluster_lease *v = realloc(c->leases, (c->n_leases + 1) * sizeof(*v));
        char *id = strdup(oid);
        if (!v || !id) {
            free(id);
            if (v)
                c->leases = v;
            pthread_mutex_unlock(&c->lmu);
            cpg_exec(c->db, "DELETE FROM ocflfs_leases WHERE object_id = $1 AND session = $3", 3, p,
                     NULL, NULL);
            pthread_mutex_unlock(&c->mu);
            return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
        }
        c->leases = v;
        v[c->n_leases].object_id = id;
        v[c->n_leases++].valid_until_ns = sent + c->lease_ms * MS;
        pthread_mutex_unlock(&c->lmu);
    } else if (r == 0 && cpg_exec(c->db,
                                  "SELECT l.host, l.expires::text, EXISTS (SELECT 1 FROM"
                                  "  ocflfs_hosts h WHERE h.name = $2 AND h.session = $3"
                                  "  AND h.state = 'live') FROM (SELECT 1) o"
                                  " LEFT JOIN ocflfs_leases l ON l.object_id = $1",
                                  3, p, &res, NULL) == 0) {
        if (PQntuples(res) >= 1 && !strcmp(PQgetvalue(res, 0, 2), "f")) {
            PQclear(res);
            pthread_mutex_unlock(&c->mu);
            pthread_mutex_lock(&c->lmu);
            c->lost = 1; /* as the heartbeat would find */
            pthread_mutex_unlock(&c->lmu);
            return ocfl_err_set(err, -ENOLCK,
                                "cluster: host '%s' was taken over by another host; restart it "
                                "(not taking the lease of '%s')",
                                c->host, oid);
        }
        if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
            snprintf(holder, hsize, "%s", PQgetvalue(res, 0, 0));
            snprintf(until, usize, "%s", PQgetvalue(res, 0, 1));
        }
        PQclear(res);
    }
    pthread_mutex_unlock(&c->mu);
    return r;
}

int cluster_lease_take(struct cluster *c, const char *object_id, struct ocfl_err *err)
{
    char holder[80] = "?", until[64] = "?";
    uint64_t end = cpg_mono_ns() + c->wait_ms * MS;
    int r;

    pthread_mutex_lock(&c->lmu);
    r = !c->joined ? ocfl_err_set(err, -EPERM, "cluster: not joined: no leases")
        : c->lost
            ? ocfl_err_set(err, -ENOLCK,
                           "cluster: host '%s' was taken over by another host; restart it", c->host)
        : held(c, object_id)
            ? ocfl_err_set(err, -EALREADY, "cluster: this host holds the lease of '%s' already",
                           object_id)
            : 0;
    pthread_mutex_unlock(&c->lmu);
    if (r < 0)
        return r;
    for (;;) {
        r = try_take(c, object_id, holder, sizeof(holder), until, sizeof(until), err);
        /* a connection found broken is made again by the next try (the upsert is this
         * session's either way: sent twice, it takes the lease once) */
        if (r == -ECONNRESET && cpg_mono_ns() < end) {
            struct timespec ts = {0, 50 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (r != 0)
            return r < 0 ? r : 0;
        if (cpg_mono_ns() >= end)
            return ocfl_err_set(err, -EBUSY,
                                "object '%s' is being changed by host '%s' (its lease runs "
                                "until %s); waited %.1f s",
                                object_id, holder, until, (double)c->wait_ms / 1000);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int cluster_lease_check(struct cluster *c, const char *object_id, struct ocfl_err *err)
{
    uint64_t now;
    int r = 0;

    /* local state only, under lmu (never held across a round trip): a hung server does not
     * hold up the answer, and a lease whose renewals fail runs out on this clock */
    pthread_mutex_lock(&c->lmu);
    now = cpg_mono_ns(); /* after the lock */
    struct cluster_lease *l = held(c, object_id);
    if (c->lost)
        r = ocfl_err_set(err, -ENOLCK,
                         "cluster: host '%s' was taken over by another host (its leases are "
                         "gone): not writing '%s'",
                         c->host, object_id);
    else if (!l)
        r = ocfl_err_set(err, -ENOLCK, "cluster: this host holds no lease of '%s'", object_id);
    else if (now + c->margin_ms * MS > l->valid_until_ns)
        r = ocfl_err_set(err, -ENOLCK,
                         "cluster: the lease of '%s' has %.3f s left, less than the margin of "
                         "%.3f s (not renewed in time): stopping before the switch",
                         object_id,
                         l->valid_until_ns > now ? (double)(l->valid_until_ns - now) / 1e9 : 0.0,
                         (double)c->margin_ms / 1000);
    pthread_mutex_unlock(&c->lmu);
    return r;
}

int cluster_lease_retake(struct cluster *c, const char *object_id, struct ocfl_err *err)
{
    const char *p[2] = {c->host, c->session};
    PGresult *res;
    int r, live;

    /* still this session's row, live: nobody claimed this host (a claim needs a stale
     * heartbeat, and ends its session's leases) */
    pthread_mutex_lock(&c->mu);
    r = cpg_exec(c->db,
                 "SELECT 1 FROM ocflfs_hosts WHERE name = $1 AND session = $2 AND state = 'live'",
                 2, p, &res, err);
    live = r == 0 && PQntuples(res) == 1;
    if (r == 0)
        PQclear(res);
    pthread_mutex_unlock(&c->mu);
    if (r < 0)
        return r;
    pthread_mutex_lock(&c->lmu);
    if (c->lost)
        live = 0;
    struct cluster_lease *l = live ? held(c, object_id) : NULL;
    if (l) { /* forgotten here only: the row stays this session's until taken again */
        free(l->object_id);
        *l = c->leases[--c->n_leases];
    }
    pthread_mutex_unlock(&c->lmu);
    if (!live)
        return ocfl_err_set(err, -ENOLCK,
                            "cluster: host '%s' was taken over: not taking '%s' again", c->host,
                            object_id);
    return cluster_lease_take(c, object_id, err);
}

void cluster_lease_drop(struct cluster *c, const char *object_id)
{
    const char *p[3] = {object_id, c->host, c->session};

    /* mu first and across: no take of the object by another thread between the two */
    pthread_mutex_lock(&c->mu);
    pthread_mutex_lock(&c->lmu);
    struct cluster_lease *l = held(c, object_id);
    if (l) {
        free(l->object_id);
        *l = c->leases[--c->n_leases];
    }
    pthread_mutex_unlock(&c->lmu);
    if (l)
        cpg_exec(c->db,
                 "DELETE FROM ocflfs_leases WHERE object_id = $1 AND host = $2 AND session = $3", 3,
                 p, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
}

int cpg_leases_renew(struct cluster *c, PGconn *db)
{
    char lease[24];
    const char *p[3] = {c->host, c->session, lease};
    PGresult *res;
    uint64_t sent = cpg_mono_ns();
    size_t n;

    pthread_mutex_lock(&c->lmu);
    n = c->lost ? 0 : c->n_leases; /* taken over: the leases are the taker's to take */
    pthread_mutex_unlock(&c->lmu);
    if (!n)
        return 0;
    snprintf(lease, sizeof(lease), "%" PRIu64, c->lease_ms);
    if (cpg_exec(db,
                 "UPDATE ocflfs_leases SET expires = now() + $3::bigint * interval '1 millisecond'"
                 " WHERE host = $1 AND session = $2 AND expires > now() RETURNING object_id",
                 3, p, &res, NULL) < 0)
        return -EIO; /* not renewed: the leases run out on their own */
    pthread_mutex_lock(&c->lmu);
    for (int i = 0; i < PQntuples(res); i++) {
        struct cluster_lease *l = held(c, PQgetvalue(res, i, 0));
        if (l && l->valid_until_ns < sent + c->lease_ms * MS)
            l->valid_until_ns = sent + c->lease_ms * MS;
    }
    int lost = (size_t)PQntuples(res) < c->n_leases;
    pthread_mutex_unlock(&c->lmu);
    PQclear(res);
    return lost ? -ENOLCK : 0;
}
