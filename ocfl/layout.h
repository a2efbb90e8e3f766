/* layout.h: storage layout extensions: object id -> path below the storage root. */
#ifndef OCFL_LAYOUT_H
#define OCFL_LAYOUT_H

#include <stddef.h>

#include "err.h"

/*
 * Supported: 0002-flat-direct-storage-layout,
 * 0003-hash-and-id-n-tuple-storage-layout, 0004-hashed-n-tuple-storage-layout,
 * 0006-flat-omit-prefix-storage-layout, 0007-n-tuple-omit-prefix-storage-layout,
 * each with every configuration parameter its extension defines.
 */
struct ocfl_layout;

/*
 * Make a layout from its extension name and its config.json text (NULL or
 * "" for the defaults).  -ENOTSUP for an unknown name, -EINVAL for a bad
 * configuration (message names the parameter).
 */
int ocfl_layout_new(const char *name, const char *config_json, struct ocfl_layout **ret,
                    struct ocfl_err *err);
void ocfl_layout_free(struct ocfl_layout *l);

const char *ocfl_layout_name(const struct ocfl_layout *l);

/* The config.json text for this layout (deterministic), malloc'd. */
int ocfl_layout_config_json(const struct ocfl_layout *l, char **ret, struct ocfl_err *err);

/*
 * Map @id to the object's path relative to the storage root (malloc'd in
 * *ret).  -EINVAL when the id cannot be mapped by this layout: an empty id
 * or one that is not UTF-8;
 * for 0006 an id without the configured delimiter (0007 then uses the whole
 * id, as its document says) or ending with it; for 0007 a non-ASCII id; or
 * a result that is not a safe relative path (an empty, "." or ".." element,
 * an element over NAME_MAX bytes, an object directory name holding '/' --
 * the "invalid on unix" examples of 0002 and 0006 -- or a first element
 * that is one of the root's own names: extensions, 0=*, ocfl_layout.json).
 * 0003/0004 accept as digestAlgorithm md5, sha1, sha256, sha512,
 * blake2b-512 and sha512/256.
 */
int ocfl_layout_map(const struct ocfl_layout *l, const char *id, char **ret, struct ocfl_err *err);

/* The names this library knows, NULL-terminated. */
const char *const *ocfl_layout_names(void);

#endif
