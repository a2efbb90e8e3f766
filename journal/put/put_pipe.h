/* put_pipe.h: hash a big file and copy it to the stage in one pass, on two threads. */
#ifndef OCFLFS_PUT_PIPE_H
#define OCFLFS_PUT_PIPE_H

#include <stdint.h>

#include "digest.h"

#define PUT_PIPE_MIN (64u << 20) /* files from this size on go through the pipeline */

struct put_pipe_opts {
    /* 0: write the copy with O_DIRECT where the file system allows it; 1 never (tests of the
     * fallback); 2 the first O_DIRECT write fails with EINVAL (tests) */
    int no_direct;
    /* called on the hashing thread after each chunk with its size; may be NULL */
    void (*progress)(void *ctx, uint64_t n);
    void *ctx;
};

/*
 * Read @in to its end; hash every byte with @h (reset by the caller, not finalized) and write
 * the same bytes to @out from offset 0: a helper thread reads each 4 MiB chunk and writes it
 * while this thread hashes it.  @out is left buffered or O_DIRECT as it ends, not synced.
 * *ret_total gets the number of bytes.  Returns 0 or a negative errno; *ret_write tells
 * whether writing (rather than reading) failed.
 */
int put_pipe_file(struct ocfl_hasher *h, int in, int out, const struct put_pipe_opts *o,
                  uint64_t *ret_total, int *ret_write);

#endif
