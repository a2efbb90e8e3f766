/* put_cache.h: what the last `put` of an object learnt of DIR's files (digests by path and stat).
 */
#ifndef OCFLFS_PUT_CACHE_H
#define OCFLFS_PUT_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "digest.h"
#include "err.h"

/*
 * `ocflfs put ROOT ID DIR` keeps, per object, one record for each regular
 * file it hashed in DIR: the logical path, the file's device, inode, size,
 * mtime and ctime, and its digest.  The next put of the same object trusts
 * a record whose file still shows exactly those five values and does not
 * read the file again: a change of the bytes moves the ctime, which no
 * program can set back (git's index and borg's files cache rely on the same).
 *
 * Racy files: timestamps have a granularity, so a file changed twice within
 * one tick shows one ctime.  A record is therefore only kept for a file
 * whose mtime and ctime are at least PUT_CACHE_SETTLE_NS older than the
 * moment the put began to look at DIR; any later change of such a file
 * gives it a ctime the record does not have.
 *
 * The cache lives in STATE/cache/put-HEX, HEX = SHA-256 of the object id.
 * It is written without fsync: it ends with a SHA-256 of its bytes, and a
 * file that is torn, damaged, of another format or of another digest
 * algorithm is simply not used (the files are then read as without cache).
 */

#define PUT_CACHE_SETTLE_NS (2 * 1000000000LL)

struct put_entry;

/* One file as a previous put saw it. */
struct put_cache_rec {
    const char *path; /* logical path, into put_cache.buf */
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
    const unsigned char *digest; /* binary, ocfl_digest_hex_len(alg) / 2 bytes */
};

struct put_cache {
    enum ocfl_digest_alg alg;
    struct put_cache_rec *rec; /* sorted by path (strcmp), unique */
    size_t n;
    char *buf; /* the file's bytes */
};

/*
 * Load the cache of object @id from the state directory @state_fd into @c
 * (which the caller zeroed).  A missing, unreadable or damaged cache leaves
 * @c empty and returns 0; only -ENOMEM is an error.
 */
int put_cache_load(int state_fd, const char *id, struct put_cache *c, struct ocfl_err *err);

/*
 * Whether @rec still describes the file of entry @e as the walk stat'ed it
 * (device, inode, size, mtime and ctime all equal); if so, write its digest
 * in hex to e->digest and return 1, else 0.
 */
int put_cache_match(const struct put_cache *c, const struct put_cache_rec *rec,
                    struct put_entry *e);

/*
 * Replace object @id's cache with the entries @e[0..n) (sorted by logical
 * path) whose stat is known and whose mtime and ctime are older than
 * @settled_before_ns (nanoseconds since the epoch).  Written to a temporary
 * file and renamed into place.  0 or a negative errno (with @err).
 */
int put_cache_save(int state_fd, const char *id, enum ocfl_digest_alg alg,
                   const struct put_entry *e, size_t n, int64_t settled_before_ns,
                   struct ocfl_err *err);

/*
 * @t in nanoseconds since the epoch, saturated at INT64_MIN / INT64_MAX for times before
 * 1677 or after 2262 (a file may carry any mtime).  A saturated ctime is never older than
 * a put's start, so such a file is never cached; a saturated mtime leaves the ctime to tell.
 */
int64_t put_cache_time_ns(const struct timespec *t);

/* Free what put_cache_load() allocated; @c may be zeroed or half loaded. */
void put_cache_release(struct put_cache *c);

#endif
