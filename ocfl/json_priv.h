/* json_priv.h: jansson parse and dump that tell an allocation failure apart (not a public
 * contract). */
#ifndef OCFL_JSON_PRIV_H
#define OCFL_JSON_PRIV_H

#include <jansson.h>
#include <stddef.h>

/*
 * jansson 2.14 does not fail cleanly when an allocation fails: its lexer
 * drops the character it could not save and parses on (a digest or a path
 * silently loses a character), json_dumps() drops an object key, and an
 * allocation failure while parsing is reported as a syntax error.  These
 * wrappers route jansson's allocations through malloc()/free() with a
 * per-thread count of failures (json_set_alloc_funcs, installed once), and
 * turn a run in which any allocation failed into a clean failure.
 */

/*
 * json_loadb() with @flags; NULL on failure.  When an allocation failed,
 * *ret_oom is set to 1 (else 0) and @jerr says "out of memory".  @jerr and
 * @ret_oom may be NULL.
 */
json_t *ocfl_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *jerr,
                        int *ret_oom);

/* json_dumps(); NULL when anything failed (then only for lack of memory). */
char *ocfl_json_dumps(const json_t *json, size_t flags);

#endif
