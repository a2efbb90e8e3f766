/* cluster_hooks.h: the glue between a journal and the cluster (fs/ knows both rooms). */
#ifndef OCFLFS_CLUSTER_HOOKS_H
#define OCFLFS_CLUSTER_HOOKS_H

#include <jansson.h>

#include "cluster.h"
#include "journal.h"

/*
 * Join the cluster at @url as @host (NULL: this machine's hostname) for the storage root
 * @root: *ret_cluster joined (cluster_close), *ret_state the host's state directory (the
 * caller's to free): @state when given, else ROOT/extensions/ocflfs/hosts/NAME, on the
 * shared storage where the other hosts reach it.  0 or a negative errno (cluster_open's).
 */
int cluster_hooks_join(const char *url, const char *host, const char *root, const char *state,
                       struct cluster **ret_cluster, char **ret_state, struct ocfl_err *err);

/* Let @j's plans run under @c's leases: the fence before each switch step is
 * cluster_lease_check, and every plan's state goes to the cluster's table. */
void cluster_hooks_attach(struct cluster *c, struct journal *j);

/* The same for the journal of host @host that this one took over (its plans keep their
 * host's name in the cluster's table); @hc is the caller's and outlives the journal. */
struct cluster_hooks_ctx {
    struct cluster *c;
    const char *host;
};
void cluster_hooks_attach_host(struct cluster_hooks_ctx *hc, struct journal *j);

/*
 * journal_recover (or journal_plan_run of plan @only, when not 0) under @c's leases: each
 * unfinished plan of @j runs once this host holds its object's lease, given back after (not
 * after a fenced plan: it stays unfinished, for the lease's next holder).  The number of
 * plans done, or the first error; *ret_failed (optional) counts the failures.
 */
int cluster_hooks_recover(struct cluster *c, struct journal *j, struct ocfl_root *root,
                          int64_t only, journal_progress_fn progress, void *ctx, size_t *ret_failed,
                          struct ocfl_err *err);

/* A line for the log: @ctx's, printf-style. */
typedef void (*cluster_hooks_log_fn)(void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Take over every host whose heartbeat stopped (cluster_takeover_claim): open its journal
 * (ROOT/extensions/ocflfs/hosts/NAME, or the state dir it recorded when that is elsewhere)
 * as JOURNAL_TAKEOVER and finish or revert its unfinished plans as `resume` does, each under
 * its object's lease (cluster_hooks_recover).  Its staged changes stay in its state dir.
 * @root is the storage root open at @root_path.  The number of hosts taken over, or an error;
 * each one is logged through @log.
 */
int cluster_hooks_takeover(struct cluster *c, struct ocfl_root *root, const char *root_path,
                           cluster_hooks_log_fn log, void *ctx, struct ocfl_err *err);

/* cluster_hooks_takeover on a thread, every heartbeat, until _stop.  NULL when the thread
 * could not start. */
struct cluster_takeover;
struct cluster_takeover *cluster_hooks_takeover_start(struct cluster *c, struct ocfl_root *root,
                                                      const char *root_path,
                                                      cluster_hooks_log_fn log, void *ctx);
void cluster_hooks_takeover_stop(struct cluster_takeover *t);

/* {"host": NAME, "hosts": [{"name", "state", "pid", "heartbeat_age", "taken_by"}...]}: this
 * host and the others, as the last heartbeat read them (for the root's .ocfl/status). */
json_t *cluster_hooks_status_json(struct cluster *c);

#endif
