/* cluster_int.h: what the cluster room's files share (not a public contract). */
#ifndef OCFLFS_CLUSTER_INT_H
#define OCFLFS_CLUSTER_INT_H

#include <pthread.h>

#include <libpq-fe.h>

#include "cluster.h"

/* A lease this host holds, and until when (cpg_mono_ns) it may count on it. */
struct cluster_lease {
    char *object_id;
    uint64_t valid_until_ns;
};

struct cluster {
    PGconn *db;         /* the callers' connection, under mu */
    PGconn *beat_db;    /* the heartbeat thread's own (libpq connections are not shared) */
    pthread_mutex_t mu; /* db: held across round trips */
    /* leases, lost, hosts: never held across a round trip (a lease check answers from the
     * monotonic clock while the server hangs); taken after mu when both are */
    pthread_mutex_t lmu;
    char host[65];
    char session[40]; /* this process's membership: a restarted host is another session */
    uint64_t lease_ms, margin_ms, max_skew_ms, wait_ms, beat_ms;
    struct cluster_lease *leases;
    size_t n_leases;
    int lost; /* the host's row was taken by another: every lease is gone */
    /* the hosts as the heartbeat thread last read them, and when (cpg_mono_ns) */
    struct cluster_host_info *hosts;
    size_t n_hosts;
    uint64_t hosts_ns;
    int joined;
    char taken_by[65]; /* who took this host over while it was away, "" when nobody */
    char *url;
    /* the listener (notice.c): its own connection and thread */
    PGconn *listen_db;
    pthread_t listener;
    int listening;
    int listen_stop;  /* under stop_mu */
    unsigned resyncs; /* under stop_mu: how often the listener reconnected and read the index */
    cluster_notice_fn notice_fn;
    void *notice_ctx;
    pthread_t beat;
    int beating;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    int stop;
};

/* SQL, on row ROW of ocflfs_hosts in state 'taking' (MS: the parameter of the staleness in
 * ms): the host that claimed it is no longer live with a fresh heartbeat (it died in the
 * middle of the takeover). */
#define CPG_TAKER_GONE(ROW, MS)                                                                    \
    "NOT EXISTS (SELECT 1 FROM ocflfs_hosts t WHERE t.name = " ROW ".taken_by"                     \
    " AND t.state = 'live' AND t.heartbeat + " MS "::bigint * interval '1 millisecond' >= now())"

/* CLOCK_BOOTTIME in ns: monotonic, and counting while the machine is suspended. */
uint64_t cpg_mono_ns(void);

/* @url for a message: its password (URI user info, password=) as ***. */
void cpg_redact(const char *url, char *buf, size_t size);

/* Connect to @url (a private connection, with a 10 s connect timeout, TCP keepalives and a
 * user timeout unless the URL says otherwise, and a statement timeout). */
int cpg_connect(const char *url, PGconn **ret, struct ocfl_err *err);

/*
 * Run @sql with @n text parameters on @db (with none, @sql may hold several statements).  0 with
 * *ret (PGresult, the caller's: PQclear) when it returned rows or a command status; @ret may be
 * NULL.  Else -EIO (-ECONNRESET when the connection broke), with the server's message.
 */
int cpg_exec(PGconn *db, const char *sql, int n, const char *const *params, PGresult **ret,
             struct ocfl_err *err);

/* Create or migrate the schema of @db to CLUSTER_SCHEMA_VERSION (schema.c). */
int cpg_migrate(PGconn *db, struct ocfl_err *err);

/* The durations from @o, the environment, or the defaults. */
void cpg_durations(struct cluster *c, const struct cluster_options *o);

/* Read every host on @db into *ret (cluster_host_infos_free). */
int cpg_hosts_read(PGconn *db, struct cluster_host_info **ret, size_t *ret_n, struct ocfl_err *err);

/* Stop the listener (notice.c), when it runs. */
void cpg_listen_stop(struct cluster *c);

/* Renew every lease held (the heartbeat thread; lease.c).  -ENOLCK when one was lost. */
int cpg_leases_renew(struct cluster *c, PGconn *db);

#endif
