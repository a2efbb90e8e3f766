/* cluster_schema.c: the cluster's tables in PostgreSQL, created and migrated by version. */
#include "cluster_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* Migration N brings the schema from version N-1 to N; [0] creates version 1. */
static const char *const migrations[] = {
    /* 1: hosts and their heartbeats, object leases, every host's plans */
    "CREATE TABLE ocflfs_hosts ("
    "  name text PRIMARY KEY,"
    "  session text NOT NULL,"
    "  pid integer NOT NULL,"
    "  state_dir text,"
    "  started timestamptz NOT NULL DEFAULT now(),"
    "  heartbeat timestamptz NOT NULL DEFAULT now(),"
    "  state text NOT NULL," /* live, left, taking, taken */
    "  taken_by text);"
    "CREATE TABLE ocflfs_leases ("
    "  object_id text PRIMARY KEY,"
    "  host text NOT NULL,"
    "  session text NOT NULL,"
    "  plan bigint,"
    "  acquired timestamptz NOT NULL DEFAULT now(),"
    "  expires timestamptz NOT NULL);"
    "CREATE INDEX ocflfs_leases_host ON ocflfs_leases (host);"
    "CREATE TABLE ocflfs_plans ("
    "  host text NOT NULL,"
    "  plan bigint NOT NULL,"
    "  object_id text NOT NULL,"
    "  version text,"
    "  state text NOT NULL,"
    "  bytes_done bigint NOT NULL DEFAULT 0,"
    "  bytes_total bigint NOT NULL DEFAULT 0,"
    "  updated timestamptz NOT NULL DEFAULT now(),"
    "  PRIMARY KEY (host, plan));",
    /* 2: the shared object index: every object's path, head and inventory digest, kept by
     * every switch of a root inventory */
    "CREATE TABLE ocflfs_objects ("
    "  object_id text PRIMARY KEY,"
    "  path text NOT NULL,"
    "  head text NOT NULL,"
    "  inventory_digest text NOT NULL,"
    "  host text,"
    "  updated timestamptz NOT NULL DEFAULT now());",
};

#define N_MIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(N_MIGRATIONS == CLUSTER_SCHEMA_VERSION, "one migration per schema version");

int cpg_migrate(PGconn *db, struct ocfl_err *err)
{
    PGresult *res = NULL;
    int r, ver = 0;
    char v[16];
    const char *p[1] = {v};

    r = cpg_exec(db, "BEGIN", 0, NULL, NULL, err);
    if (r < 0)
        return r;
    /* hosts starting together: one migrates, the others wait and then find it done */
    r = cpg_exec(db, "SELECT pg_advisory_xact_lock(1329808972)" /* "OCFL" */, 0, NULL, NULL, err);
    if (r == 0)
        r = cpg_exec(db, "CREATE TABLE IF NOT EXISTS ocflfs_schema (version integer NOT NULL)", 0,
                     NULL, NULL, err);
    if (r == 0)
        r = cpg_exec(db, "SELECT max(version) FROM ocflfs_schema", 0, NULL, &res, err);
    if (r == 0) {
        ver = PQgetisnull(res, 0, 0) ? 0 : atoi(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (ver > CLUSTER_SCHEMA_VERSION)
            r = ocfl_err_set(err, -EPROTO,
                             "cluster: the database has schema version %d, newer than this "
                             "ocflfs knows (%d): upgrade ocflfs on this host",
                             ver, CLUSTER_SCHEMA_VERSION);
    }
    for (int k = ver; r == 0 && k < N_MIGRATIONS; k++) {
        r = cpg_exec(db, migrations[k], 0, NULL, NULL, err);
        if (r < 0)
            ocfl_err_prefix(err, "cluster: migration to schema version %d", k + 1);
    }
    if (r == 0 && ver < CLUSTER_SCHEMA_VERSION) {
        snprintf(v, sizeof(v), "%d", CLUSTER_SCHEMA_VERSION);
        r = cpg_exec(db, "DELETE FROM ocflfs_schema", 0, NULL, NULL, err);
        if (r == 0)
            r = cpg_exec(db, "INSERT INTO ocflfs_schema (version) VALUES ($1)", 1, p, NULL, err);
    }
    if (r == 0)
        return cpg_exec(db, "COMMIT", 0, NULL, NULL, err);
    cpg_exec(db, "ROLLBACK", 0, NULL, NULL, NULL);
    return r;
}
