/* object_json.h: an object's versions, a version's files and the changes between two
 * versions as JSON: one spelling for `log`, `show`, `diff --json` and the web view. */
#ifndef OCFL_OBJECT_JSON_H
#define OCFL_OBJECT_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "object.h"

/* Whether version @i (0-based) of @inv added, modified or removed logical path @path. */
int ocfl_version_changed(const struct ocfl_inventory *inv, size_t i, const char *path);

/*
 * `log --json`: {id, path (the object's), head, [logical_path], versions: [{version,
 * created, message, user: {name, [address]} or null, files}]}, newest first; with @only,
 * the versions that changed that path.  A new reference, NULL when out of memory.
 */
json_t *ocfl_log_json(const struct ocfl_object *obj, const char *only);

/*
 * `show --json` of version @num (1-based): {id, version, digest_algorithm, files: [{path,
 * size (-1 when the content cannot be stat'ed), digest}]}.  With @paged, only files
 * @offset.. (at most @limit), and total_files, total_size, offset, limit besides.  A new
 * reference, NULL when out of memory.
 */
json_t *ocfl_show_json(const struct ocfl_object *obj, unsigned num, int paged, size_t offset,
                       size_t limit);

/*
 * `diff --json` from version @a (NULL: nothing, so everything is added) to @b: {id, from (0
 * for nothing), to, added, modified, removed: [path], renamed: [{from, to}]}; renamed is a
 * removed path whose content an added one has.  O(n log n) in the number of paths.  A new
 * reference, NULL when out of memory.
 */
json_t *ocfl_diff_json(const struct ocfl_inventory *inv, const struct ocfl_version *a,
                       const struct ocfl_version *b);

#endif
