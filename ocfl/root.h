/* root.h: OCFL storage roots: create, open, map ids, enumerate objects. */
#ifndef OCFL_ROOT_H
#define OCFL_ROOT_H

#include "err.h"
#include "inventory.h"
#include "layout.h"

struct ocfl_root {
    int fd;                     /* O_DIRECTORY fd of the root (owned) */
    char *path;                 /* as given to ocfl_root_open */
    enum ocfl_spec spec;        /* from 0=ocfl_1.x */
    struct ocfl_layout *layout; /* NULL when ocfl_layout.json is absent or unknown */
    char *layout_name;          /* from ocfl_layout.json, even if unsupported; or NULL */
    char *digest_algorithm; /* for new objects: from extensions/ocflfs/config.json, default "sha512"
                             */
    /* Set by the caller for a root whose objects may not be where its layout puts them:
     * ocfl_root_find_object then walks the root when the layout's path has no such object
     * (0 after ocfl_root_open). */
    int find_misplaced;
};

/*
 * Create a storage root at @path (created if missing; must be empty
 * otherwise): 0=ocfl_1.1, ocfl_layout.json, extensions/@layout_name/config.json
 * (when the layout has parameters) and extensions/ocflfs/config.json with the
 * default digest.  @layout_name NULL = 0004-hashed-n-tuple-storage-layout;
 * @config_json NULL = that layout's defaults; @digest NULL = "sha512".
 * Every file is written durably.  -EEXIST when @path is a non-empty
 * directory, -ENOTSUP for an unknown layout, -EINVAL for a bad digest.
 */
int ocfl_root_create(const char *path, const char *layout_name, const char *config_json,
                     const char *digest, struct ocfl_err *err);

/*
 * Open a storage root.  -ENOTDIR / -ENOENT as the OS says; -EMEDIUMTYPE
 * with "'PATH': not an OCFL storage root" when there is no 0=ocfl_1.x.
 */
int ocfl_root_open(const char *path, struct ocfl_root **ret, struct ocfl_err *err);
void ocfl_root_close(struct ocfl_root *root);

/*
 * Where the object @id lives, relative to the root (malloc'd).  With a layout, its path for
 * @id decides: the object there, or -ENOENT when nothing is there (-EEXIST when something
 * else is: not an object, or another id) — one lookup, whatever the size of the root.  With
 * root->find_misplaced set, or without a layout, the hierarchy is walked for an object whose
 * inventory has this id instead.  An object at the layout's path whose inventory cannot be
 * read for its id (damaged) is returned as @id's: opening it then reports the damage.
 * -ENOENT when no such object exists (@ret untouched).
 */
int ocfl_root_find_object(struct ocfl_root *root, const char *id, char **ret, struct ocfl_err *err);

/*
 * Where a new object @id should be created (layout mapping).  -ENOTSUP when
 * the root has no usable layout.
 */
int ocfl_root_object_path(const struct ocfl_root *root, const char *id, char **ret,
                          struct ocfl_err *err);

/*
 * Walk the storage hierarchy and call @fn for every object root found (a
 * directory holding a 0=ocfl_object_* file), with its path relative to the
 * root.  Does not read inventories.  Skips extensions/.  Never follows
 * symlinks.  A non-zero return from @fn stops the walk and is returned.
 */
int ocfl_root_walk(struct ocfl_root *root, int (*fn)(void *ctx, const char *object_path), void *ctx,
                   struct ocfl_err *err);

#endif
