/* put_stage.h: read DIR for `put`: walk, check, hash and stage its files in scratch. */
#ifndef OCFLFS_PUT_STAGE_H
#define OCFLFS_PUT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "put_cache.h"

struct ocfl_inventory;

/* One regular file of DIR. */
struct put_entry {
    char *logical_path;               /* relative to DIR, '/'-separated; owned */
    char digest[OCFL_DIGEST_HEX_MAX]; /* hex, in the object's algorithm */
    char *source;                     /* staged copy, relative to the state dir; owned; NULL
                                         when not staged (content already in the object) */
    uint64_t size;                    /* bytes read (fstat's size until the file is read) */
    /* The file as stat'ed before it was read, or as found unchanged since the last put
     * (ino 0: not stat'ed).  What put_stage_save_cache() records. */
    uint64_t dev, ino;
    int64_t mtime_ns, ctime_ns;
    int cached; /* the digest came from the put cache: the file was not read */
};

/*
 * A put's view of DIR.  The caller fills the first block (zero the rest),
 * calls put_stage_scan() (which needs only the first four fields, so that
 * it can run on a thread while the object is opened), then sets base and
 * alg and calls put_stage_read(), then reads e[0..n) and the counters, may
 * call put_stage_save_cache() once the version is written, and finally
 * calls put_stage_release().
 */
struct put_stage {
    /* set by the caller */
    const char *dir;                   /* DIR as given on the command line (also in messages) */
    const char *id;                    /* the object's id (names its put cache) */
    int state_fd;                      /* the journal's state directory; not owned */
    int rehash;                        /* read every file: do not use the put cache */
    unsigned threads;                  /* hashing workers; 0 = one per core, at most 8 */
    const struct ocfl_inventory *base; /* the object's head inventory; NULL for a new object */
    enum ocfl_digest_alg alg;          /* the object's digest algorithm */
    char *stage;                       /* "scratch/put-...", relative to state_fd, already
                                          created; malloc'd, freed by put_stage_release() */
    /* optional: told the bytes read so far, now and then, from one thread at a time */
    void (*progress)(void *ctx, uint64_t bytes_read);
    void *progress_ctx;
    /* results */
    struct put_entry *e; /* sorted by logical_path (strcmp) */
    size_t n, alloc;
    size_t staged;       /* entries with a source */
    size_t staged_small; /* of which small files (flushed together at the end) */
    size_t cached;       /* entries whose digest came from the put cache (files not read) */
    /* private to put_stage.c */
    int dirfd; /* DIR, open from scan to release when dir_open */
    int dir_open;
    struct put_cache cache; /* loaded by the scan, dropped after the merge */
    int64_t started_ns;     /* CLOCK_REALTIME when the scan began */
    size_t *todo, n_todo;   /* indexes of the entries to read */
    uint64_t bytes;         /* read so far (atomic) */
    size_t next;            /* next entry to stage (atomic) */
    int failed;             /* a worker failed: stop (atomic) */
    int no_direct;          /* $OCFLFS_TEST_NO_DIRECT, for tests of the fallbacks: 1 ("1") never
                               O_DIRECT; 2 ("refuse") the first O_DIRECT write fails with EINVAL */
};

/*
 * Open @p->dir and walk it: every regular file becomes an entry of @p->e
 * (sorted).  Unless @p->rehash, load the object's put cache first and stat
 * each file for it.  Touches neither @p->base nor @p->alg.
 *
 * File names that are not UTF-8, symbolic links and anything but regular
 * files and directories are refused (-EINVAL).  Returns 0 or a negative
 * errno with @err set (-EIO, -EACCES, ... from the file system; -ENOMEM,
 * whose message may be empty when memory ran out during the walk).
 */
int put_stage_scan(struct put_stage *p, struct ocfl_err *err);

/*
 * Stage what put_stage_scan() found.  An entry whose file the put cache
 * knows unchanged takes its digest from there and is not read when that
 * content is in @p->base already.  Every other file is read once, hashed with @p->alg and, when its
 * digest is not in @p->base's manifest, copied to a file under
 * @p->stage/wK/ in the state directory (on @p->threads threads, by default one per core up
 * to 8, never more than one per 64 files to read; files of 64 MiB
 * and more on a reader/hasher pipeline of two, written with O_DIRECT where
 * the file system allows it).  Big staged files are
 * fdatasync()ed as they are written, small ones all together at the end (on
 * threads); then the worker directories, @p->stage and scratch/ are fsync()ed:
 * on success every staged file is durable, without syncfs (which FUSE and
 * some network storage do not honour).
 *
 * Returns 0 or a negative errno with @err set (as put_stage_scan(); also
 * -EINVAL when a file stopped being a regular file).  On failure entries and staged
 * files may be left behind: the caller removes @p->stage and calls put_stage_release().
 */
int put_stage_read(struct put_stage *p, struct ocfl_err *err);

/*
 * Record what this put learnt of DIR's files as the object's put cache
 * (see put_cache.h; files changed less than PUT_CACHE_SETTLE_NS before the
 * scan began are left out).  0 or a negative errno with @err: the version
 * is written either way, a failure only costs the next put a full read.
 */
int put_stage_save_cache(struct put_stage *p, struct ocfl_err *err);

/* Free the entries, the cache and @p->stage (not the staged files); close DIR; @p may be half
 * filled. */
void put_stage_release(struct put_stage *p);

#endif
