/* path.h: the spec's rules for logical paths, content paths and object ids. */
#ifndef OCFL_PATH_H
#define OCFL_PATH_H

#include <stddef.h>

/*
 * Why a path is not acceptable, for the validator's codes:
 *   OCFL_PATH_OK         valid
 *   OCFL_PATH_SLASH      begins or ends with '/'          (E053 logical / E100 content)
 *   OCFL_PATH_ELEMENT    an element is "", "." or ".."     (E052 / E099)
 *   OCFL_PATH_ENCODING   not valid UTF-8, or contains NUL  (E052 / E099)
 *   OCFL_PATH_EMPTY      the empty string                  (E052 / E099)
 */
enum ocfl_path_problem {
    OCFL_PATH_OK = 0,
    OCFL_PATH_SLASH,
    OCFL_PATH_ELEMENT,
    OCFL_PATH_ENCODING,
    OCFL_PATH_EMPTY,
};

/*
 * Longest logical path ocflfs stages (bytes, without the NUL): what one
 * system call can name below an object's root.  OCFL sets no limit, so the
 * inventory checker reports none; the content path of such a logical path
 * ("vN/content/" before it) is longer and is resolved one element at a time.
 */
#define OCFL_PATH_MAX_BYTES 4095

/* Check a logical or content path (the rules are the same).  No length limit here. */
enum ocfl_path_problem ocfl_path_check(const char *path);

/* Whether @s (of @len bytes) is well-formed UTF-8 without NUL bytes. */
int ocfl_utf8_valid(const char *s, size_t len);

/*
 * Bytes of the well-formed UTF-8 character at @s, of which @avail bytes are
 * readable: 1 to 4, or 0 for NUL, a malformed, overlong or surrogate
 * sequence, one beyond U+10FFFF, or one cut off by @avail.
 */
size_t ocfl_utf8_char_len(const char *s, size_t avail);

/* The value of hex digit @c (either case), or -1. */
int ocfl_hex_value(int c);

/*
 * Look for two paths in @paths (any order) where one equals the other or is
 * a directory prefix of it ("a/b" and "a/b/c"; not "a/b" and "a/bc").
 * O(n log n); @paths is not modified.  When several conflicts exist, which
 * pair is returned is unspecified (but deterministic).
 * Returns 1 and the two indices when found (E095 for logical paths, E101
 * for content paths), 0 when the set is unique and non-conflicting, or
 * -ENOMEM.
 */
int ocfl_paths_find_conflict(const char *const *paths, size_t n, size_t *ret_a, size_t *ret_b);

#endif
