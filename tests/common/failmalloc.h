/* failmalloc.h: make the Nth allocation fail, and count what is still allocated. */
#ifndef OCFLFS_FAILMALLOC_H
#define OCFLFS_FAILMALLOC_H

#include <stddef.h>

/*
 * A test executable linked with failmalloc.c and the link arguments
 *     -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=reallocarray,
 *     --wrap=free,--wrap=strdup,--wrap=strndup,--wrap=asprintf,
 *     --wrap=vasprintf,--wrap=fdopendir
 * sends every allocation of its own objects and of the static libocfl
 * through the counter below.  failmalloc_init() routes jansson
 * (json_set_alloc_funcs) and OpenSSL (CRYPTO_set_mem_functions) through it
 * too; call it first in main(), before anything allocates.  The real
 * allocator underneath stays libc's, so ASan and valgrind still see
 * every block.
 *
 * Live blocks are kept in a table, so a test can ask how many of them are
 * still allocated (OpenSSL's blocks are counted apart: it caches).
 */

/* Route jansson and OpenSSL through the counter.  Returns 0, or -1 when
 * OpenSSL had already allocated (then its allocations are not counted). */
int failmalloc_init(void);

/*
 * Count allocations from now on; allocation number @n (1-based) fails,
 * and with @sticky every one after it too.  @n == 0: nothing fails (count
 * only).
 */
void failmalloc_arm(unsigned long n, int sticky);

/* Stop failing (counting goes on).  Returns the number of allocations since arm. */
unsigned long failmalloc_disarm(void);

/* How many allocations were refused since the last arm. */
unsigned long failmalloc_failed(void);

/* Blocks allocated through the wrappers (not OpenSSL's) and not yet freed. */
size_t failmalloc_live(void);

/* Blocks OpenSSL allocated and has not yet freed. */
size_t failmalloc_live_crypto(void);

/* Number of open file descriptors of the process (-1 when unknown). */
int failmalloc_open_fds(void);

#endif
