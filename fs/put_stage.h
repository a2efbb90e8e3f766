/* put_stage.h: read DIR for `put`: walk, check, hash and stage its files in scratch. */
#ifndef OCFLFS_PUT_STAGE_H
#define OCFLFS_PUT_STAGE_H

#include <stddef.h>
#include <stdint.h>

#include "cli_util.h"
#include "digest.h"
#include "err.h"

struct ocfl_inventory;

/* One regular file of DIR. */
struct put_entry {
    char *logical_path;               /* relative to DIR, '/'-separated; owned */
    char digest[OCFL_DIGEST_HEX_MAX]; /* hex, in the object's algorithm */
    char *source;                     /* staged copy, relative to the state dir; owned; NULL
                                         when not staged (content already in the object) */
    uint64_t size;                    /* bytes read (fstat's size until the file is read) */
};

/*
 * A put's view of DIR.  The caller fills the first block (zero the rest),
 * calls put_stage_read() once, then reads e[0..n) and the counters, and
 * finally calls put_stage_release().
 */
struct put_stage {
    /* set by the caller */
    const char *dir;                   /* DIR as given on the command line (also in messages) */
    const struct ocfl_inventory *base; /* the object's head inventory; NULL for a new object */
    enum ocfl_digest_alg alg;          /* the object's digest algorithm */
    int state_fd;                      /* the journal's state directory; not owned */
    char *stage;                       /* "scratch/put-...", relative to state_fd, already
                                          created; malloc'd, freed by put_stage_release() */
    struct cli_progress prog;          /* initialized by the caller; "put: reading" lines */
    /* results */
    struct put_entry *e; /* sorted by logical_path (strcmp) */
    size_t n, alloc;
    size_t staged;       /* entries with a source */
    size_t staged_small; /* of which small files, not flushed yet (the caller syncfs()es) */
    /* private to put_stage.c */
    int dirfd;      /* DIR while reading */
    uint64_t bytes; /* read so far (atomic) */
    size_t next;    /* next entry to stage (atomic) */
    int failed;     /* a worker failed: stop (atomic) */
    int no_direct;  /* $OCFLFS_TEST_NO_DIRECT, for tests of the fallbacks: 1 ("1") never
                       O_DIRECT; 2 ("refuse") the first O_DIRECT write fails with EINVAL */
};

/*
 * Open @p->dir, walk it and stage it: every regular file becomes an entry
 * of @p->e (sorted); each is read once, hashed with @p->alg and, when its
 * digest is not in @p->base's manifest, copied to a file under
 * @p->stage/wK/ in the state directory (on up to 8 threads; files of 64 MiB
 * and more on a reader/hasher pipeline of two, written with O_DIRECT where
 * the file system allows it).  Big staged files are
 * fdatasync()ed and, when no small file was staged, the worker directories
 * fsync()ed; small staged files are NOT flushed: when @p->staged_small is
 * nonzero the caller must syncfs() the state directory before the plan
 * refers to them.  The stage directory itself is not fsync()ed either.
 *
 * File names that are not UTF-8, symbolic links and anything but regular
 * files and directories are refused (-EINVAL).  Returns 0 or a negative
 * errno with @err set (-EIO, -EACCES, ... from the file system; -ENOMEM,
 * whose message may be empty when memory ran out during the walk).  On failure entries and staged
 * files may be left behind: the caller removes @p->stage and calls put_stage_release().
 */
int put_stage_read(struct put_stage *p, struct ocfl_err *err);

/* Free the entries and @p->stage (not the staged files); @p may be half filled. */
void put_stage_release(struct put_stage *p);

#endif
