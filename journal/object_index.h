/* object_index.h: the mount's index of a storage root's objects (the `objects` table). */
#ifndef OCFLFS_OBJECT_INDEX_H
#define OCFLFS_OBJECT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "err.h"

/*
 * The journal's schema v1 holds objects(id TEXT PRIMARY KEY, path TEXT NOT
 * NULL, head TEXT, inventory_digest TEXT, mtime_ns INTEGER): for every
 * object of the root its id, its path relative to the root, and what was
 * last seen of its root inventory (head version name, digest, the sidecar's
 * mtime in ns).  The mount reads it at start so that a root of many objects
 * lists without reading every inventory, and rewrites it after walking.
 *
 * The functions take a connection owned by the caller (journal_sqlite());
 * the caller serializes their use with the journal's other users.
 */
struct object_index_row {
    const char *id;
    const char *path;
    const char *head;             /* NULL when unknown */
    const char *inventory_digest; /* NULL when unknown */
    int64_t mtime_ns;             /* 0 when unknown */
};

/*
 * Call @fn for every row, ordered by id.  The strings live only during the
 * call.  A non-zero return from @fn stops and is returned.  -EIO (message
 * from SQLite) on a database error; a missing table is -ENOENT.
 */
int object_index_load(sqlite3 *db, int (*fn)(void *ctx, const struct object_index_row *row),
                      void *ctx, struct ocfl_err *err);

/*
 * Replace the whole index by @rows (n may be 0) in one BEGIN IMMEDIATE
 * transaction; on failure the old index is kept.  -EIO on a database error.
 */
int object_index_replace(sqlite3 *db, const struct object_index_row *rows, size_t n,
                         struct ocfl_err *err);

/* Insert or update one row (same errors). */
int object_index_put(sqlite3 *db, const struct object_index_row *row, struct ocfl_err *err);

/* Number of rows, or a negative errno. */
int64_t object_index_count(sqlite3 *db, struct ocfl_err *err);

#endif
