/* cluster_notice.c: the shared object index, and the notice of every switch (LISTEN/NOTIFY). */
#include "cluster_int.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHANNEL     "ocflfs_objects"
#define PAYLOAD_MAX 7999 /* PostgreSQL's limit is 8000 bytes */

int cluster_object_switched(struct cluster *c, const char *origin, const char *object_id,
                            const char *path, const char *head, const char *digest,
                            struct ocfl_err *err)
{
    char *payload = NULL;
    int r;

    /* host, head, digest and path on a line each, the id (anything) last */
    if (asprintf(&payload, "%s\n%s\n%s\n%s\n%s", origin ? origin : c->host, head ? head : "",
                 digest ? digest : "", path ? path : "", object_id) < 0)
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    const char *p[6] = {object_id,        path ? path : "",
                        head ? head : "", digest ? digest : "",
                        c->host,          strlen(payload) <= PAYLOAD_MAX ? payload : NULL};
    pthread_mutex_lock(&c->mu);
    r = cpg_exec(c->db, "BEGIN", 0, NULL, NULL, err);
    if (r == 0)
        r = head ? cpg_exec(c->db,
                            "INSERT INTO ocflfs_objects (object_id, path, head, inventory_digest,"
                            "  host) VALUES ($1, $2, $3, $4, $5)"
                            " ON CONFLICT (object_id) DO UPDATE SET path = EXCLUDED.path,"
                            "  head = EXCLUDED.head, inventory_digest = EXCLUDED.inventory_digest,"
                            "  host = EXCLUDED.host, updated = now()"
                            /* only forward: a late or repeated notice of an older version
                             * (a plan finished twice, by its taker and by its woken host)
                             * never moves the head back */
                            " WHERE CASE WHEN ocflfs_objects.head ~ '^v[0-9]{1,18}$'"
                            "  AND EXCLUDED.head ~ '^v[0-9]{1,18}$'"
                            "  THEN substr(EXCLUDED.head, 2)::bigint"
                            "       >= substr(ocflfs_objects.head, 2)::bigint ELSE true END",
                            5, p, NULL, err)
                 : cpg_exec(c->db, "DELETE FROM ocflfs_objects WHERE object_id = $1", 1, p, NULL,
                            err);
    /* a notice too long for PostgreSQL is not sent: the others see the change when they
     * look at the object (its inventory's age), as without the cluster */
    if (r == 0 && p[5])
        r = cpg_exec(c->db, "SELECT pg_notify('" CHANNEL "', $1)", 1, p + 5, NULL, err);
    if (r == 0)
        r = cpg_exec(c->db, "COMMIT", 0, NULL, NULL, err);
    else
        cpg_exec(c->db, "ROLLBACK", 0, NULL, NULL, NULL);
    pthread_mutex_unlock(&c->mu);
    free(payload);
    return r;
}

/* Split a payload (host, head, digest, path, id) and hand it on. */
static void deliver(struct cluster *c, char *payload)
{
    char *f[4], *s = payload;

    for (int i = 0; i < 4; i++) {
        char *nl = strchr(s, '\n');
        if (!nl)
            return; /* not ours */
        *nl = 0;
        f[i] = s;
        s = nl + 1;
    }
    struct cluster_notice n = {
        .host = f[0], .head = f[1], .digest = f[2], .path = f[3], .object_id = s};
    c->notice_fn(c->notice_ctx, &n);
}

static int listen_connect(struct cluster *c)
{
    if (c->listen_db) {
        PQfinish(c->listen_db);
        c->listen_db = NULL;
    }
    if (cpg_connect(c->url, &c->listen_db, NULL) < 0)
        return -1;
    return cpg_exec(c->listen_db, "LISTEN " CHANNEL, 0, NULL, NULL, NULL);
}

/* After a reconnect: the notices sent while the listener was away are lost, so every
 * object of the shared index is handed on as if announced again (the callback drops only
 * what differs from what it has: the digest tells).  Read after the LISTEN: a switch in
 * between is seen twice at worst. */
static void resync(struct cluster *c)
{
    PGresult *res;

    if (cpg_exec(c->listen_db,
                 "SELECT host, head, inventory_digest, path, object_id FROM ocflfs_objects", 0,
                 NULL, &res, NULL) < 0)
        return;
    for (int i = 0; i < PQntuples(res); i++) {
        struct cluster_notice n = {.host = PQgetvalue(res, i, 0),
                                   .head = PQgetvalue(res, i, 1),
                                   .digest = PQgetvalue(res, i, 2),
                                   .path = PQgetvalue(res, i, 3),
                                   .object_id = PQgetvalue(res, i, 4)};
        /* this host's own switches too: made by another process under its name (a put, a
         * takeover) while the notices were not heard */
        if (!strcmp(n.host, c->host))
            n.host = "";
        c->notice_fn(c->notice_ctx, &n);
    }
    PQclear(res);
    pthread_mutex_lock(&c->stop_mu);
    c->resyncs++;
    pthread_mutex_unlock(&c->stop_mu);
}

static void *listen_main(void *arg)
{
    struct cluster *c = arg;

    for (;;) {
        pthread_mutex_lock(&c->stop_mu);
        int stop = c->listen_stop;
        pthread_mutex_unlock(&c->stop_mu);
        if (stop)
            break;
        if (!c->listen_db || PQstatus(c->listen_db) == CONNECTION_BAD) {
            if (listen_connect(c) < 0) {
                struct pollfd none = {.fd = -1};
                poll(&none, 0, 500); /* the server away: try again in a while */
                continue;
            }
            resync(c);
        }
        /* woken by a notice, or every 200 ms to look at the stop flag */
        struct pollfd pfd = {.fd = PQsocket(c->listen_db), .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        if (!PQconsumeInput(c->listen_db))
            continue; /* broken: made again above */
        PGnotify *n;
        while ((n = PQnotifies(c->listen_db))) {
            deliver(c, n->extra);
            PQfreemem(n);
        }
    }
    return NULL;
}

int cluster_listen(struct cluster *c, cluster_notice_fn fn, void *ctx, struct ocfl_err *err)
{
    if (c->listening)
        return ocfl_err_set(err, -EALREADY, "cluster: listening already");
    c->notice_fn = fn;
    c->notice_ctx = ctx;
    if (listen_connect(c) < 0) {
        char shown[512];
        cpg_redact(c->url, shown, sizeof(shown));
        return ocfl_err_set(err, -ECONNREFUSED, "cluster: cannot listen for notices on '%s'",
                            shown);
    }
    if (pthread_create(&c->listener, NULL, listen_main, c) != 0)
        return ocfl_err_set(err, -EAGAIN, "cluster: cannot start the listener thread");
    c->listening = 1;
    return 0;
}

void cpg_listen_stop(struct cluster *c)
{
    if (c->listening) {
        pthread_mutex_lock(&c->stop_mu);
        c->listen_stop = 1;
        pthread_mutex_unlock(&c->stop_mu);
        pthread_join(c->listener, NULL);
        c->listening = 0;
    }
    if (c->listen_db)
        PQfinish(c->listen_db);
    c->listen_db = NULL;
}

int cluster_objects(struct cluster *c, struct cluster_object_info **ret, size_t *ret_n,
                    struct ocfl_err *err)
{
    PGresult *res;
    int r;

    pthread_mutex_lock(&c->mu);
    r = cpg_exec(c->db,
                 "SELECT object_id, path, head, inventory_digest FROM ocflfs_objects"
                 " ORDER BY object_id",
                 0, NULL, &res, err);
    pthread_mutex_unlock(&c->mu);
    if (r < 0)
        return r;
    size_t n = (size_t)PQntuples(res);
    struct cluster_object_info *v = calloc(n ? n : 1, sizeof(*v));
    int ok = v != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        v[i].object_id = strdup(PQgetvalue(res, (int)i, 0));
        v[i].path = strdup(PQgetvalue(res, (int)i, 1));
        v[i].head = strdup(PQgetvalue(res, (int)i, 2));
        v[i].digest = strdup(PQgetvalue(res, (int)i, 3));
        ok = v[i].object_id && v[i].path && v[i].head && v[i].digest;
    }
    PQclear(res);
    if (!ok) {
        cluster_object_infos_free(v, n);
        return ocfl_err_set(err, -ENOMEM, "cluster: out of memory");
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

void cluster_object_infos_free(struct cluster_object_info *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        free(v[i].object_id);
        free(v[i].path);
        free(v[i].head);
        free(v[i].digest);
    }
    free(v);
}

void cluster_close_listener(struct cluster *c)
{
    if (c)
        cpg_listen_stop(c);
}
