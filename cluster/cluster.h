/* cluster.h: several hosts on one storage root, coordinated through PostgreSQL. */
#ifndef OCFLFS_CLUSTER_H
#define OCFLFS_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * A host joins the cluster of a storage root under a name and keeps a heartbeat; an object
 * is changed only under its lease, taken in PostgreSQL.  The database holds (schema version
 * CLUSTER_SCHEMA_VERSION, in table ocflfs_schema; created and migrated here):
 *   ocflfs_hosts(name, session, pid, state_dir, started, heartbeat, state, taken_by)
 *     (state: live, left, taking (claimed by taken_by), taken (its takeover done))
 *   ocflfs_leases(object_id, host, session, plan, acquired, expires)
 *   ocflfs_plans(host, plan, object_id, version, state, bytes_done, bytes_total, updated)
 *   ocflfs_objects(object_id, path, head, inventory_digest, host, updated)   -- version 2
 * and announces every switch of a root inventory on the channel ocflfs_objects.
 * One database (or schema, by the URL's options) per storage root.
 *
 * Time.  Every lease and heartbeat time in the database is the server's now(); a holder
 * counts its lease on its own CLOCK_BOOTTIME (monotonic, counting suspends) from the moment it sent
 * the request that took or renewed it, so its view of the end is never later than the server's.
 * Before a switch step it wants at least margin_ms left (cluster_lease_check).  Another host takes
 * a lease only grace_ms after its expiry by the server's clock, grace_ms = margin_ms +
 * max_skew_ms; cluster_open refuses a host whose wall clock differs from the server's by
 * more than max_skew_ms (the plans it makes carry its wall-clock time).
 */
#define CLUSTER_SCHEMA_VERSION 2

struct cluster;

struct cluster_options {
    const char *url;       /* libpq's connection URI or key=value string (postgresql://...) */
    const char *host;      /* this host's name: [A-Za-z0-9._-], 1 to 64 bytes; NULL = hostname */
    const char *state_dir; /* where this host's journal lives, recorded for the others */
    /* 0 = the defaults (or OCFLFS_CLUSTER_LEASE_MS, _MARGIN_MS, _SKEW_MS, _WAIT_MS from the
     * environment): a lease of 10 s, a margin of 2 s, a skew of 1 s, a wait of 30 s */
    uint64_t lease_ms, margin_ms, max_skew_ms, wait_ms;
};

/*
 * Connect to @o->url, create or migrate the schema (under an advisory lock, so hosts starting
 * together migrate once), check the clock skew, and join as @o->host: -EBUSY naming the pid
 * and heartbeat when a live host of that name is in the cluster, -ERANGE when the clocks
 * differ by more than the skew allowed, -ECONNREFUSED (with libpq's message) when the server
 * cannot be reached, -EPROTO for a schema newer than this build.  Starts the heartbeat
 * thread, which also renews the leases held.  *ret is the caller's (cluster_close).
 */
int cluster_open(const struct cluster_options *o, struct cluster **ret, struct ocfl_err *err);

/* Leave: stop the heartbeat, and mark the host left.  A host that still holds a lease (a
 * plan stopped by its fence, not dropped) does not leave: its row stays live with its
 * heartbeat stopped, so that another host takes it over and finishes or reverts the plan.
 * NULL is fine. */
void cluster_close(struct cluster *c);

/* This host's name. */
const char *cluster_host(const struct cluster *c);

/* The grace a taker waits after a lease's expiry (margin + skew), ms. */
uint64_t cluster_grace_ms(const struct cluster *c);

/*
 * Take the lease of @object_id for this host (renewed by the heartbeat until dropped),
 * waiting up to the wait timeout while another host holds it: then -EBUSY naming the holder.
 * Taking a lease this host holds already is -EALREADY (one commit of an object at a time).
 */
int cluster_lease_take(struct cluster *c, const char *object_id, struct ocfl_err *err);

/*
 * Whether this host may still write @object_id's switch: 0 when its lease has at least the
 * margin left on the monotonic clock, else -ENOLCK (the lease is lost, or about to be:
 * stop, write nothing more).
 */
int cluster_lease_check(struct cluster *c, const char *object_id, struct ocfl_err *err);

/*
 * Take again the lease of @object_id that this host held and lost to its clock (a plan
 * stopped by its fence): 0 when this host is still live and not taken over, and nobody else
 * holds the lease (else waits like cluster_lease_take, then -EBUSY); -ENOLCK when the host
 * was taken over (its plans are its taker's now).
 */
int cluster_lease_retake(struct cluster *c, const char *object_id, struct ocfl_err *err);

/* Give back the lease of @object_id (nothing when not held). */
void cluster_lease_drop(struct cluster *c, const char *object_id);

/* A plan's state and progress, for `plans --cluster` (best effort: a failure is ignored):
 * plan @plan of host @host's journal (NULL: this host's; another's when taken over). */
void cluster_plan_note(struct cluster *c, const char *host, int64_t plan, const char *object_id,
                       const char *version, const char *state, uint64_t bytes_done,
                       uint64_t bytes_total);

struct cluster_host_info {
    char *name, *state, *state_dir, *taken_by;
    long pid;
    double heartbeat_age; /* seconds since its last heartbeat, by the server's clock */
};

struct cluster_plan_info {
    char *host, *object_id, *version, *state;
    int64_t plan;
    uint64_t bytes_done, bytes_total;
    double heartbeat_age; /* of its host */
};

/* Every host of the cluster, by name.  *ret freed with cluster_host_infos_free. */
int cluster_hosts(struct cluster *c, struct cluster_host_info **ret, size_t *ret_n,
                  struct ocfl_err *err);
void cluster_host_infos_free(struct cluster_host_info *v, size_t n);

/* The hosts as the heartbeat last read them (every quarter lease), without a round trip to
 * the server: for answers that must not wait on it.  0 or -ENOMEM. */
int cluster_hosts_snapshot(struct cluster *c, struct cluster_host_info **ret, size_t *ret_n);

/* The plans of every host (@all: finished ones too), by host and plan. */
int cluster_plans(struct cluster *c, int all, struct cluster_plan_info **ret, size_t *ret_n,
                  struct ocfl_err *err);
void cluster_plan_infos_free(struct cluster_plan_info *v, size_t n);

/*
 * Claim one host (not this one) that is live in the table but whose heartbeat stopped more
 * than a lease and the grace ago, or one in state 'taking' whose taker is itself no longer
 * live (it died in the middle of the takeover): marked 'taking' by this host, at most one
 * claimer wins.
 * 1 with its name and recorded state dir (the caller frees both), 0 when there is none,
 * or an error.  Its leases have expired by then; cluster_lease_take takes them.
 */
int cluster_takeover_claim(struct cluster *c, char **ret_name, char **ret_state_dir,
                           struct ocfl_err *err);

/* The takeover of host @name (claimed by cluster_takeover_claim) is over: its row becomes
 * 'taken'.  Until then it is 'taking': claimed again by another host should this one die
 * (its heartbeat stale), and a returning host of that name waits to join.  Best effort. */
void cluster_takeover_done(struct cluster *c, const char *name);

/* The host that took this one over while it was away (found at join), or NULL. */
const char *cluster_taken_by(const struct cluster *c);

/* How often the heartbeat beats, ms (a quarter lease). */
uint64_t cluster_beat_ms(const struct cluster *c);

/*
 * Object @object_id at @path (relative to the root) switched to @head, whose inventory has
 * @digest (NULL @head: the object was purged): the shared index updated and the change
 * announced (NOTIFY ocflfs_objects) in one transaction, so that a host sees the notice only
 * once the index has it.  @origin names the host whose journal holds the plan (NULL: this
 * one; a host taken over: its name, so that this host's own mount hears it too).  Best
 * effort: 0, or an error the caller may only log.
 */
int cluster_object_switched(struct cluster *c, const char *origin, const char *object_id,
                            const char *path, const char *head, const char *digest,
                            struct ocfl_err *err);

/* What another host's switch tells: the object's id, path, new head and inventory digest
 * (head "" for a purge), and the host that made it. */
struct cluster_notice {
    const char *host, *object_id, *path, *head, *digest;
};
typedef void (*cluster_notice_fn)(void *ctx, const struct cluster_notice *n);

/*
 * Listen for the switches of every host (this one's included: @fn tells them apart by
 * n->host) on a connection and a thread of their own; @fn runs on that thread, one notice
 * at a time, until cluster_close.  The connection is made again when it breaks (notices
 * sent meanwhile are missed: after a reconnect every object of the shared index is handed
 * to @fn as if announced again, with host "" for this host's own).
 */
int cluster_listen(struct cluster *c, cluster_notice_fn fn, void *ctx, struct ocfl_err *err);

/* Stop listening (before what @fn uses goes); cluster_close does it too. */
void cluster_close_listener(struct cluster *c);

/* One object of the shared index. */
struct cluster_object_info {
    char *object_id, *path, *head, *digest;
};

/* Every object of the shared index, by id.  *ret freed with cluster_object_infos_free. */
int cluster_objects(struct cluster *c, struct cluster_object_info **ret, size_t *ret_n,
                    struct ocfl_err *err);
void cluster_object_infos_free(struct cluster_object_info *v, size_t n);

/* Connect to @url without joining (for `plans --cluster`): the same calls work, except that
 * leases cannot be taken.  Migrates the schema like cluster_open. */
int cluster_connect(const char *url, struct cluster **ret, struct ocfl_err *err);

#endif
