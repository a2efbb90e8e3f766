/* mount_hash.h: background hashing of files written sequentially through the mount. */
#ifndef OCFLFS_MOUNT_HASH_H
#define OCFLFS_MOUNT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"

struct mount;
struct mount_obj;

/*
 * One write handle's background hash: the bytes [0, written) of its scratch
 * file, written in order from offset 0, are hashed by a small pool of
 * threads with pread (from the page cache) while the writer continues.  The
 * digest is recorded on the staged row once the handle is released and the
 * hasher caught up, and only while the job is valid: any non-sequential
 * write, truncate, copy-up or write through another handle invalidates it
 * (for good), so a stale digest is never recorded.  A file whose digest is
 * not recorded is hashed by the commit.
 *
 * Lock order: gate, fh->mu, m->lock, the pool's mutex (innermost; these
 * functions take it themselves and never take the others while holding it).
 */
struct mw_hash;

/*
 * A job for the scratch file @scratch (state-dir relative name) of @path in
 * @mo, written through @fd, hashing with @alg.  The caller gets one
 * reference (drop it with mw_hash_put or hand it over with mw_hash_release).
 * NULL when @alg is not a content algorithm, on ENOMEM, or when no hasher
 * thread could be started (the commit then hashes).
 */
struct mw_hash *mw_hash_new(struct mount *m, struct mount_obj *mo, int fd, const char *scratch,
                            const char *path, int alg);

/* Drop a reference (NULL is fine). */
void mw_hash_put(struct mw_hash *j);

/* Files smaller than this are hashed by the commit (faster than a hasher's wake-up and a
 * transaction per close): their bytes are not queued while written, and at release their job
 * is dropped. */
#define MW_HASH_MIN_BYTES (256 << 10)

/* Before the job first grows to MW_HASH_MIN_BYTES: it reads the file through a read-only
 * open of @fd (a descriptor of the job's scratch file), made here rather than for every small
 * file.  When that cannot be had, the job goes invalid. */
void mw_hash_source(struct mw_hash *j, int fd);
/* The writer accounted bytes up to @written (in order): queue them for hashing once there
 * are MW_HASH_MIN_BYTES of them (after mw_hash_source, else the job goes invalid). */
void mw_hash_extend(struct mw_hash *j, uint64_t written);

/* The bytes no longer are what the job hashes: never record its digest. */
void mw_hash_invalidate(struct mw_hash *j);

/* Invalidate every job on scratch file @scratch except @keep (NULL: all).  Call on any
 * change to a scratch file that does not go through the job's own handle. */
void mw_hash_invalidate_scratch(const char *scratch, const struct mw_hash *keep);

/*
 * When the job is valid, caught up, idle and has hashed exactly @size bytes:
 * write the digest into @hex (OCFL_DIGEST_HEX_MAX bytes), consume the job
 * (it becomes invalid) and return 1.  Else 0 (the hasher still runs, or the
 * digest is unknown).
 */
int mw_hash_digest_now(struct mw_hash *j, uint64_t size, char *hex);

/*
 * The handle is released: the hasher records the digest when it caught up
 * (if the job is still valid, the file's size is what was hashed and @path,
 * the handle's current logical path, still is backed by the job's scratch
 * file).  Consumes the caller's reference.  m->lock may be held.
 */
void mw_hash_release(struct mw_hash *j, const char *path);

/*
 * A commit of the object whose write state is @w is about to freeze it (its
 * gate is closed: no write lands meanwhile).  Finish the object's jobs in the
 * calling thread, at its priority rather than the pool's idle one: hash what
 * is pending and record the digests of released files, so the commit need
 * not read them again.  Waits for a pool thread inside a chunk of such a
 * job.  Jobs of handles still open are hashed up to what was written (their
 * digest is recorded at release).  m->lock must NOT be held.
 */
struct mount_wobj;
void mw_hash_finish(const struct mount_wobj *w);

/* Whether a job on @scratch is still hashing or waiting to record (for tests and status). */
int mw_hash_pending(const char *scratch);

/* Stop the hasher threads (queued digests are not recorded; the commit hashes). */
void mw_hash_shutdown(void);

/* How many hashing threads the pool starts (before the first file is hashed): 0 = one
 * fewer than the cores, at most 4; else @n, at most 64. */
void mw_hash_set_threads(unsigned n);

#endif
